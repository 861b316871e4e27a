"""Real-browser tests: Debian's Chromium driven through Playwright's sync API against
pytest-django's ``live_server``.

No browser is downloaded: the tests use /usr/bin/chromium. Without it they are skipped,
unless PALEGG_REQUIRE_BROWSER=1 is set (e.g. in CI), in which case they fail loudly.
"""

import os
import threading
from pathlib import Path

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test.testcases import LiveServerThread

# Playwright's sync API runs an asyncio event loop in the main thread; Django would
# otherwise refuse ORM calls from the test body ("You cannot call this from an async
# context"). This is the standard setting for pytest-django + Playwright.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BROWSER_DIR = Path(__file__).resolve().parent
REPO_ROOT = BROWSER_DIR.parents[1]
ARTIFACTS = REPO_ROOT / "test-artifacts"
# How long an action or an awaited answer may take before the test gives up: a bound, not a
# speed goal. With both cores busy (the other worker, PostgreSQL, the browser) a step's POST
# through the live server took over 10 s once in CI.
DEFAULT_TIMEOUT_MS = 30_000


def pytest_collection_modifyitems(config, items):
    """Mark every test under tests/browser with ``pytest.mark.browser``."""
    for item in items:
        if BROWSER_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        message = (
            f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium) "
            "to run the browser tests."
        )
        if os.environ.get("PALEGG_REQUIRE_BROWSER") == "1":
            pytest.fail(f"PALEGG_REQUIRE_BROWSER=1 but {message}", pytrace=False)
        pytest.skip(message)

    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
    except Exception:
        playwright.stop()
        raise
    yield browser
    browser.close()
    playwright.stop()


class OneRequestAtATime:
    """A WSGI application that lets one request at a time through ``app``, from its call
    until its answer is written out and closed."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        self.lock.acquire()
        try:
            answer = self.app(environ, start_response)
        except BaseException:
            self.lock.release()
            raise
        return _ReleasedOnClose(answer, self.lock)


class _ReleasedOnClose:
    def __init__(self, answer, lock):
        self.answer, self.lock = answer, lock

    def __iter__(self):
        return iter(self.answer)

    def close(self):
        try:
            if hasattr(self.answer, "close"):
                self.answer.close()
        finally:
            self.lock.release()


class _SerialOnSharedConnection(ThreadedWSGIServer):
    """The live server, taking one request at a time when its threads share the test's
    database connection (in-memory SQLite). Two requests at once on one SQLite connection
    break each other: the page's personnel look-up (a fetch while the form is filled in)
    still reading when the form's POST opens a savepoint fails the POST with "cannot open
    savepoint - SQL statements in progress". Django's documentation warns of the same for
    the test thread and the server. PostgreSQL gives every thread its own connection, so
    its requests still run side by side."""

    def set_app(self, application):
        if self.connections_override:
            application = OneRequestAtATime(application)
        super().set_app(application)


@pytest.fixture(scope="session", autouse=True)
def _live_server_serial_on_shared_connection():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LiveServerThread, "server_class", _SerialOnSharedConnection)
        yield


def watch_content_policy(context, page, violations: list) -> None:
    """Append to ``violations`` each refusal of the pages' Content-Security-Policy as it
    happens: Chromium's own "Refused to …" console message, and the securitypolicyviolation
    event, which a script added to every page (not subject to the policy) reports."""
    context.add_init_script(CSP_VIOLATION_REPORTER)
    page.on(
        "console",
        lambda m: violations.append(m.text) if is_csp_violation(m.text) else None,
    )


@pytest.fixture
def csp_violations():
    """What the ``page``'s Content-Security-Policy has refused so far (also checked at the
    test's end), for a test that looks after each page it opens."""
    return []


@pytest.fixture
def page(browser, csp_violations):
    """A fresh browser context (no cookies) and page per test.

    Any HTTP 5xx answer from the live server fails the test at teardown, even when the
    test's own assertions did not look at that response; so does anything the page's
    Content-Security-Policy refused (an inline script or style, a foreign resource).
    """
    context = browser.new_context(
        locale="nb-NO",
        timezone_id="Europe/Oslo",
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    server_errors = []
    page_errors = []
    watch_content_policy(context, page, csp_violations)
    page.on(
        "response",
        lambda r: (
            server_errors.append(f"{r.status} {r.request.method} {r.url}")
            if r.status >= 500
            else None
        ),
    )
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    yield page
    context.close()
    assert not server_errors, f"the server answered with an error: {server_errors}"
    assert not page_errors, f"JavaScript errors on the page: {page_errors}"
    assert not csp_violations, f"the Content-Security-Policy refused: {csp_violations}"


CSP_VIOLATION_REPORTER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI} at ${e.documentURI}`);
});
"""


def is_csp_violation(text: str) -> bool:
    return (
        text.startswith("CSP violation:")
        or text.startswith("Refused to")
        or "Content Security Policy" in text
    )


@pytest.fixture
def browser_world(transactional_db, world):
    """The shared ``world``, built in the transactional database that ``live_server`` needs.

    A transactional test flushes the tables afterwards, which also empties the course
    catalog seeded by a data migration; make sure at least one active course exists.
    """
    from tests import factories

    factories.course()
    return world


@pytest.fixture
def artifacts_dir():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def oidc_provider(request, tmp_path_factory):
    """A real OpenID Connect provider (oidc-provider-mock) in a server process of its own,
    for the module, offering the people in the test module's ``OIDC_USERS`` (claims with a
    ``sub``) on its login page and checking Pålegg's private_key_jwt assertions. Stopped
    when the module's tests are done."""
    from tests import oidc_mock

    provider = oidc_mock.start(
        getattr(request.module, "OIDC_USERS", []), tmp_path_factory.mktemp("oidc")
    )
    yield provider
    provider.stop()


@pytest.fixture
def offline_page(page):
    """The page, with the mock provider's stylesheet (from a CDN) not fetched: the tests and
    the demo run with no network."""
    page.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())
    return page
