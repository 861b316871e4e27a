"""The plan-measures form in a browser: the fields of the other kind of measure are hidden
once a kind is chosen, and «Legg til tiltak» gives one measure more, keeping what was typed."""

from django.urls import reverse

from tests import factories
from tests.browser.test_happy_path import log_in
from tests.orders import lifecycle


def test_kind_shows_its_fields_and_add_gives_one_more_measure(browser_world, live_server, page):
    world = browser_world
    order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=93
    )
    task = lifecycle.open_task(order, "plan_measures")
    log_in(page, live_server, world.leader)
    page.goto(f"{live_server.url}{reverse('orders:task_step', args=[order.pk, task.pk])}")
    measures = page.locator("fieldset[data-measure]")
    assert measures.count() == 1
    course = page.locator("fieldset[data-measure] [data-kind=course]").first
    supervision = page.locator("fieldset[data-measure] [data-kind=supervision]").first
    assert course.is_visible() and supervision.is_visible()  # no kind chosen yet

    page.select_option("select[name=tiltak-0-kind]", "supervision")
    assert supervision.is_visible() and not course.is_visible()
    page.select_option("select[name=tiltak-0-kind]", "course")
    assert course.is_visible() and not supervision.is_visible()
    page.fill("textarea[name=tiltak-0-description]", "SKIL-pakke")

    with page.expect_navigation():
        page.click("button[name=legg_til_tiltak]")
    assert measures.count() == 2
    assert page.input_value("textarea[name=tiltak-0-description]") == "SKIL-pakke"
    assert page.input_value("select[name=tiltak-0-kind]") == "course"
    assert page.locator("#error-summary").count() == 0
    # The first measure keeps its kind's fields only; the new one shows both until chosen.
    assert not page.locator("fieldset[data-measure]").nth(0).locator(
        "[data-kind=supervision]"
    ).is_visible()
    assert page.locator("fieldset[data-measure]").nth(1).locator("[data-kind=course]").is_visible()
