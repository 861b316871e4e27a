"""Reads about organisations and people."""

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from .access import codename
from .invitations import status_of
from .models import (
    ACT_FOR_AUTHORITY,
    Appointment,
    Authority,
    AuthorityGroupObjectPermission,
    AuthorityUserObjectPermission,
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


def register_size():
    """The number of health personnel in a municipality's register, as an annotation on
    municipalities (its overview counts the register along with the municipality)."""
    counted = (
        HealthPersonnel.objects.filter(municipality=OuterRef("pk"))
        .order_by()
        .values("municipality")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted), 0)


def register_of(municipality) -> QuerySet[HealthPersonnel]:
    """The municipality's health personnel with their GP office, grouped by office (by name,
    those without one last) and by name: Oslo alone has some 2,450, so pages page it."""
    return (
        HealthPersonnel.objects.filter(municipality=municipality)
        .select_related("gp_office")
        .order_by(F("gp_office__name").asc(nulls_last=True), "gp_office_id", "name", "pk")
    )


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
