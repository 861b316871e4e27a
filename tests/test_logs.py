"""The logs: every line is one JSON object with the request id of its request, and nothing in
them names a person, a case, a search or a secret: a whole session through the test client
(password login, a case page, searches by name and HPR number, an invitation link, a 404 with
a name in the path, a CSRF failure, a server error) is read back through the configured
formatter and filters, and searched for every value that must not be there."""

import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from django.conf import settings
from django.test import Client
from django.urls import path

from config import urls as config_urls
from municipalities import invitations
from tests import factories

REQUEST_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PASSWORD = "Blåbær-hemmelig-8842"
ADDRESS = "192.0.2.44"  # TEST-NET-1: only a value in the request, never a destination
USER_AGENT = "Palegg-testleser/9.9 (Ingrid Kvam)"


def _planned_failure(request, name):
    raise RuntimeError("a planned failure")


# The site's URLs plus one page that fails (ROOT_URLCONF = this module, for the server error).
urlpatterns = [*config_urls.urlpatterns, path("feil/<str:name>/", _planned_failure)]
handler400 = config_urls.handler400
handler403 = config_urls.handler403
handler404 = config_urls.handler404
handler500 = config_urls.handler500


@pytest.fixture
def log_lines():
    """What the configured stderr handler would write, with its own formatter and filters, at
    INFO (the default LOG_LEVEL, whatever this run was started with)."""
    root = logging.getLogger()
    configured = next(h for h in root.handlers if h.name == "stderr")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(configured.formatter)
    for log_filter in configured.filters:
        handler.addFilter(log_filter)
    level = root.level
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    yield lambda: stream.getvalue().splitlines()
    root.removeHandler(handler)
    root.setLevel(level)


def parsed(lines):
    entries = []
    for line in lines:
        entry = json.loads(line)  # fails the test on a line that is not JSON
        assert isinstance(entry, dict), line
        entries.append(entry)
    return entries


def browser(**defaults):
    return Client(
        enforce_csrf_checks=True,
        raise_request_exception=False,
        REMOTE_ADDR=ADDRESS,
        HTTP_USER_AGENT=USER_AGENT,
        **defaults,
    )


def csrf_token_of(response):
    return re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.content)[1].decode()


def test_a_session_leaves_json_lines_with_request_ids_and_no_personal_data(
    world, order, log_lines, settings
):
    caseworker = factories.caseworker_for(
        world.authority,
        username="ingrid.kvam.saksbeh",
        email="ingrid.kvam@test.invalid",
        password=PASSWORD,
    )
    invited = factories.UserFactory(username="nils.invitert", email="nils.inv@test.invalid")
    _invitation, link = invitations.issue(acting_user=None, user=invited)
    token = link.rstrip("/").rsplit("/", 1)[1]
    gp = world.gp
    client = browser()
    answers = []

    def ask(response):
        answers.append(response)
        return response

    form_token = csrf_token_of(ask(client.get("/logg-inn/")))
    credentials = {"username": caseworker.username, "csrfmiddlewaretoken": form_token}
    wrong = ask(client.post("/logg-inn/", {**credentials, "password": PASSWORD[::-1]}))
    assert wrong.status_code == 200
    login = ask(client.post("/logg-inn/", {**credentials, "password": PASSWORD}))
    assert login.status_code == 302 and login["Location"] == "/oppgaver/"
    case_page = ask(client.get(f"/saker/{order.pk}/"))
    assert case_page.status_code == 200 and gp.name in case_page.content.decode()
    by_name = ask(client.get("/oppslag/helsepersonell/", {"q": gp.name}))
    assert gp.hpr_number in by_name.content.decode()
    ask(client.get("/oppslag/helsepersonell/", {"q": gp.hpr_number}))
    ask(client.get("/saker/", {"q": gp.name, "side": "2"}))
    not_found = ask(client.get(f"/kommuner/{quote(gp.name)}/"))
    assert not_found.status_code == 404
    ask(client.get(f"/saker/{order.pk + 1000}/"))
    refused = ask(
        client.post(
            f"/saker/{order.pk}/frist/",
            {"reason": gp.name, "csrfmiddlewaretoken": "feil" * 8},
        )
    )
    assert refused.status_code == 403
    anonymous = browser()
    assert ask(anonymous.get(f"/invitasjon/{token}/")).status_code == 302
    settings.ROOT_URLCONF = __name__
    failure = ask(client.get(f"/feil/{quote(gp.name)}/"))
    assert failure.status_code == 500
    # The page gives the person the reference support finds the failure by.
    assert failure["X-Request-ID"] in failure.content.decode()

    lines = log_lines()
    entries = parsed(lines)
    never = [
        PASSWORD,
        PASSWORD[::-1],
        caseworker.username,
        caseworker.email,
        caseworker.first_name,
        caseworker.last_name,
        gp.name,
        gp.hpr_number,
        gp.user.email,
        order.case_number,
        token,
        client.cookies[settings.SESSION_COOKIE_NAME].value,
        client.cookies[settings.CSRF_COOKIE_NAME].value,
        form_token,
        ADDRESS,
        USER_AGENT,
        f"/saker/{order.pk}/",
        f"pk={order.pk}",
    ]
    never += [quote(s) for s in never] + [quote_plus(s) for s in never]
    for line, entry in zip(lines, entries, strict=True):
        text = line + json.dumps(entry, ensure_ascii=False)
        found = [s for s in set(never) if s in text]
        assert not found, f"{found} in the log line {line}"
        assert REQUEST_ID.fullmatch(entry.get("request_id", "")), line
        assert not {"user_id", "ip", "user_agent"} & set(entry), line

    # Each answer carries its request id; a page is two lines, started and finished.
    by_request = {}
    for entry in entries:
        by_request.setdefault(entry["request_id"], []).append(entry)
    for response in answers:
        assert response["X-Request-ID"] in by_request
    page = by_request[case_page["X-Request-ID"]]
    assert [(e["event"], e["request"], e.get("code")) for e in page] == [
        ("request_started", "GET /saker/<id:pk>/", None),
        ("request_finished", "GET /saker/<id:pk>/", 200),
    ]
    # A path that matched nothing is not logged at all.
    assert {e["request"] for e in by_request[not_found["X-Request-ID"]]} == {"GET"}
    csrf = by_request[refused["X-Request-ID"]]
    assert [e["event"] for e in csrf if e["logger"] == "django.security.csrf"] == [
        "Forbidden (CSRF token from POST incorrect.): /saker/<id:pk>/frist/"
    ]
    (failed,) = [e for e in by_request[failure["X-Request-ID"]] if e["event"] == "request_failed"]
    assert failed["request"] == "GET /feil/<str:name>/" and failed["code"] == 500
    assert "RuntimeError: a planned failure" in failed["exception"]
    # Django's own "Not Found: /path" and "Internal Server Error: /path" lines are left out.
    assert not [e for e in entries if e["logger"] == "django.request"]


def test_an_upstream_request_id_is_kept_only_if_it_is_a_uuid(db, log_lines):
    given = "3f2b6a1e-1111-4222-8333-123456789abc"
    kept = Client().get("/logg-inn/", HTTP_X_REQUEST_ID=given.upper())
    assert kept["X-Request-ID"] == given
    junk = Client().get("/logg-inn/", HTTP_X_REQUEST_ID="Ingrid Kvam 9000001")
    assert REQUEST_ID.fullmatch(junk["X-Request-ID"])
    lines = log_lines()
    assert {e["request_id"] for e in parsed(lines)} == {given, junk["X-Request-ID"]}
    assert not [line for line in lines if "Ingrid" in line]


def test_no_sql_query_is_logged_even_at_debug_with_debug_on(world, order, log_lines, settings):
    settings.DEBUG = True
    logging.getLogger().setLevel(logging.DEBUG)  # the fixture puts the level back
    client = Client()
    client.force_login(world.caseworker)
    response = client.get(f"/saker/{order.pk}/")
    assert response.status_code == 200
    loggers = {e["logger"] for e in parsed(log_lines())}
    assert not [name for name in loggers if name.startswith("django.db")]


def test_the_health_check_is_not_in_the_request_log(db, log_lines):
    assert Client().get("/helse/").status_code == 200
    assert log_lines() == []


@pytest.mark.parametrize("log_format", [None, "console"])
def test_every_logger_writes_to_stderr_in_the_chosen_format(log_format, tmp_path):
    """The settings as a server process reads them: JSON unless PALEGG_LOG_FORMAT=console."""
    code = (
        "import django, logging, structlog; django.setup(); "
        "logging.getLogger('orders.example').warning('plain %s', 'text'); "
        "structlog.get_logger('orders.example').warning('structured', kind='example')"
    )
    env = {k: v for k, v in os.environ.items() if k != "PALEGG_LOG_FORMAT"}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        PALEGG_VAR_DIR=str(tmp_path),
        PALEGG_DEVELOPMENT="1",
        **({"PALEGG_LOG_FORMAT": log_format} if log_format else {}),
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(settings.BASE_DIR),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = result.stderr.splitlines()
    if log_format is None:
        entries = parsed(lines)
        assert [(e["event"], e["level"], e["logger"]) for e in entries] == [
            ("plain text", "warning", "orders.example"),
            ("structured", "warning", "orders.example"),
        ]
        assert entries[1]["kind"] == "example" and entries[0]["timestamp"]
    else:
        assert len(lines) == 2 and "plain text" in lines[0] and "kind=example" in lines[1]
        with pytest.raises(json.JSONDecodeError):
            json.loads(lines[0])


def test_the_runservers_request_line_is_left_out(log_lines):
    """runserver (development) logs each request line with its query string."""
    logging.getLogger("django.server").info(
        '"%s" %s %s', "GET /oppslag/helsepersonell/?q=Ingrid+Kvam HTTP/1.1", "200", "17"
    )
    assert log_lines() == []
