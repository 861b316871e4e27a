"""Language choice: Norwegian bokmål unless the user has picked another language; and the
request log (django-structlog) with a request id and no personal data; and the browser's
address behind the TLS proxy.

Django's LocaleMiddleware would follow the browser's Accept-Language, so a caseworker with an
English browser would get English without asking; public-sector services default to bokmål.
"""

import ipaddress
import re

import structlog
from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.dispatch import receiver
from django.utils import translation
from django.utils.functional import SimpleLazyObject
from django_structlog import signals as log_signals
from django_structlog.middlewares import RequestMiddleware

from config.logs import route_of
from orders.access import Capabilities


class LanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request):
        # A logged-in user's saved choice wins (on any device); before login, the cookie the
        # language buttons set.
        user = getattr(request, "user", None)
        saved = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        chosen = saved or request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class RequestLogMiddleware(RequestMiddleware):
    """django-structlog's request_started / request_finished / request_failed lines, with the
    URL route in place of the path and query string (format_request), and a request id the
    response carries as X-Request-ID, so a user can quote it to support (receivers below)."""

    # The project runs under WSGI; __call__ stays django-structlog's synchronous one.
    async_capable = False

    @staticmethod
    def format_request(request):
        method = request.method if request.method in KNOWN_METHODS else "OTHER"
        route = route_of(request)
        return f"{method} {route}" if route else method


KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"}
# An X-Request-ID from the proxy in front is kept only if it is a UUID: anything else could
# carry text into every line of the request.
UPSTREAM_REQUEST_ID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE
)


@receiver(log_signals.bind_extra_request_metadata, dispatch_uid="palegg_request_id")
def _bind_request_id(sender, request, logger, log_kwargs, **kwargs):
    upstream = request.headers.get("X-Request-ID", "")
    if UPSTREAM_REQUEST_ID.fullmatch(upstream):
        structlog.contextvars.bind_contextvars(request_id=upstream.lower())
    # A browser's user agent says more about a person than a request log needs.
    log_kwargs.pop("user_agent", None)


@receiver(log_signals.bind_extra_request_finished_metadata, dispatch_uid="palegg_request_id_out")
@receiver(log_signals.update_failure_response, dispatch_uid="palegg_request_id_failed")
def _answer_request_id(sender, request, response, **kwargs):
    if request_id := structlog.contextvars.get_contextvars().get("request_id"):
        response.headers["X-Request-ID"] = request_id


class ProxyClientAddressMiddleware:
    """The browser's address behind the TLS proxy. Every request reaches gunicorn from the
    proxy, so the access log would record the proxy's address for everyone, and the address
    lockout would lock everyone out at once. The proxy names the browser's address in the
    header PALEGG_PROXY_ADDRESS_HEADER (nginx: X-Real-IP $remote_addr; for X-Forwarded-For,
    the last entry, the one the proxy added), believed only from an address in
    PALEGG_FORWARDED_ALLOW_IPS, the proxies gunicorn also trusts."""

    def __init__(self, get_response):
        if not settings.PROXY_ADDRESS_HEADER:
            raise MiddlewareNotUsed
        self.get_response = get_response
        self.header = settings.PROXY_ADDRESS_HEADER
        self.proxies = settings.FORWARDED_ALLOW_IPS

    def _is_proxy(self, address) -> bool:
        try:
            peer = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(peer in network for network in self.proxies)

    def __call__(self, request):
        if self._is_proxy(request.META.get("REMOTE_ADDR", "")):
            named = request.META.get(self.header, "").split(",")[-1].strip()
            try:
                request.META["REMOTE_ADDR"] = str(ipaddress.ip_address(named))
            except ValueError:
                pass  # no usable address named: the proxy's own stays
        return self.get_response(request)


class CapabilitiesMiddleware:
    """``request.capabilities``: the user's grants, resolved once for this request (one query,
    on first use; orders.access.Capabilities). Every check, list, menu flag and access-log
    capacity of the request asks it; it is never kept beyond the request, so a role granted
    or ended shows on the next page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.capabilities = SimpleLazyObject(lambda: Capabilities.of(request.user))
        return self.get_response(request)
