"""The load balancer's health check at /helse/: is this instance fit to serve? Each check
says only its name and ok or failing (no counts, names, versions or error texts: the page is
public); why a check failed goes to the log.

HealthCheckMiddleware answers the path first in MIDDLEWARE, before anything that redirects to
https, checks the Host header, reads a session, asks for a second factor or writes a log line
per request: the load balancer asks every few seconds, with no cookie and often with its own
address as the host.

django-health-check 4.8 was tried and not used: its view answers 500 rather than 503, shows
exception texts and timings, links feeds, and runs synchronous checks on executor threads
(each with a database connection of its own), so nothing of it would have been left but the
base class.
"""

import logging
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponseNotAllowed, JsonResponse
from django.http.response import HttpResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.cache import add_never_cache_headers, patch_vary_headers

from audit.models import ChainHead

logger = logging.getLogger(__name__)

HEALTH_PATH = "/helse/"
# The probe file's folder in the document storage (nothing else is ever saved there).
PROBE_PREFIX = "health-check/"
PROBE_CONTENT = b"palegg health check\n"


class CheckFailed(Exception):
    """A check ran and found the service unfit (as opposed to raising on the way)."""


def check_database():
    connection = connections[DEFAULT_DB_ALIAS]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone() != (1,):
            raise CheckFailed("SELECT 1 did not answer 1")


def check_migrations():
    """The code on disk expects no migration the database has not had: a process started
    before `make migrate` (or without it) would fail on the first page that needs a column."""
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise CheckFailed(f"{len(plan)} migration(s) not applied")


def check_storage():
    """Evidence documents can be saved, read back and deleted in the default storage (file
    system or S3, whichever STORAGES["default"] is)."""
    name = default_storage.save(f"{PROBE_PREFIX}{uuid.uuid4().hex}.txt", ContentFile(PROBE_CONTENT))
    try:
        with default_storage.open(name, "rb") as probe:
            if probe.read() != PROBE_CONTENT:
                raise CheckFailed("the probe file read back differs")
    finally:
        default_storage.delete(name)


def check_audit_chain():
    """The access log's chain head can be read: every page that logs an access needs it (and
    writes it, but a health check writes nothing to the access log). A fresh database has no
    head row until the first event; that is fine."""
    ChainHead.objects.filter(pk=1).values_list("sequence", flat=True).first()


# name -> (check, the checks it needs to have passed; without them it is failing untried).
CHECKS = {
    "database": (check_database, ()),
    "migrations": (check_migrations, ("database",)),
    "storage": (check_storage, ()),
    "audit_chain": (check_audit_chain, ("database",)),
}


def run_checks() -> dict[str, bool]:
    results = {}
    for name, (check, needs) in CHECKS.items():
        if not all(results[need] for need in needs):
            results[name] = False
            continue
        try:
            # A failed query inside a transaction (a test's, or a database that went away
            # mid-way) is rolled back to here, so the next check can still ask.
            with transaction.atomic():
                check()
        except Exception:
            logger.exception("Health check %s failed", name)
            results[name] = False
        else:
            results[name] = True
    return results


def health(request):
    """200 when every check is ok, 503 otherwise; JSON when asked for, else a minimal page."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    results = run_checks()
    healthy = all(results.values())
    status = 200 if healthy else 503
    checks = {name: "ok" if ok else "failing" for name, ok in results.items()}
    if request.get_preferred_type(["text/html", "application/json"]) == "application/json":
        response = JsonResponse({"status": "ok" if healthy else "failing", "checks": checks})
        response.status_code = status
    else:
        # No request in the context: no context processor may look for a user or a session.
        # In bokmål always (LanguageMiddleware has not run; a thread may hold another's choice).
        with translation.override(settings.LANGUAGE_CODE):
            html = render_to_string("health.html", {"healthy": healthy, "checks": checks})
        response = HttpResponse(html, status=status)
    patch_vary_headers(response, ["Accept"])
    add_never_cache_headers(response)
    return response


class HealthCheckMiddleware:
    """First in MIDDLEWARE: answers HEALTH_PATH before any other middleware sees it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == HEALTH_PATH:
            return health(request)
        return self.get_response(request)
