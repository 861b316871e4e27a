"""The plan-measures form: one measure to begin with, «Legg til tiltak» for another (without
JavaScript: the server sends the page back with what was typed and one measure more, saving
and checking nothing), the fields grouped by the kind of measure they belong to."""

from courses.models import Measure
from tests import factories
from tests.orders import lifecycle
from tests.orders.test_access import step_data

ADD = {"legg_til_tiltak": "1"}


def plan_url(order):
    task = lifecycle.open_task(order, "plan_measures")
    return f"/saker/{order.pk}/steg/{task.pk}/"


def test_the_form_starts_with_one_measure_and_adds_one_at_a_time(world, client_for):
    order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=91
    )
    leader = client_for(world.leader)
    url = plan_url(order)
    page = leader.get(url)
    assert page.context["formset"].total_form_count() == 1
    html = page.content.decode()
    assert 'name="legg_til_tiltak"' in html
    assert 'data-kind="course"' in html and 'data-kind="supervision"' in html

    typed = step_data("plan_measures")
    grown = leader.post(url, {**typed, **ADD})
    assert grown.status_code == 200
    formset = grown.context["formset"]
    assert formset.total_form_count() == 2
    first = formset.forms[0]
    assert first["description"].value() == "SKIL-pakke"
    assert str(first["course"].value()) == typed["tiltak-0-course"]
    assert 'id="error-summary"' not in grown.content.decode()  # nothing was checked
    assert not Measure.objects.filter(order=order).exists()  # nor saved
    assert lifecycle.open_task(order, "plan_measures")  # the step is still open

    # The second measure typed in the new row, then saved: both are planned.
    supervisor = lifecycle.supervisor_for(order)
    data = {
        **typed,
        "tiltak-TOTAL_FORMS": "2",
        "tiltak-INITIAL_FORMS": "1",
        "tiltak-1-kind": "supervision",
        "tiltak-1-supervisor_hpr": supervisor.hpr_number,
        "tiltak-1-description": "Veiledning",
        "tiltak-1-planned_completion": typed["tiltak-0-planned_completion"],
    }
    saved = leader.post(url, data)
    assert saved.status_code == 302, saved.context and saved.context["formset"].errors
    kinds = sorted(Measure.objects.filter(order=order).values_list("kind", flat=True))
    assert kinds == ["course", "supervision"]


def test_adding_stops_at_the_most_measures_a_plan_may_have(world, client_for):
    order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=92
    )
    leader = client_for(world.leader)
    data = {**step_data("plan_measures"), "tiltak-TOTAL_FORMS": "10", **ADD}
    page = leader.post(plan_url(order), data)
    assert page.status_code == 200
    assert page.context["formset"].total_form_count() == 10
    assert 'name="legg_til_tiltak"' not in page.content.decode()
    # A hand-edited count is no error either.
    bad = leader.post(plan_url(order), {**data, "tiltak-TOTAL_FORMS": "x"})
    assert bad.status_code == 200
