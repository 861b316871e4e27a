"""Issue 6 in a real browser: a GP enrolled in a course has not accepted the course terms and
sees the deadline on the measure page; the clock passes the deadline, and the municipal
leader finds the order marked overdue at the top of the case list.

time_machine patches the clock process-wide (datetime, time), so ``live_server``'s thread
runs on the moved clock too; the test checks that on the GP's page before relying on it.
"""

from datetime import datetime, time, timedelta

import time_machine
from django.utils import formats, timezone, translation

from courses.models import Course, Measure
from orders import services
from tests import factories
from tests.browser.test_happy_path import log_in, log_out
from tests.orders import lifecycle

TERMS = "section[aria-labelledby=enrolment-h] dl.facts dd"
OVERDUE_TAG = ".tag.tag-danger"


def nb_date(value):
    """A date as the (Norwegian) page writes it with ``|date``."""
    with translation.override("nb"):
        return formats.date_format(value)


def test_gp_sees_the_terms_deadline_and_the_leader_sees_the_order_overdue_after_it(
    browser_world, live_server, page, artifacts_dir
):
    world = browser_world
    course = Course.objects.filter(active=True).first()
    order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=660
    )
    services.plan_measures(
        task=lifecycle.open_task(order, "plan_measures"),
        acting_user=world.leader,
        measures=[
            {
                "kind": Measure.Kind.COURSE,
                "course": course,
                "description": "",
                "planned_completion": timezone.localdate() + timedelta(days=90),
            }
        ],
    )
    measure = order.measures.get()
    services.enrol_in_course(
        measure=measure, acting_user=world.leader, enrolled_on=timezone.localdate()
    )
    measure = Measure.objects.get(pk=measure.pk)
    deadline = measure.terms_deadline
    order.next_deadline.refresh_from_db()
    assert (order.next_deadline.due, order.next_deadline.kind) == (deadline, "terms")
    measure_url = f"{live_server.url}/saker/{order.pk}/tiltak/{measure.pk}/"

    # 1. The GP has not accepted the terms: the measure page gives the deadline, not late.
    log_in(page, live_server, world.gp_user)
    page.goto(measure_url)
    terms = page.locator(TERMS).last
    assert nb_date(deadline) in terms.inner_text()
    assert terms.locator(OVERDUE_TAG).count() == 0
    assert page.locator("#vilkar").count() == 1  # the acceptance form is offered
    log_out(page, live_server)

    # 2. The deadline day is over (Norwegian time): the clock moves, and keeps ticking.
    after = timezone.make_aware(datetime.combine(deadline + timedelta(days=1), time(9)))
    with time_machine.travel(after, tick=True):
        assert timezone.localdate() == deadline + timedelta(days=1)

        # The live server runs on the moved clock: the GP's page now says it is late.
        log_in(page, live_server, world.gp_user)
        page.goto(measure_url)
        assert page.locator(TERMS).last.locator(OVERDUE_TAG).count() == 1
        log_out(page, live_server)

        # 3. The municipal leader sees the order overdue, first in the case list.
        log_in(page, live_server, world.leader)
        page.goto(f"{live_server.url}/saker/")
        first = page.locator("main table.list:not(.deadline-overview) tbody tr").first
        assert first.get_attribute("data-order") == str(order.pk)
        marker = first.locator(".next-deadline.overdue")
        assert marker.locator(OVERDUE_TAG).count() == 1
        assert marker.locator("time").get_attribute("datetime") == deadline.isoformat()
        overview = page.locator(f"tr[data-organisation='municipality:{world.municipality.pk}']")
        assert overview.locator(".count-overdue").inner_text() == "1"

        # The "Overdue" filter keeps it.
        page.select_option("#id_due", "overdue")
        with page.expect_navigation():
            page.click("form.filters [type=submit]")
        assert "due=overdue" in page.url
        rows = page.locator("main table.list:not(.deadline-overview) tbody tr")
        assert rows.count() == 1 and rows.first.get_attribute("data-order") == str(order.pk)
        page.screenshot(path=str(artifacts_dir / "deadline-overdue.png"), full_page=True)
