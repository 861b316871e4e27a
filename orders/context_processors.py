"""Navigation flags for the base layout."""

from django.db.models import Exists, OuterRef

from courses.models import Measure
from municipalities.access import administered_authorities, overseen_municipalities
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


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_may_issue": lambda: access.may_issue(user),
        "nav_municipalities": lambda: overseen_municipalities(user).exists(),
        "nav_authorities": lambda: list(administered_authorities(user)),
        "nav_my_measures": lambda: _has_own_measures(user),
    }
