"""How long a login lasts, and ending every session of a person at once.

A session ends after SESSION_IDLE_MINUTES without a request and SESSION_MAX_HOURS after login
(:func:`expired`, enforced by municipalities.middleware.SessionLifetimeMiddleware). All of a
user's sessions end when they are deactivated or their last appointment ends
(:func:`end_sessions`): the one rule, called from the User save receiver and from
appointments.end_appointment."""

from importlib import import_module

from django.conf import settings
from django.utils import timezone

import audit

from .models import Appointment, UserSession

# Session keys: when the user logged in and when the session was last used (epoch seconds).
LOGIN_AT = "palegg_login_at"
SEEN_AT = "palegg_seen_at"
# Seen-at is written at most this often, not at every request (a database write each).
SEEN_RESOLUTION_SECONDS = 60

IDLE = "idle"
LIFETIME = "lifetime"
DEACTIVATED = "deactivated"
APPOINTMENT_ENDED = "appointment_ended"


def _now() -> int:
    return int(timezone.now().timestamp())


def started(request, user) -> None:
    """At login (the key is already rotated): remember when, and that this key is theirs."""
    now = _now()
    request.session[LOGIN_AT] = now
    request.session[SEEN_AT] = now
    if request.session.session_key is None:
        request.session.save()
    UserSession.objects.get_or_create(
        session_key=request.session.session_key, defaults={"user": user}
    )
    _forget_gone_sessions(user)


def _store():
    return import_module(settings.SESSION_ENGINE).SessionStore


def _forget_gone_sessions(user) -> None:
    """A session that ran out without a logout (a closed browser, `clearsessions`) leaves its
    row here; each login clears those of its own person, so they stay few."""
    store = _store()
    gone = [
        key
        for key in UserSession.objects.filter(user=user).values_list("session_key", flat=True)
        if not store().exists(key)
    ]
    if gone:
        UserSession.objects.filter(session_key__in=gone).delete()


def stopped(request) -> None:
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        UserSession.objects.filter(session_key=key).delete()


def expired(request) -> str:
    """IDLE or LIFETIME if the session has run out, else "" (and the visit is noted)."""
    now = _now()
    login_at = request.session.setdefault(LOGIN_AT, now)
    seen_at = request.session.get(SEEN_AT, now)
    if now - login_at > settings.SESSION_MAX_HOURS * 3600:
        return LIFETIME
    if now - seen_at > settings.SESSION_IDLE_MINUTES * 60:
        return IDLE
    if now - seen_at >= SEEN_RESOLUTION_SECONDS or SEEN_AT not in request.session:
        request.session[SEEN_AT] = now
    return ""


def end_sessions(user, *, reason, acting_user=None, request=None) -> int:
    """End every session of ``user`` (deleted from the session store) and log it once."""
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    if not keys:
        return 0
    store = _store()
    for key in keys:
        store(session_key=key).delete()
    UserSession.objects.filter(session_key__in=keys).delete()
    audit.record(
        request=request,
        user=acting_user,
        action=audit.Action.SESSION_END,
        target=user,
        detail=reason,
    )
    return len(keys)


def end_sessions_if_no_appointment(user, *, acting_user=None, request=None) -> int:
    """After an appointment has ended: a person with no role left keeps no session."""
    if Appointment.objects.filter(user=user, ended_at__isnull=True).exists():
        return 0
    return end_sessions(user, reason=APPOINTMENT_ENDED, acting_user=acting_user, request=request)
