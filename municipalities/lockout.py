"""No way in by guessing: django-axes counts failed logins per account and per address, and a
locked account or address is refused even the right password until the cool-off has passed or
an administrator opens it (:func:`unlock`). The events go to the access log in login_events."""

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.db.models import Sum
from django.shortcuts import render
from django.utils import timezone

import audit

# Set on a request whose login was refused because the account or address was already locked
# (so login_events logs the refused attempt, not a second lockout).
ALREADY_LOCKED = "palegg_already_locked"


class LockoutBackend(AxesStandaloneBackend):
    """Axes' check before the password backends. A call without a request (the test client's
    login(), the shell) is not a login attempt from anyone's address: nothing to count."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        try:
            return super().authenticate(request, username=username, password=password, **kwargs)
        except AxesBackendPermissionDenied:
            setattr(request, ALREADY_LOCKED, True)
            raise


class LockoutHandler(AxesDatabaseHandler):
    """Axes compares one failure count with one limit; its count is the highest over the
    lockout parameters ([["username"], ["ip_address"]]). An address has a limit of its own
    (LOCKOUT_ADDRESS_FAILURES): the count given to axes is the account's, raised to the account
    limit once the address has reached its own."""

    def get_failures(self, request, credentials=None) -> int:
        per_account, per_address = (
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        if per_address >= settings.LOCKOUT_ADDRESS_FAILURES:
            return max(per_account, settings.AXES_FAILURE_LIMIT)
        return per_account

    def reset_user_attempts(self, request, credentials=None) -> int:
        """After a successful login (AXES_RESET_ON_SUCCESS): forget only the person's own
        mistakes, their name from the address they logged in from. Axes would forget every
        failure of the name and of the address, so that logging in to one's own account
        would wipe one's guesses at others."""
        username = get_client_username(request, credentials)
        count, _ = AccessAttempt.objects.filter(
            username=username, ip_address=request.axes_ip_address
        ).delete()
        return count


def lockout_response(request, original_response=None, credentials=None):
    """The Norwegian page for a locked account or address (429: try again later)."""
    minutes = int(get_cool_off(request).total_seconds() // 60)
    return render(request, "registration/locked.html", {"minutes": minutes}, status=429)


def locked_usernames(usernames) -> set[str]:
    """Which of these accounts are locked now (failures within the cool-off at the limit)."""
    threshold = timezone.now() - get_cool_off()
    rows = (
        AccessAttempt.objects.filter(username__in=list(usernames), attempt_time__gte=threshold)
        .values("username")
        .annotate(total=Sum("failures_since_start"))
        .filter(total__gte=settings.AXES_FAILURE_LIMIT)
    )
    return {row["username"] for row in rows}


def unlock(*, acting_user, user, request=None, capacity=None) -> None:
    """Open a locked account: its failure count starts again from nothing."""
    reset(username=user.get_username())
    audit.record(
        request=request,
        user=acting_user,
        action=audit.Action.UNLOCK,
        target=user,
        capacity=capacity,
    )
