"""The production configuration, in processes of its own with a server's environment (no
PALEGG_DEVELOPMENT): Django's deployment checks pass with only the documented variables, start-up
refuses without SECRET_KEY, and gunicorn behind an https proxy serves the login with every
security header and logs the browser's address (PostgreSQL: gunicorn's workers need a database
the test shares)."""

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
import requests
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from audit.actions import Action
from audit.models import AccessEvent
from tests import factories

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
HOST = "palegg.example"
ORIGIN = f"https://{HOST}"
BROWSER_ADDRESS = "203.0.113.9"
SUBPROCESS_SECONDS = 120


def production_env(var_dir, **extra) -> dict:
    """A server's environment: the documented production variables and nothing of the test
    run's (no PALEGG_DEVELOPMENT, no DJANGO_SETTINGS_MODULE, no DATABASE_URL unless given)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": HOST,
        "CSRF_TRUSTED_ORIGINS": ORIGIN,
        "PALEGG_PROXY_SSL_HEADER": "X-Forwarded-Proto",
        "PALEGG_VAR_DIR": str(var_dir),
        **extra,
    }


def manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_SECONDS,
    )


def test_deployment_checks_pass_with_only_the_production_variables(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_start_up_refuses_without_secret_key_and_says_how_to_set_one(tmp_path):
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set." in result.stderr
    assert "PALEGG_DEVELOPMENT=1" in result.stderr
    # No key was made up and left behind for the next start.
    assert not (tmp_path / "secret_key").exists()


# --- gunicorn behind an https proxy -------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def set_cookies(response) -> dict:
    """{name: Morsel} of the response's Set-Cookie headers, with their attributes."""
    jar = SimpleCookie()
    for header in response.raw.headers.getlist("Set-Cookie"):
        jar.load(header)
    return dict(jar)


def assert_security_headers(response):
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def assert_cookie_locked_down(morsel):
    assert morsel["secure"] and morsel["httponly"], morsel.OutputString()
    assert morsel["samesite"] == "Lax", morsel.OutputString()


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    """gunicorn with config/gunicorn.conf.py on a free loopback port, in a server's
    environment, on the test database; the static files collected first as `make serve` does.
    Yields the base URL; the server is stopped afterwards."""
    port = free_port()
    env = production_env(
        tmp_path,
        DATABASE_URL=database_url(),
        PALEGG_BIND=f"127.0.0.1:{port}",
        PALEGG_WORKERS="1",
        PALEGG_DOCUMENT_ROOT=str(tmp_path / "documents"),
        PALEGG_PROXY_ADDRESS_HEADER="X-Real-IP",
    )
    collected = manage("collectstatic", "--no-input", "--verbosity", "0", env=env)
    assert collected.returncode == 0, collected.stderr
    log_file = tmp_path / "gunicorn.log"
    log = log_file.open("w+")
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py", "config.wsgi"],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"gunicorn stopped: {log_file.read_text()}"
            try:
                requests.get(base + "/", headers={"Host": HOST}, timeout=2, allow_redirects=False)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not answer: {log_file.read_text()}")
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="gunicorn's workers need a database shared with the test (set DATABASE_URL=postgres://…)",
)
def test_gunicorn_behind_https_proxy_serves_the_login_with_security_headers(
    transactional_db, gunicorn, tmp_path
):
    user = factories.caseworker_for(factories.AuthorityFactory(), username="drift.saksbehandler")
    # The server has Django's default (slow) password hashers, not the suite's quick one.
    user.password = PBKDF2PasswordHasher().encode(factories.PASSWORD, secrets.token_hex(8))
    user.save(update_fields=["password"])
    # What nginx sends on: the host, that the browser spoke https, and the browser's address.
    proxied = {"Host": HOST, "X-Forwarded-Proto": "https", "X-Real-IP": BROWSER_ADDRESS}

    def get(path, **headers):
        return requests.get(
            gunicorn + path, headers=proxied | headers, timeout=30, allow_redirects=False
        )

    # Not through the proxy (no https header): sent to https.
    plain = requests.get(
        gunicorn + "/logg-inn/", headers={"Host": HOST}, timeout=30, allow_redirects=False
    )
    assert plain.status_code == 301
    assert plain.headers["Location"] == f"{ORIGIN}/logg-inn/"

    login_page = get("/logg-inn/")
    assert login_page.status_code == 200
    assert_security_headers(login_page)
    csrf_cookie = set_cookies(login_page)["csrftoken"]
    assert_cookie_locked_down(csrf_cookie)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text).group(1)

    # The stylesheet by its hashed, collected name, compressed and cached for good.
    stylesheet = re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', login_page.text)
    assert stylesheet, "the login page does not link the hashed stylesheet"
    css = get(stylesheet.group(1), **{"Accept-Encoding": "gzip"})
    assert css.status_code == 200 and css.headers["Content-Encoding"] == "gzip"
    assert "immutable" in css.headers["Cache-Control"]

    form = {"username": user.username, "password": factories.PASSWORD}
    cookie = f"csrftoken={csrf_cookie.value}"

    def post_login(origin):
        return requests.post(
            gunicorn + "/logg-inn/",
            data=form | {"csrfmiddlewaretoken": token},
            headers=proxied
            | {"Origin": origin, "Referer": f"{origin}/logg-inn/", "Cookie": cookie},
            timeout=30,
            allow_redirects=False,
        )

    assert post_login("https://elsewhere.example").status_code == 403

    logged_in = post_login(ORIGIN)
    assert logged_in.status_code == 302, logged_in.text[:2000]
    assert logged_in.headers["Location"] == "/oppgaver/"
    assert_security_headers(logged_in)
    cookies = set_cookies(logged_in)
    assert_cookie_locked_down(cookies["sessionid"])

    tasks = get("/oppgaver/", Cookie=f"sessionid={cookies['sessionid'].value}")
    assert tasks.status_code == 200
    assert_security_headers(tasks)
    assert str(user) in tasks.text
    # The access log has the browser's address, not the proxy's.
    login = AccessEvent.objects.get(action=Action.LOGIN, outcome="shown", target_id=str(user.pk))
    assert login.ip_address == BROWSER_ADDRESS
    # What the server wrote to standard error (gunicorn's own lines and the application's
    # request lines alike) is one JSON object a line, for the log collector.
    written = [line for line in (tmp_path / "gunicorn.log").read_text().splitlines() if line]
    entries = [json.loads(line) for line in written]
    assert {"gunicorn.error", "django_structlog.middlewares.request"} <= {
        entry.get("logger") for entry in entries
    }
    # No access log unless PALEGG_ACCESS_LOG asks for one: no line per request with the
    # browser's address.
    assert not [entry for entry in entries if "remote" in entry or "duration_ms" in entry]
