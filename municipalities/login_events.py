"""Logins in the access log: receivers of Django's login signals (password, OpenID Connect and
invitation logins all call django.contrib.auth.login), of axes' lockout signal, and of a
user's deactivation. No password or token is ever recorded: of a failed login's credentials
only the user name is read."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

import audit

from . import access, user_sessions
from .lockout import ALREADY_LOCKED
from .models import User

# The longest part of a typed user name kept in a refused login's target.
TARGET_NAME_LENGTH = 40
# Set on a request whose session was ended by the session rules (its logout is SESSION_END).
SESSION_ENDED = "palegg_session_ended"


def account_target(username):
    """The user by that name, else the name as typed (truncated): someone tried it."""
    username = str(username or "")
    user = User.objects.filter(username=username).first() if username else None
    return user if user is not None else f"account:{username[:TARGET_NAME_LENGTH]}"


@receiver(user_logged_in, dispatch_uid="palegg_login")
def logged_in(sender, request, user, **kwargs):
    user_sessions.started(request, user)
    audit.record(
        request=request,
        user=user,
        action=audit.Action.LOGIN,
        target=user,
        capacity=access.OrganisationCapabilities.of(user).capacity(),
    )


@receiver(user_logged_out, dispatch_uid="palegg_logout")
def logged_out(sender, request, user, **kwargs):
    user_sessions.stopped(request)
    if user is None or getattr(request, SESSION_ENDED, False):
        return
    audit.record(
        request=request,
        user=user,
        action=audit.Action.LOGOUT,
        target=user,
        capacity=access.OrganisationCapabilities.of(user).capacity(),
    )


@receiver(user_login_failed, dispatch_uid="palegg_login_failed")
def login_failed(sender, credentials, request=None, **kwargs):
    # Django has already masked the password; only the user name is read all the same.
    target = account_target(credentials.get("username"))
    locked = request is not None and getattr(request, ALREADY_LOCKED, False)
    # Nobody is logged in: the event names the account tried, not who tried it.
    audit.record(
        request=request,
        action=audit.Action.LOGIN,
        target=target,
        outcome="refused",
        detail="locked" if locked else "wrong_credentials",
        capacity=access.OrganisationCapabilities.of(target).capacity()
        if isinstance(target, User)
        else None,
    )


@receiver(user_locked_out, dispatch_uid="palegg_locked_out")
def locked_out(sender, request, username=None, ip_address=None, **kwargs):
    if getattr(request, ALREADY_LOCKED, False):
        return  # locked before this attempt: logged as a refused login above
    target = account_target(username)
    audit.record(
        request=request,
        action=audit.Action.LOCKOUT,
        target=target,
        capacity=access.OrganisationCapabilities.of(target).capacity()
        if isinstance(target, User)
        else None,
    )


@receiver(post_save, sender=User, dispatch_uid="palegg_user_deactivated")
def deactivated(sender, instance, **kwargs):
    if not instance.is_active:
        user_sessions.end_sessions(instance, reason=user_sessions.DEACTIVATED)
