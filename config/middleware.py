"""Language choice: Norwegian bokmål unless the user has picked another language; and the
browser's address behind the TLS proxy.

Django's LocaleMiddleware would follow the browser's Accept-Language, so a caseworker with an
English browser would get English without asking; public-sector services default to bokmål.
"""

import ipaddress

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.utils import translation


class LanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


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
