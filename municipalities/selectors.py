"""Reads about organisations and people."""

from django.db.models import Q

from .models import (
    ACT_FOR_AUTHORITY,
    AuthorityGroupObjectPermission,
    AuthorityUserObjectPermission,
    User,
)


def caseworkers_of(authorities):
    """Users who act as caseworker for any of ``authorities`` (a queryset), directly or
    through a group."""
    codename = ACT_FOR_AUTHORITY.split(".")[1]
    direct = AuthorityUserObjectPermission.objects.filter(
        content_object__in=authorities, permission__codename=codename
    )
    via_group = AuthorityGroupObjectPermission.objects.filter(
        content_object__in=authorities, permission__codename=codename
    )
    return (
        User.objects.filter(
            Q(pk__in=direct.values("user_id")) | Q(groups__in=via_group.values("group_id")),
            is_active=True,
        )
        .distinct()
        .order_by("first_name", "last_name")
    )
