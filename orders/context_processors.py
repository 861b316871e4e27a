"""Navigation flags for the base layout."""

from . import access


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav_may_issue": lambda: access.may_issue(user)}
