"""The case page's deadlines tell the truth: a deadline met after its day says it was met late,
one of a withdrawn order that nobody met lapsed with it, and the completion deadline is one date
everywhere — the one moved off a holiday, with the date it was set to noted beside it."""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from courses.models import Measure
from orders import services
from tests import factories
from tests.orders import lifecycle

OSLO = ZoneInfo("Europe/Oslo")


def at(day, hour=9):
    return datetime(day.year, day.month, day.day, hour, tzinfo=OSLO)


def deadline_rows(html) -> dict[str, str]:
    """The deadline table's rows by their label (the row's text, tags stripped)."""
    table = html.split('class="list deadlines"', 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr class=\"deadline-.*?</tr>", table, re.S):
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
        label = re.search(r"<th scope=\"row\">(.*?)</th>", row, re.S).group(1).strip()
        rows[label] = text
    return rows


def issued(world, deadline=date(2027, 9, 1)):
    return factories.issue_order(
        caseworker=world.caseworker,
        authority=world.authority,
        personnel=world.gp,
        deadline=deadline,
    )


def case_page(client_for, user, order):
    response = client_for(user).get(reverse("orders:case_detail", args=[order.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_course_terms_accepted_after_the_deadline_show_as_met_late(world, client_for, time_machine):
    time_machine.move_to(at(date(2027, 1, 4)), tick=False)
    order = issued(world)
    lifecycle.plan(order, world.leader)
    lifecycle.acknowledge(order)
    measure = Measure.objects.get(order=order, kind=Measure.Kind.COURSE)
    services.enrol_in_course(
        measure=measure, acting_user=world.leader, enrolled_on=date(2027, 1, 4)
    )
    # The terms were due 18 January; they are accepted on 1 February, 14 days late.
    time_machine.move_to(at(date(2027, 2, 1)), tick=False)
    services.accept_course_terms(measure=measure, acting_user=world.gp_user)

    terms = deadline_rows(case_page(client_for, world.caseworker, order))["Kursvilkår godtatt"]
    assert "Oppfylt for sent" in terms
    assert "oppfylt etter fristen, 14 dager for sent" in terms
    assert "Overholdt" not in terms


def test_deadlines_met_in_time_show_as_met(world, client_for, time_machine):
    time_machine.move_to(at(date(2027, 1, 4)), tick=False)
    order = issued(world)
    lifecycle.plan(order, world.leader)
    rows = deadline_rows(case_page(client_for, world.caseworker, order))
    assert rows["Tiltak planlagt av kommunen"].endswith("Overholdt")


def test_unmet_deadlines_of_a_withdrawn_order_lapsed(world, client_for, time_machine):
    time_machine.move_to(at(date(2027, 1, 4)), tick=False)
    order = issued(world)
    services.withdraw_order(order=order, acting_user=world.caseworker, reason="Feil person.")

    rows = deadline_rows(case_page(client_for, world.caseworker, order))
    for label in ("Tiltak planlagt av kommunen", "Pålegget gjennomført"):
        assert "Bortfalt" in rows[label], rows
        assert "falt bort da pålegget ble trukket tilbake" in rows[label]
        assert "Overholdt" not in rows[label]


def test_a_withdrawn_order_keeps_the_deadlines_it_met(world, client_for, time_machine):
    time_machine.move_to(at(date(2027, 1, 4)), tick=False)
    order = issued(world)
    lifecycle.plan(order, world.leader)
    services.withdraw_order(order=order, acting_user=world.caseworker, reason="Feil person.")

    rows = deadline_rows(case_page(client_for, world.caseworker, order))
    assert rows["Tiltak planlagt av kommunen"].endswith("Overholdt")
    assert "Bortfalt" in rows["Pålegget gjennomført"]


def test_deadlines_of_a_fulfilled_order_show_as_met(world, client_for, time_machine):
    time_machine.move_to(at(date(2027, 1, 4)), tick=False)
    order = issued(world)
    lifecycle.advance(order, world.leader, "sign_off", complete=True)
    lifecycle.sign_off(order, world.caseworker)

    rows = deadline_rows(case_page(client_for, world.caseworker, order))
    assert rows["Tiltak planlagt av kommunen"].endswith("Overholdt")
    assert rows["Pålegget gjennomført"].endswith("Overholdt")
    assert not any("Bortfalt" in text for text in rows.values()), rows


# --- one completion deadline ------------------------------------------------------------

MOVED = "18. mai 2027"
NOTE = "flyttet fra 17. mai 2027"


@pytest.fixture
def order_due_17_may(world, time_machine):
    time_machine.move_to(at(date(2027, 1, 4)), tick=False)
    return issued(world, date(2027, 5, 17))


def _facts(html):
    return html.split('<dl class="facts">', 1)[1].split("</dl>", 1)[0]


def test_case_page_shows_the_moved_completion_deadline_in_facts_and_table(
    world, client_for, order_due_17_may
):
    html = case_page(client_for, world.caseworker, order_due_17_may)
    facts = _facts(html)
    assert MOVED in facts and NOTE in facts
    assert "Grunnlovsdag" in facts  # why it moved
    completion = deadline_rows(html)["Pålegget gjennomført"]
    assert MOVED in completion and NOTE in completion


def test_case_list_shows_the_moved_completion_deadline(world, client_for, order_due_17_may):
    response = client_for(world.caseworker).get(reverse("orders:case_list"))
    row = re.search(
        rf'<tr data-order="{order_due_17_may.pk}".*?</tr>', response.content.decode(), re.S
    ).group(0)
    assert MOVED in row and NOTE in row
    assert re.search(r"<td>\s*17\. mai 2027\s*</td>", row) is None


def test_sign_off_page_shows_the_moved_completion_deadline(world, client_for, order_due_17_may):
    lifecycle.advance(order_due_17_may, world.leader, "sign_off")
    task = lifecycle.open_task(order_due_17_may, "sign_off")
    response = client_for(world.caseworker).get(
        reverse("orders:task_step", args=[order_due_17_may.pk, task.pk])
    )
    assert response.status_code == 200
    facts = _facts(response.content.decode())
    assert MOVED in facts and NOTE in facts


def test_a_deadline_on_a_working_day_has_no_note(world, client_for, time_machine):
    time_machine.move_to(at(date(2027, 1, 4)), tick=False)
    order = issued(world, date(2027, 5, 19))
    facts = _facts(case_page(client_for, world.caseworker, order))
    assert "19. mai 2027" in facts and "flyttet" not in facts


def test_the_next_deadline_and_the_facts_agree(world, client_for, order_due_17_may):
    lifecycle.plan(order_due_17_may, world.leader)
    order_due_17_may.next_deadline.refresh_from_db()
    assert order_due_17_may.next_deadline.due == order_due_17_may.completion.due
    assert order_due_17_may.completion.due == date(2027, 5, 17) + timedelta(days=1)
