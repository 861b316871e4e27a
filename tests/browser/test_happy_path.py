"""One order carried through the whole happy path in a real browser, by the three people
who take part: the authority's caseworker, the municipality's leader and the GP.

Elements are located by form field names/ids, URLs and CSS classes, never by text: the
interface text is translated and may change.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from viewflow.workflow.status import PROCESS

from orders import selectors
from orders.models import Order
from tests import factories
from tests.factories import PASSWORD
from tests.orders import lifecycle

SUBMIT = "main form[method=post] [type=submit]"
SUCCESS_MESSAGE = ".messages[role=status] .message-success"
ERROR_SUMMARY = "#error-summary[role=alert]"
TASK_LINKS = 'a[href*="/steg/"]'


# --- helpers -------------------------------------------------------------------------


def log_in(page, live_server, user):
    page.goto(f"{live_server.url}/logg-inn/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click(SUBMIT)
    assert page.url == f"{live_server.url}/oppgaver/", "login did not land on the task list"
    assert page.locator(".user-box strong").inner_text() == str(user)


def log_out(page, live_server):
    with page.expect_navigation():
        page.click(".user-box form button[type=submit]")
    assert page.url == f"{live_server.url}/logg-inn/"
    assert page.locator(".user-box").count() == 0


def submit(page):
    """Submit the page's main form; return the status of the POST answer."""
    with (
        page.expect_navigation(),
        page.expect_response(lambda r: r.request.method == "POST") as answer,
    ):
        page.click(SUBMIT)
    status = answer.value.status
    assert status < 500, f"the form answered {status}"
    return status


def open_task(page, live_server, order):
    """Open this order's only task for the logged-in user from /oppgaver/."""
    page.goto(f"{live_server.url}/oppgaver/")
    links = page.locator(f'{TASK_LINKS}[href^="/saker/{order.pk}/steg/"]')
    assert links.count() == 1, "expected exactly one open task on the order in /oppgaver/"
    with page.expect_navigation():
        links.click()
    assert f"/saker/{order.pk}/steg/" in page.url


def assert_on_case_page(page, live_server, order):
    assert page.url == f"{live_server.url}/saker/{order.pk}/"
    assert page.locator(SUCCESS_MESSAGE).count() == 1, "no success message after the step"


def open_steps(order):
    return [task.flow_task.name for task in selectors.open_tasks_of(order)]


def state_of(order):
    order = Order.objects.get(pk=order.pk)
    return order.status, open_steps(order)


def focused(page):
    """id, or name, or class of the element that has keyboard focus."""
    return page.evaluate(
        "() => { const e = document.activeElement;"
        " return e.id || e.getAttribute('name') || e.className || e.tagName; }"
    )


def write_pdf(path):
    path.write_bytes(
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
        b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )
    return path


def fill_issue_form(page, world, *, case_number, hpr_number):
    today = timezone.localdate()
    page.select_option("#id_issuing_authority", str(world.authority.pk))
    page.locator("#id_case_number").press_sequentially(case_number)
    page.fill("#id_hpr_number", hpr_number)
    page.fill("#id_municipality_number", "")
    page.select_option("#id_caseworker", str(world.caseworker.pk))
    page.fill("#id_decision_date", (today - timedelta(days=14)).isoformat())
    page.fill("#id_grounds_summary", "Syntetisk begrunnelse fra nettlesertesten.")
    page.check("#id_requires_course")
    page.fill("#id_requirements", "Gjennomføre en SKIL-kvalitetspakke.")
    page.fill("#id_deadline", (today + timedelta(days=180)).isoformat())


# --- tests ---------------------------------------------------------------------------


def test_issue_form_is_usable_by_keyboard_and_reports_errors(
    browser_world, live_server, page, artifacts_dir
):
    world = browser_world
    log_in(page, live_server, world.caseworker)
    page.goto(f"{live_server.url}/saker/ny/")

    # The stylesheet is served and applied (the header is the brand colour).
    header_colour = page.eval_on_selector(
        ".site-header", "e => getComputedStyle(e).backgroundColor"
    )
    assert header_colour == "rgb(11, 79, 138)"

    # The first Tab reaches the skip link; following it and tabbing on lands in the form.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.classList.contains('skip-link')")
    assert page.locator(".skip-link").is_visible(), "the focused skip link is not shown"
    page.keyboard.press("Enter")
    # Following an in-page link updates the address a moment after the key press (under load
    # in CI, after Playwright's next look at it): wait for it rather than read it at once.
    page.wait_for_function("() => location.hash === '#main'")
    assert page.url.endswith("#main")
    page.keyboard.press("Tab")
    assert focused(page) == "id_issuing_authority"
    # The keyboard focus is visible (the site's :focus-visible outline).
    assert (
        page.eval_on_selector("#id_issuing_authority", "e => getComputedStyle(e).outlineStyle")
        == "solid"
    )
    page.keyboard.press("Tab")
    assert focused(page) == "id_case_number"
    page.keyboard.type("2026/77")
    page.keyboard.press("Tab")
    assert focused(page) == "id_hpr_number"
    assert page.input_value("#id_case_number") == "2026/77"

    # An empty form (the browser does not validate: the form is novalidate) is answered
    # with an error summary the screen reader announces, and no 500.
    page.goto(f"{live_server.url}/saker/ny/")
    assert submit(page) == 200
    summary = page.locator(ERROR_SUMMARY)
    assert summary.is_visible()
    assert summary.locator("a[href='#id_case_number']").count() == 1
    assert summary.locator("a[href='#id_hpr_number']").count() == 1
    assert summary.locator("a[href='#id_requires_course']").count() == 1
    assert page.get_attribute("#id_case_number", "aria-invalid") == "true"
    page.screenshot(path=str(artifacts_dir / "issue-form-errors.png"), full_page=True)
    # The summary's links move the keyboard user to the field.
    summary.locator("a[href='#id_case_number']").click()
    assert focused(page) == "id_case_number"
    assert Order.objects.count() == 0


def test_order_happy_path_through_three_logins(
    browser_world, live_server, page, tmp_path, artifacts_dir
):
    world = browser_world
    today = timezone.localdate()

    # (1) The caseworker registers the order.
    log_in(page, live_server, world.caseworker)
    page.click('.nav a[href="/saker/ny/"]')
    page.wait_for_url(f"{live_server.url}/saker/ny/")
    fill_issue_form(page, world, case_number="2026/4711", hpr_number=world.gp.hpr_number)
    assert submit(page) == 302
    order = Order.objects.get(case_number="2026/4711")
    assert_on_case_page(page, live_server, order)
    assert order.health_personnel == world.gp
    assert order.municipality == world.municipality  # taken from the GP, field left blank
    assert order.requires_course and not order.requires_supervision
    assert state_of(order) == (PROCESS.NEW, ["plan_measures"])
    # The caseworker cannot take the municipality's step: no step link on the case page.
    assert page.locator(TASK_LINKS).count() == 0
    log_out(page, live_server)

    # (2) The municipality's leader acknowledges receipt and plans a course.
    log_in(page, live_server, world.leader)
    open_task(page, live_server, order)
    page.check("input[name=received]")
    page.select_option("select[name=tiltak-0-kind]", "course")
    course_pk = page.locator(
        "select[name=tiltak-0-course] option:not([value=''])"
    ).first.get_attribute("value")
    page.select_option("select[name=tiltak-0-course]", course_pk)
    planned = today + timedelta(days=60)
    page.fill("input[name=tiltak-0-planned_completion]", planned.isoformat())
    assert submit(page) == 302
    assert_on_case_page(page, live_server, order)
    assert state_of(order) == (PROCESS.NEW, ["acknowledge"])
    measure = order.measures.get()
    assert (measure.kind, str(measure.course_id), measure.planned_completion) == (
        "course",
        course_pk,
        planned,
    )
    log_out(page, live_server)

    # (3) The GP accepts the plan.
    log_in(page, live_server, world.gp_user)
    open_task(page, live_server, order)
    page.check("input[name=accepted]")
    assert submit(page) == 302
    assert_on_case_page(page, live_server, order)
    assert state_of(order) == (PROCESS.NEW, ["confirm_completion"])
    log_out(page, live_server)

    # The course is carried out: enrolment, course terms, meetings or completion (through the
    # services; the measure pages have tests of their own).
    lifecycle.complete_measures(order, world.leader)

    # (4) The leader confirms completion with a course certificate; nothing is left undone,
    # so no reason is asked for.
    evidence = write_pdf(tmp_path / "kursbevis.pdf")
    log_in(page, live_server, world.leader)
    open_task(page, live_server, order)
    assert page.locator("textarea[name^=reason_]").count() == 0
    page.fill("textarea[name=note]", "Kurset er gjennomført, kursbevis vedlagt.")
    page.set_input_files("input[name=files]", str(evidence))
    page.select_option("select[name=document_kind]", "certificate")
    assert submit(page) == 302
    assert_on_case_page(page, live_server, order)
    assert state_of(order) == (PROCESS.NEW, ["sign_off"])
    document = order.documents.get()
    assert (document.original_name, document.content_type, document.kind) == (
        "kursbevis.pdf",
        "application/pdf",
        "certificate",
    )
    assert order.confirmations.get().documents.get() == document
    # The document is listed on the case page and downloadable.
    assert page.locator(f'a[href="/saker/{order.pk}/dokumenter/{document.pk}/"]').count() == 1
    log_out(page, live_server)

    # (5) The caseworker signs the order off as fulfilled.
    log_in(page, live_server, world.caseworker)
    open_task(page, live_server, order)
    page.check("input[name=outcome][value=fulfilled]")
    assert submit(page) == 302
    assert_on_case_page(page, live_server, order)
    assert state_of(order) == (PROCESS.DONE, [])
    assert order.reviews.get().outcome == "fulfilled"
    assert order.measures.get().status == "completed"

    # The case page shows the closed, read-only case: no steps, no case actions.
    page.reload()
    assert page.locator(".status-line .tag-closed").is_visible()
    assert page.locator(TASK_LINKS).count() == 0
    assert page.locator("section.actions").count() == 0
    assert page.locator(f'a[href="/saker/{order.pk}/dokumenter/{document.pk}/"]').count() == 1
    assert page.locator(".decisions li").count() == 2  # the confirmation and the review
    page.screenshot(path=str(artifacts_dir / "case-page.png"), full_page=True)

    # Nobody has anything left to do on this order.
    page.goto(f"{live_server.url}/oppgaver/")
    assert page.locator(TASK_LINKS).count() == 0


def test_confirmation_asks_why_a_measure_was_not_carried_out(
    browser_world, live_server, page, tmp_path
):
    world = browser_world
    order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=4712
    )
    lifecycle.plan(order, world.leader)
    lifecycle.acknowledge(order)
    measure = order.measures.get()
    reason = f"textarea[name=reason_{measure.pk}]"
    evidence = write_pdf(tmp_path / "deltakerliste.pdf")

    log_in(page, live_server, world.leader)
    open_task(page, live_server, order)
    assert page.locator("textarea[name^=reason_]").count() == 1
    page.fill("textarea[name=note]", "Kurset er påbegynt, ikke fullført.")
    page.set_input_files("input[name=files]", str(evidence))
    page.select_option("select[name=document_kind]", "attendance")
    # Without a reason the confirmation is refused, with the field named in the summary.
    assert submit(page) == 200
    summary = page.locator(ERROR_SUMMARY)
    assert summary.locator(f"a[href='#id_reason_{measure.pk}']").count() == 1
    assert page.get_attribute(reason, "aria-invalid") == "true"
    assert state_of(order) == (PROCESS.NEW, ["confirm_completion"])
    assert order.documents.count() == 0

    page.fill(reason, "Legen ble sykmeldt midt i kursperioden.")
    page.set_input_files("input[name=files]", str(evidence))
    assert submit(page) == 302
    assert_on_case_page(page, live_server, order)
    assert state_of(order) == (PROCESS.NEW, ["sign_off"])
    measure.refresh_from_db()
    assert (measure.status, measure.incomplete_reason) == (
        "not_completed",
        "Legen ble sykmeldt midt i kursperioden.",
    )


@pytest.mark.parametrize(
    "hpr_number",
    [
        pytest.param("12345", id="malformed"),
        pytest.param("7654321", id="unknown"),
    ],
)
def test_invalid_hpr_number_shows_field_error_and_keeps_input(
    browser_world, live_server, page, hpr_number
):
    world = browser_world
    log_in(page, live_server, world.caseworker)
    page.goto(f"{live_server.url}/saker/ny/")
    fill_issue_form(page, world, case_number="2026/99", hpr_number=hpr_number)
    assert submit(page) == 200

    field = page.locator(".field.field-error", has=page.locator("#id_hpr_number"))
    assert field.count() == 1, "the HPR field is not marked as having an error"
    error = page.locator("#id_hpr_number_error")
    assert error.is_visible() and error.inner_text().strip()
    assert page.get_attribute("#id_hpr_number", "aria-invalid") == "true"
    assert "id_hpr_number_error" in page.get_attribute("#id_hpr_number", "aria-describedby")
    assert page.locator(ERROR_SUMMARY).locator("a[href='#id_hpr_number']").count() == 1
    # Only the HPR field is in error.
    assert page.locator(".field.field-error").count() == 1

    # What was typed is still there.
    today = timezone.localdate()
    assert page.input_value("#id_hpr_number") == hpr_number
    assert page.input_value("#id_case_number") == "2026/99"
    assert page.input_value("#id_caseworker") == str(world.caseworker.pk)
    assert page.input_value("#id_decision_date") == (today - timedelta(days=14)).isoformat()
    assert page.input_value("#id_deadline") == (today + timedelta(days=180)).isoformat()
    assert page.input_value("#id_grounds_summary") == "Syntetisk begrunnelse fra nettlesertesten."
    assert page.input_value("#id_requirements") == "Gjennomføre en SKIL-kvalitetspakke."
    assert page.is_checked("#id_requires_course")
    assert not page.is_checked("#id_requires_supervision")
    assert Order.objects.count() == 0
