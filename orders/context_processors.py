"""Navigation flags for the base layout."""

from functools import cache

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Subquery
from django.db.models.functions import Coalesce

from municipalities.access import (
    administered_authorities,
    audited_authorities,
    overseen_municipalities,
)
from municipalities.models import HealthPersonnel

from . import access
from .models import Notification, Order


def _own_measures(user):
    """A doctor with orders about them, or a supervisor with an active grant: "Mine kurs og
    veiledning"."""
    about_them = Order.objects.filter(health_personnel=OuterRef("pk"))
    return Exists(HealthPersonnel.objects.filter(user=user).filter(Exists(about_them))) | Exists(
        access.active_supervision_grants(user)
    )


def _unread_notifications(user) -> Coalesce:
    unread = (
        Notification.objects.filter(recipient=user, read_at__isnull=True)
        .order_by()
        .values("recipient")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(unread), 0)


def _menu_flags(user) -> dict:
    """The menu's yes/no flags and the unread count, in one query: every page shows them."""
    flags = (
        get_user_model()
        .objects.filter(pk=user.pk)
        .annotate(
            may_issue=Exists(access.authorities_for(user)),
            municipalities=Exists(overseen_municipalities(user)),
            my_measures=_own_measures(user),
            unread=_unread_notifications(user),
        )
        .values("may_issue", "municipalities", "my_measures", "unread")
        .first()
    )
    return flags or {"may_issue": False, "municipalities": False, "my_measures": False, "unread": 0}


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
    # Lazy: a page that does not show the menu (or a response that is not rendered) runs
    # neither query; one that does runs each once, however often the template reads them.
    menu_authorities = cache(lambda: _menu_authorities(user))
    flags = cache(lambda: _menu_flags(user))
    return {
        "nav_may_issue": lambda: flags()["may_issue"],
        "nav_municipalities": lambda: flags()["municipalities"],
        "nav_authorities": lambda: [a for a in menu_authorities() if a.administered],
        "nav_my_measures": lambda: flags()["my_measures"],
        "nav_access_log": lambda: any(a.audited for a in menu_authorities()),
        "nav_unread_notifications": lambda: flags()["unread"],
    }
