"""The Content-Security-Policy (no inline scripts or styles, nothing from other sites) refuses
nothing on representative pages in a real browser: the login, a case page, the issue form with
its type-ahead, the plan-measures form and the two-factor set-up with its QR code. The ``page``
fixture fails any browser test whose pages the policy refused something on; here each page is
checked as it is opened, and the watch itself is shown to catch a refusal."""

from tests import factories
from tests.browser.conftest import watch_content_policy
from tests.browser.test_happy_path import log_in, log_out, open_task
from tests.factories import PASSWORD


def open_page(page, url, violations):
    response = page.goto(url)
    assert response.status == 200, url
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "unsafe-inline" not in policy
    # The stylesheet is applied: the policy let it through (the header is the brand colour).
    assert (
        page.eval_on_selector(".site-header", "e => getComputedStyle(e).backgroundColor")
        == "rgb(11, 79, 138)"
    )
    assert not violations, f"{url}: the Content-Security-Policy refused {violations}"


def test_representative_pages_need_nothing_the_policy_refuses(
    browser_world, live_server, page, csp_violations
):
    world = browser_world
    order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=4321
    )

    open_page(page, f"{live_server.url}/logg-inn/", csp_violations)
    log_in(page, live_server, world.caseworker)
    open_page(page, f"{live_server.url}/saker/{order.pk}/", csp_violations)
    open_page(page, f"{live_server.url}/saker/ny/", csp_violations)
    # The type-ahead (static/js) asks the server for matches.
    with page.expect_response(lambda r: "q=9000" in r.url) as lookup:
        page.locator("#id_hpr_number").press_sequentially("9000")
    assert lookup.value.status == 200
    assert not csp_violations, csp_violations
    log_out(page, live_server)

    log_in(page, live_server, world.leader)
    open_task(page, live_server, order)
    assert page.locator("main form[method=post]").count() == 1, "no plan-measures form"
    open_page(page, page.url, csp_violations)
    log_out(page, live_server)

    # An administrator's first password login leads to the two-factor set-up.
    admin = factories.administrator_for(world.authority, username="admin")
    open_page(page, f"{live_server.url}/logg-inn/", csp_violations)
    page.fill("#id_username", admin.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("main form[method=post] [type=submit]")
    page.wait_for_url("**/logg-inn/kode/ny/**")
    assert page.locator("figure.qr svg").count() == 1, "no QR code on the set-up page"
    open_page(page, page.url, csp_violations)


def test_the_watch_reports_an_inline_script_and_style(browser, live_server, transactional_db):
    context = browser.new_context()
    try:
        page = context.new_page()
        violations = []
        watch_content_policy(context, page, violations)
        page.goto(f"{live_server.url}/logg-inn/")
        with page.expect_console_message(lambda m: "script-src" in m.text):
            page.evaluate(
                """() => {
                  const script = document.createElement("script");
                  script.textContent = "window.inlineRan = true";
                  document.body.append(script);
                }"""
            )
        with page.expect_console_message(lambda m: "style-src" in m.text):
            page.evaluate('() => document.body.setAttribute("style", "color: red")')
        assert page.evaluate("() => window.inlineRan") is None, "an inline script ran"
        assert any("script-src" in v for v in violations), violations
        assert any("style-src" in v for v in violations), violations
    finally:
        context.close()
