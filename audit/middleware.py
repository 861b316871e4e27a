"""An access event that cannot be written means the data is not shown: answer 503, not 500,
so the person knows to try again and operations see an audit outage, not a bug."""

from django.shortcuts import render

from . import AuditWriteFailed


def unavailable(request):
    """The answer when an access event cannot be written; also for middleware that logs
    before any view runs (Django turns an exception there into a 500 before this middleware
    sees it)."""
    return render(request, "audit/unavailable.html", status=503)


class AuditFailureMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, AuditWriteFailed):
            return unavailable(request)
        return None
