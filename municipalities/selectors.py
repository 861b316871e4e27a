"""Reads about organisations and people."""

from .models import ACT_FOR_AUTHORITY, AuthorityUserObjectPermission, User


def caseworkers_of(authorities):
    """Users who act as caseworker for any of ``authorities`` (a queryset)."""
    grants = AuthorityUserObjectPermission.objects.filter(
        content_object__in=authorities, permission__codename=ACT_FOR_AUTHORITY.split(".")[1]
    )
    return User.objects.filter(pk__in=grants.values("user_id"), is_active=True).order_by(
        "first_name", "last_name"
    )
