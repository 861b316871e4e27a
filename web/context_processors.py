"""The navigation of the base layout (every page): its flags, from the request's capabilities.
A page layer concern, so it lives in web/, not in the order's app."""

from functools import cache

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, Subquery, Value
from django.db.models.functions import Coalesce

from orders.models import Notification, Order


def _own_measures(capabilities):
    """A doctor with orders about them, or a supervisor with an active grant: "Mine kurs og
    veiledning"."""
    if capabilities.supervises_now:
        return Value(True)
    if not capabilities.personnel_ids:
        return Value(False)
    return Exists(Order.objects.filter(health_personnel_id__in=capabilities.personnel_ids))


def _oversees(capabilities):
    if not (capabilities.leads or capabilities.member_of):
        return Value(False)
    return Exists(capabilities.overseen_municipalities())


def _unread_notifications(user) -> Coalesce:
    unread = (
        Notification.objects.filter(recipient=user, read_at__isnull=True)
        .order_by()
        .values("recipient")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(unread), 0)


def _menu_flags(user, capabilities) -> dict:
    """The menu's yes/no flags and the unread count, in one query (besides the capabilities
    the request has anyway): every page shows them."""
    flags = (
        get_user_model()
        .objects.filter(pk=user.pk)
        .annotate(
            municipalities=_oversees(capabilities),
            my_measures=_own_measures(capabilities),
            unread=_unread_notifications(user),
        )
        .values("municipalities", "my_measures", "unread")
        .first()
    )
    return flags or {"municipalities": False, "my_measures": False, "unread": 0}


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    capabilities = request.capabilities
    # Lazy: a page that does not show the menu (or a response that is not rendered) runs no
    # query; one that does runs it once, however often the template reads them.
    flags = cache(lambda: _menu_flags(user, capabilities))
    return {
        "nav_may_issue": lambda: capabilities.may_issue(),
        "nav_municipalities": lambda: flags()["municipalities"],
        "nav_authorities": lambda: sorted(capabilities.administers, key=lambda a: a.name),
        "nav_my_measures": lambda: flags()["my_measures"],
        "nav_access_log": lambda: bool(capabilities.audits),
        "nav_unread_notifications": lambda: flags()["unread"],
    }
