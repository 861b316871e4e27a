"""Issue 4 in a real browser: the municipal leader enrols the GP in a kvalitetspakke, the GP
accepts the course terms, the leader records the three meetings, and the case page shows the
course complete."""

from datetime import timedelta

from django.utils import timezone

from courses.models import Course, Measure
from orders import services
from tests import factories
from tests.browser.test_happy_path import log_in, log_out
from tests.orders import lifecycle


def _submit_form(page, form_selector):
    with (
        page.expect_navigation(),
        page.expect_response(lambda r: r.request.method == "POST") as answer,
    ):
        page.click(f"{form_selector} [type=submit]")
    assert answer.value.status < 500
    assert page.locator("#error-summary").count() == 0, page.locator("#error-summary").inner_text()


def test_leader_enrols_gp_accepts_and_three_meetings_complete_the_course(
    browser_world, live_server, page, artifacts_dir
):
    world = browser_world
    # Transactional browser tests empty the seeded catalog between tests; make sure it's there.
    course, _ = Course.objects.update_or_create(
        provider=Course.Provider.SKIL,
        title="Vanedannende legemidler (VLM)",
        defaults={"format": Course.Format.QUALITY_PACKAGE, "active": True},
    )
    order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=880
    )
    services.plan_measures(
        task=lifecycle.open_task(order, "plan_measures"),
        acting_user=world.leader,
        measures=[
            {
                "kind": Measure.Kind.COURSE,
                "course": course,
                "description": "",
                "planned_completion": timezone.localdate() + timedelta(days=30),
            }
        ],
    )
    measure = order.measures.get()
    measure_url = f"{live_server.url}/saker/{order.pk}/tiltak/{measure.pk}/"
    today = timezone.localdate()

    # 1. The leader enrols the GP, with the group and its three (past) meeting dates.
    log_in(page, live_server, world.leader)
    page.goto(measure_url)
    page.fill("#pamelding input[name$=enrolled_on]", (today - timedelta(days=10)).isoformat())
    page.fill("#pamelding input[name$=group_name]", "Kollegagruppe Sentrum")
    page.fill("#pamelding input[name$=group_leader]", "Gruppeleder Test")
    for number, days_ago in ((1, 8), (2, 5), (3, 2)):
        page.fill(
            f"#pamelding input[name$=meeting_{number}]",
            (today - timedelta(days=days_ago)).isoformat(),
        )
    _submit_form(page, "#pamelding")
    measure.refresh_from_db()
    assert measure.enrolled_on == today - timedelta(days=10)
    assert measure.meetings.count() == 3
    log_out(page, live_server)

    # 2. The GP sees the deadline and accepts the course terms.
    log_in(page, live_server, world.gp_user)
    page.goto(f"{live_server.url}/mine-tiltak/")
    assert page.locator(f"a[href*='/tiltak/{measure.pk}/']").count() >= 1
    page.goto(measure_url)
    page.check("#vilkar input[type=checkbox]")
    _submit_form(page, "#vilkar")
    measure.refresh_from_db()
    assert measure.terms_accepted_at is not None
    log_out(page, live_server)

    # 3. The leader records attendance at each of the three meetings.
    log_in(page, live_server, world.leader)
    for number in (1, 2, 3):
        page.goto(measure_url)
        page.check(f"#mote-{number} input[type=radio][value=attended]")
        _submit_form(page, f"#mote-{number}")
    assert [m.attendance for m in measure.meetings.order_by("number")] == ["attended"] * 3

    # 4. The case page shows the course complete.
    page.goto(f"{live_server.url}/saker/{order.pk}/")
    measure = Measure.objects.get(pk=measure.pk)
    assert measure.is_complete
    row = page.locator("section[aria-labelledby=measures-h] tbody tr").first
    assert "3" in row.inner_text() and row.locator(".tag").count() == 1
    page.screenshot(path=str(artifacts_dir / "course-complete.png"), full_page=True)
