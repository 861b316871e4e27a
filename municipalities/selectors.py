"""Reads about organisations and people."""

from django.db.models import Q

from .access import codename
from .models import (
    ACT_FOR_AUTHORITY,
    AuthorityGroupObjectPermission,
    AuthorityUserObjectPermission,
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
    from .models import Appointment, Authority

    field = "authority" if isinstance(organisation, Authority) else "municipality"
    return Appointment.objects.filter(**{field: organisation}).select_related(
        "user", "appointed_by", "ended_by"
    )


def appointment_history_of(organisation):
    """Every saved version of the organisation's appointments: who granted or removed what."""
    from .models import Appointment, Authority

    field = "authority_id" if isinstance(organisation, Authority) else "municipality_id"
    return (
        Appointment.history.filter(**{field: organisation.pk})
        .select_related("history_user", "user")
        .order_by("-history_date", "-history_id")
    )


def register_of(municipality):
    """GP offices with their GPs, and GPs of the municipality without an office."""
    from django.db.models import Prefetch

    from .models import GPOffice, HealthPersonnel

    offices = GPOffice.objects.filter(municipality=municipality).prefetch_related(
        Prefetch("gps", queryset=HealthPersonnel.objects.order_by("name"))
    )
    without_office = HealthPersonnel.objects.filter(
        municipality=municipality, gp_office__isnull=True
    ).order_by("name")
    return list(offices), list(without_office)
