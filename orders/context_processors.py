"""Navigation flags for the base layout."""

from municipalities.access import administered_authorities, overseen_municipalities

from . import access


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_may_issue": lambda: access.may_issue(user),
        "nav_municipalities": lambda: overseen_municipalities(user).exists(),
        "nav_authorities": lambda: list(administered_authorities(user)),
    }
