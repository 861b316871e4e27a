"""Navigation flags for the base layout."""

from functools import cache

from django.db.models import Exists, OuterRef

from courses.models import Measure
from municipalities.access import (
    administered_authorities,
    audited_authorities,
    overseen_municipalities,
)
from municipalities.models import HealthPersonnel

from . import access
from .models import Order


def _has_own_measures(user) -> bool:
    """A doctor with orders about them, or a supervisor of a measure: "Mine kurs og veiledning"."""
    about_them = Order.objects.filter(health_personnel=OuterRef("pk"))
    supervising = Measure.objects.filter(supervisor=OuterRef("pk"))
    return (
        HealthPersonnel.objects.filter(user=user)
        .filter(Exists(about_them) | Exists(supervising))
        .exists()
    )


def _menu_authorities(user) -> list:
    """Authorities the user administers (a link to each) or audits (the access log), in the
    one query the menu already spent on the administered ones."""
    administered, audited = administered_authorities(user), audited_authorities(user)
    return list(
        (administered | audited).annotate(
            administered=Exists(administered.filter(pk=OuterRef("pk"))),
            audited=Exists(audited.filter(pk=OuterRef("pk"))),
        )
    )


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    menu_authorities = cache(lambda: _menu_authorities(user))
    return {
        "nav_may_issue": lambda: access.may_issue(user),
        "nav_municipalities": lambda: overseen_municipalities(user).exists(),
        "nav_authorities": lambda: [a for a in menu_authorities() if a.administered],
        "nav_my_measures": lambda: _has_own_measures(user),
        "nav_access_log": lambda: any(a.audited for a in menu_authorities()),
    }
