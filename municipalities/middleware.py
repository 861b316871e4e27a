"""Two rules every request passes once the user is known: a session that has run out ends
(user_sessions.expired), and a password login of an administrator or security officer (and
any session of an operator) goes no further than the two-factor step until it has passed it
(two_factor.required)."""

from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

import audit
from audit.middleware import unavailable

from . import two_factor, user_sessions
from .login_events import SESSION_ENDED


class SessionLifetimeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated and (reason := user_sessions.expired(request)):
            user = request.user
            try:
                audit.record(
                    request=request,
                    user=user,
                    action=audit.Action.SESSION_END,
                    target=user,
                    detail=reason,
                    capacity=request.capabilities.capacity(),
                )
            except audit.AuditWriteFailed:
                # The session stays as it is until its end can be logged.
                return unavailable(request)
            setattr(request, SESSION_ENDED, True)
            logout(request)
            return redirect(f"{reverse('session_ended')}?{urlencode({'grunn': reason})}")
        return self.get_response(request)


class TwoFactorMiddleware:
    # Pages a session waiting for its second factor may still reach.
    ALLOWED_NAMES = ("two_factor", "two_factor_enrol", "logout", "session_ended", "set_language")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._allowed(request.path) or not two_factor.required(request):
            return self.get_response(request)
        query = urlencode({"next": request.get_full_path()}) if request.method == "GET" else ""
        return redirect(f"{reverse('two_factor')}{'?' + query if query else ''}")

    def _allowed(self, path):
        if path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return True
        return any(path == reverse(name) for name in self.ALLOWED_NAMES)
