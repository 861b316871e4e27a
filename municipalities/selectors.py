"""Reads about organisations and people."""

from django.db.models import Prefetch, Q

from .access import codename
from .invitations import status_of
from .models import (
    ACT_FOR_AUTHORITY,
    Appointment,
    Authority,
    AuthorityGroupObjectPermission,
    AuthorityUserObjectPermission,
    GPOffice,
    HealthPersonnel,
    Invitation,
    LoginIdentity,
    User,
)


def caseworkers_of(authorities):
    """Users who act as caseworker for any of ``authorities`` (a queryset), directly or
    through a group."""
    name = codename(ACT_FOR_AUTHORITY)
    direct = AuthorityUserObjectPermission.objects.filter(
        content_object__in=authorities, permission__codename=name
    )
    via_group = AuthorityGroupObjectPermission.objects.filter(
        content_object__in=authorities, permission__codename=name
    )
    return (
        User.objects.filter(
            Q(pk__in=direct.values("user_id")) | Q(groups__in=via_group.values("group_id")),
            is_active=True,
        )
        .distinct()
        .order_by("first_name", "last_name")
    )


def appointments_of(organisation):
    """Active and ended appointments of an authority or municipality, newest first."""
    field = "authority" if isinstance(organisation, Authority) else "municipality"
    return Appointment.objects.filter(**{field: organisation}).select_related(
        "user", "appointed_by", "ended_by"
    )


def appointment_history_of(organisation):
    """Every saved version of the organisation's appointments: who granted or removed what."""
    field = "authority_id" if isinstance(organisation, Authority) else "municipality_id"
    return (
        Appointment.history.filter(**{field: organisation.pk})
        .select_related("history_user", "user")
        .order_by("-history_date", "-history_id")
    )


def register_of(municipality):
    """GP offices with their GPs, and GPs of the municipality without an office."""
    offices = GPOffice.objects.filter(municipality=municipality).prefetch_related(
        Prefetch("gps", queryset=HealthPersonnel.objects.order_by("name"))
    )
    without_office = HealthPersonnel.objects.filter(
        municipality=municipality, gp_office__isnull=True
    ).order_by("name")
    return list(offices), list(without_office)


def invitation_statuses(users) -> dict:
    """user pk -> invitations.Status for each of ``users``, in two queries however many there
    are: the appointment and measure pages show each person's way in."""
    users = list(users)
    pks = [u.pk for u in users]
    newest = {}
    for invitation in Invitation.objects.filter(user__in=pks).order_by(
        "user_id", "-created_at", "-pk"
    ):
        newest.setdefault(invitation.user_id, invitation)
    bound = set(LoginIdentity.objects.filter(user__in=pks).values_list("user_id", flat=True))
    return {u.pk: status_of(u, newest.get(u.pk), u.pk in bound) for u in users}
