"""gunicorn's settings for Pålegg: `gunicorn -c config/gunicorn.conf.py config.wsgi` (what
`make serve` and the systemd unit run). gunicorn listens on loopback behind a proxy that
terminates TLS (nginx); the proxy's address must be in PALEGG_FORWARDED_ALLOW_IPS."""

import multiprocessing
import os
import sys
from pathlib import Path

# Loopback by default: only the proxy on the same machine reaches gunicorn.
bind = os.environ.get("PALEGG_BIND", "127.0.0.1:8000")
# gunicorn's rule of thumb, (2 × cores) + 1 synchronous workers, unless told otherwise.
workers = int(os.environ.get("PALEGG_WORKERS", multiprocessing.cpu_count() * 2 + 1))

# A worker silent this long is killed and replaced. The proxy buffers uploads (up to
# PALEGG_EVIDENCE_MAX_BYTES) before it passes them on, so a slow client does not hold a worker.
timeout = int(os.environ.get("PALEGG_TIMEOUT", 30))
# On stop or reload, requests under way get this long to finish.
graceful_timeout = int(os.environ.get("PALEGG_GRACEFUL_TIMEOUT", 30))
# The proxy keeps connections to gunicorn open between requests.
keepalive = 5

# Addresses whose X-Forwarded-Proto gunicorn believes (wsgi.url_scheme). Django itself reads
# the header named in PALEGG_PROXY_SSL_HEADER, which the proxy must always overwrite.
forwarded_allow_ips = os.environ.get("PALEGG_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# No access log by default: paths carry one-time tokens (invitation and password-reset links)
# and case numbers, query strings carry OpenID Connect codes, and who read which case is in
# the application's own access log. PALEGG_ACCESS_LOG (a file, or - for standard output) turns
# on one JSON line per request with no path, query string, referrer or user agent in it.
accesslog = os.environ.get("PALEGG_ACCESS_LOG") or None
access_log_format = (
    '{"time": "%(t)s", "remote": "%(h)s", "method": "%(m)s", "status": "%(s)s", '
    '"bytes": "%(B)s", "duration_ms": "%(M)s"}'
)
# Errors (and gunicorn's own start and stop lines) to standard error, for journald.
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# gunicorn's control socket is not used; its default path is shared by every gunicorn the
# same user runs, so two servers on one machine would fight over it.
control_socket_disable = True

# gunicorn's own lines (starting, a worker booted or killed, a timeout) in the same form as the
# application's (config/logs.py: JSON by default), so the journal holds one kind of line that a
# log collector can parse. The access log's lines are JSON already (access_log_format).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from config import logs as _logs  # noqa: E402

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "structured": _logs.formatter(os.environ.get("PALEGG_LOG_FORMAT", "json").strip().lower()),
        "as_is": {"format": "%(message)s"},
    },
    "handlers": {
        "error": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "structured",
        },
        # Where PALEGG_ACCESS_LOG says: standard output (-), or a file.
        "access": (
            {"class": "logging.FileHandler", "filename": accesslog, "formatter": "as_is"}
            if accesslog not in (None, "-")
            else {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "as_is"}
        ),
    },
    # gunicorn's default root logger names a handler of its own defaults, replaced here.
    "root": {"level": "INFO", "handlers": []},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["error"], "propagate": False},
        # gunicorn writes its access lines whenever a logging configuration is given, whatever
        # accesslog says: without PALEGG_ACCESS_LOG they are dropped here.
        "gunicorn.access": {
            "level": "INFO" if accesslog else "CRITICAL",
            "handlers": ["access"] if accesslog else [],
            "propagate": False,
        },
    },
}
