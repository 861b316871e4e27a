"""The load balancer's health check (/helse/): 200 when the database, the migrations, the
document storage and the access log's chain head are fine, 503 when one is not; it names the
checks and their state and nothing else, and no security middleware redirects, refuses or
logs it."""

import json

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessEvent, ChainHead
from config import health
from tests import factories
from tests.municipalities.login_helpers import log_in

URL = "/helse/"
CHECKS = ["database", "migrations", "storage", "audit_chain"]
JSON = {"HTTP_ACCEPT": "application/json"}


def checks_of(response):
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    return body["status"], body["checks"]


def test_the_route_is_the_path_the_middleware_answers():
    assert reverse("health") == URL == health.HEALTH_PATH


def test_all_ok_is_200_with_every_check_ok(db, client):
    response = client.get(URL, **JSON)
    assert response.status_code == 200
    assert checks_of(response) == ("ok", dict.fromkeys(CHECKS, "ok"))
    assert "no-store" in response["Cache-Control"]


def test_without_json_it_is_a_minimal_page_in_bokmal(db, client):
    response = client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "Helsesjekk: ok" in html
    assert all(f"<dt>{name}</dt><dd>ok</dd>" in html for name in CHECKS)


def test_an_unapplied_migration_is_503(db, client):
    # The test's transaction is rolled back afterwards: the row is back for the next test.
    applied = MigrationRecorder.Migration.objects.filter(app="orders").order_by("-id").first()
    applied.delete()
    response = client.get(URL, **JSON)
    assert response.status_code == 503
    assert checks_of(response) == ("failing", {**dict.fromkeys(CHECKS, "ok"), "migrations": "failing"})
    assert "Helsesjekk: feiler" in client.get(URL).content.decode()


def test_a_storage_that_cannot_be_written_is_503(db, client, settings, tmp_path):
    # A folder below a regular file cannot be made, even by root (tests may run as root,
    # for whom a read-only folder is no obstacle).
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(blocker / "documents")},
        },
    }
    response = client.get(URL, **JSON)
    assert response.status_code == 503
    assert checks_of(response) == ("failing", {**dict.fromkeys(CHECKS, "ok"), "storage": "failing"})


def test_the_storage_probe_leaves_no_file_behind(db, client, settings):
    client.get(URL)
    probes = settings.MEDIA_ROOT / health.PROBE_PREFIX
    assert probes.is_dir() and list(probes.iterdir()) == []


def test_a_chain_head_that_cannot_be_read_is_503(db, client):
    table = ChainHead._meta.db_table
    with connection.cursor() as cursor:
        # Renamed inside the test's transaction, which puts it back when it rolls back.
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_gone")
    response = client.get(URL, **JSON)
    assert response.status_code == 503
    assert checks_of(response) == (
        "failing",
        {**dict.fromkeys(CHECKS, "ok"), "audit_chain": "failing"},
    )


def test_the_answer_says_nothing_about_cases_or_people(world, order, client):
    secrets = [
        world.gp.name,
        world.gp.hpr_number,
        order.case_number,
        world.caseworker.username,
        world.authority.name,
        world.municipality.name,
        str(AccessEvent.objects.count()),
    ]
    healthy = client.get(URL, **JSON).content.decode() + client.get(URL).content.decode()
    MigrationRecorder.Migration.objects.filter(app="orders").order_by("-id").first().delete()
    failing = client.get(URL, **JSON).content.decode() + client.get(URL).content.decode()
    for body in (healthy, failing):
        assert not [s for s in secrets if s in body]
        # No version, traceback or error text either.
        assert "Traceback" not in body and "Django" not in body and "not applied" not in body


def test_a_failing_check_is_logged_with_its_reason(db, client, caplog):
    MigrationRecorder.Migration.objects.filter(app="orders").order_by("-id").first().delete()
    with caplog.at_level("ERROR", logger="config.health"):
        client.get(URL)
    assert "Health check migrations failed" in caplog.text
    assert "1 migration(s) not applied" in caplog.text


def test_it_makes_no_session_and_writes_no_access_event(db, client):
    events = AccessEvent.objects.count()
    response = client.get(URL)
    assert response.status_code == 200
    assert not response.cookies
    assert Session.objects.count() == 0
    assert AccessEvent.objects.count() == events


def test_a_session_waiting_for_its_second_factor_is_not_redirected(world, client):
    factories.administrator_for(world.authority, username="drift.admin")
    log_in(client, "drift.admin")
    assert client.get("/saker/")["Location"].startswith(reverse("two_factor"))
    events = AccessEvent.objects.count()
    response = client.get(URL)
    assert response.status_code == 200
    assert AccessEvent.objects.count() == events
    # The session is as it was: still held at the two-factor step.
    assert client.get("/saker/")["Location"].startswith(reverse("two_factor"))


def test_a_session_that_ran_out_is_neither_ended_nor_redirected(world, client, settings):
    client.force_login(world.caseworker)
    client.get("/saker/")
    events = AccessEvent.objects.count()
    later = timezone.now() + timezone.timedelta(hours=settings.SESSION_MAX_HOURS + 1)
    with time_machine.travel(later):
        response = client.get(URL)
        assert response.status_code == 200
        assert AccessEvent.objects.count() == events
        assert client.get("/saker/").status_code == 302  # the next page ends it, as before


def test_a_host_and_a_scheme_of_the_load_balancers_own_are_fine(db, settings):
    # The load balancer asks by the instance's address over plain http.
    settings.SECURE_SSL_REDIRECT = True
    response = Client().get(URL, HTTP_HOST="127.0.0.5:8000")
    assert response.status_code == 200


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_only_get_and_head_are_answered(db, client, method):
    assert getattr(client, method)(URL).status_code == 405
    assert client.head(URL).status_code == 200
