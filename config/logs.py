"""Structured logs: one JSON object a line on stderr (PALEGG_LOG_FORMAT=json, the default) or
structlog's console rendering (console), for structlog's loggers and the standard library's
alike, with the request id of the request that logged it.

What a line may hold: kinds, reasons, ids of rows, URL route patterns and status codes. Never a
path as typed (it can hold a token), a query string (a search is a name or an HPR number), an
address, a user agent or a user id (the access log already says who did what).

Imported by the settings, so nothing of Django is imported here at module level.
"""

import logging
import re
import sys
import traceback

import structlog

FORMATS = ("json", "console")

# What every line gets, from structlog's loggers and the standard library's alike.
SHARED_PROCESSORS = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure_structlog():
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


# PostgreSQL's DETAIL line of an error repeats the values it refused: "Failing row contains
# (...)", "Key (hpr_number)=(9000001) already exists."
ERROR_DETAIL = re.compile(r"^DETAIL:.*$", re.MULTILINE)


def traceback_text(exc_info) -> str:
    """A traceback as the standard library writes it (no local values), without DETAIL lines."""
    text = "".join(traceback.format_exception(*exc_info))
    return ERROR_DETAIL.sub("DETAIL: (left out of the log)", text).rstrip("\n")


def _console_traceback(sio, exc_info):
    sio.write("\n" + traceback_text(exc_info))


def formatter(log_format: str) -> dict:
    """The dictConfig formatter that renders every record, structlog's or not."""
    if log_format == "console":
        # Our own plain tracebacks: rich's (used when it is installed) prints local variables.
        renderer = [
            structlog.dev.ConsoleRenderer(
                colors=sys.stderr.isatty(), exception_formatter=_console_traceback
            )
        ]
    else:
        # The traceback as one string field.
        renderer = [
            structlog.processors.ExceptionRenderer(traceback_text),
            structlog.processors.JSONRenderer(),
        ]
    return {
        "()": structlog.stdlib.ProcessorFormatter,
        "processors": [structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
        "foreign_pre_chain": [
            *SHARED_PROCESSORS,
            structlog.stdlib.ExtraAdder(allow=["status_code"]),
        ],
    }


def logging_config(*, log_format: str, level: str) -> dict:
    if log_format not in FORMATS:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"PALEGG_LOG_FORMAT must be one of {', '.join(FORMATS)} (got {log_format!r})."
        )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": formatter(log_format)},
        "filters": {"requests": {"()": "config.logs.RequestRecordFilter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "structured",
                "filters": ["requests"],
                "level": level,
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # Django's own console and mail_admins handlers would print every line a second
            # time, unformatted (with DEBUG on), or e-mail a traceback; the root handler has it.
            "django": {"handlers": [], "level": "INFO", "propagate": True},
            # Never every SQL query with its parameters (names, HPR numbers), whatever LOG_LEVEL.
            "django.db.backends": {"level": "INFO"},
            # Axes' INFO lines repeat each login (the access log has it); its warnings stay.
            "axes": {"level": "WARNING"},
        },
    }


def route_of(request) -> str | None:
    """The URL pattern a request matched ("/saker/<id:pk>/"), or None where it matched none:
    never the path itself, which may hold a token, a number or a name."""
    from django.urls import Resolver404, resolve

    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info, getattr(request, "urlconf", None))
        except Resolver404:
            return None
        except Exception:  # noqa: BLE001 - a log line must never break the request
            return None
    return "/" + match.route


class RequestRecordFilter(logging.Filter):
    """Django's request and security loggers, made to say no more than the request log:

    - django.request and django.server (the runserver's request lines) are dropped:
      django-structlog logs every request once already (request_finished with its code and
      route, request_failed with the traceback); theirs name the path, the runserver's with
      its query string, and Django's come after the request's id is gone.
    - a path in a message ("Forbidden (CSRF token missing.): /saker/12/") becomes the route,
      or "-" where nothing matched.
    - django.security's messages say what was refused; their tracebacks (Django's own
      frames) are left out.
    """

    def filter(self, record):
        if record.name in ("django.request", "django.server"):
            return False
        request = getattr(record, "request", None)
        if request is not None and isinstance(record.args, tuple):
            paths = {getattr(request, "path", None), getattr(request, "path_info", None)}
            route = route_of(request) or "-"
            record.args = tuple(
                route if isinstance(arg, str) and arg in paths else arg for arg in record.args
            )
        if record.name.startswith("django.security"):
            record.exc_info = None
            record.exc_text = None
        return True


def axes_client_str(username, ip_address, user_agent, path_info, request) -> str:
    """django-axes names the client in its log lines by user name, address and path: here by
    nothing (AXES_CLIENT_STR_CALLABLE). Who tried is in the access log."""
    return "a client"
