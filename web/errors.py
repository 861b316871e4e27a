"""The error pages (config/urls.py handler400/403/404/500) in the site's own layout; a refusal no
view has logged is logged here."""

import structlog
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.shortcuts import render

import audit
from audit import Action
from config.forms import CONTROL_CHARACTERS
from orders.views import log_refused_probe


def bad_request(request, exception=None):
    """400, in the site's own layout (viewflow's English page would win otherwise); a body
    over DATA_UPLOAD_MAX_MEMORY_SIZE is 413 and says what the limit is."""
    if isinstance(exception, RequestDataTooBig):
        limit_mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024)
        return render(request, "413.html", {"limit_mb": limit_mb}, status=413)
    return render(request, "400.html", status=400)


def permission_denied(request, exception=None):
    _log_unlogged_refusal(request)
    return render(request, "403.html", status=403)


def page_not_found(request, exception=None):
    _log_unlogged_refusal(request)
    return render(request, "404.html", status=404)


def _log_unlogged_refusal(request):
    """Every refusal is logged: a signed-in user's 404 or 403 that no view has logged yet (a
    URL that matches no page, such as /kommuner/%00/, or an object outside any case) is logged
    as a refused look at that path. Nothing is shown either way, so a log that cannot be
    written does not turn the answer into an error."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or getattr(request, "access_logged", False):
        return
    # What of the path the log keeps: no control characters (a NUL cannot be stored).
    path = CONTROL_CHARACTERS.sub("?", request.path)
    try:
        log_refused_probe(request, Action.OPEN_PAGE, f"path:{path[:50]}", detail=path)
    except audit.AuditWriteFailed:
        pass


def server_error(request):
    # The request id of the log's request_failed line (config.middleware.RequestLogMiddleware),
    # so the person can quote it to support and the failure can be found in the log.
    request_id = structlog.contextvars.get_contextvars().get("request_id", "")
    return render(request, "500.html", {"request_id": request_id}, status=500)
