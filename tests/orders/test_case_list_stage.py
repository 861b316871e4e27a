"""What the case list says of a case's stage: a case the authority sent back has a status of
its own, not "measures under way" like any other."""

from django.utils import translation

from orders import selectors
from orders.models import Review
from tests import factories
from tests.orders import lifecycle


def stage_in_list(client, order) -> str:
    response = client.get("/saker/", {"state": "open"})
    (row,) = [o for o in response.context["page"].object_list if o.pk == order.pk]
    return row.stage


def test_a_case_sent_back_says_so_in_the_list_until_it_is_confirmed_again(world, client_for):
    order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=61
    )
    lifecycle.advance(order, world.leader, "sign_off", complete=True)
    client = client_for(world.caseworker)
    with translation.override("nb"):
        before = stage_in_list(client, order)
        assert before != selectors.SENT_BACK
        lifecycle.sign_off(
            order, world.caseworker, outcome=Review.Outcome.RETURNED, reason="Mangler bevis."
        )
        assert stage_in_list(client, order) == selectors.SENT_BACK
        assert str(selectors.SENT_BACK).startswith("Sendt tilbake")
        # Confirmed again: waiting for the authority's sign-off, as before.
        lifecycle.confirm(order, world.leader)
        assert stage_in_list(client, order) == before


def test_the_gp_lands_on_their_tasks_and_the_orders_about_them(world, client_for):
    """With nothing to do, the GP's landing page still shows the orders about them, with
    their stage and next deadline, and leads to their courses and supervision."""
    orders = [
        factories.issue_order(
            caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=n
        )
        for n in (71, 72, 73)
    ]
    response = client_for(world.gp_user).get("/oppgaver/")
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 0  # nothing to do yet: plans come first
    listed = [o.pk for o in response.context["own_cases"]]
    assert sorted(listed) == sorted(o.pk for o in orders)
    html = response.content.decode()
    assert all(o.case_number in html for o in orders)
    assert "/mine-tiltak/" in html
    # Nobody else's landing page has the section.
    other = client_for(world.leader).get("/oppgaver/")
    assert other.context["own_cases"] == []


def test_the_case_page_shows_the_five_steps_where_the_case_is_and_what_is_next(
    world, client_for
):
    from orders.access import Capabilities

    order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=81
    )

    def states():
        shown = selectors.order_for(Capabilities.of(world.caseworker), order.pk)
        return [s.state for s in selectors.progress_of(shown)]

    assert states() == ["done", "current", "later", "later", "later"]
    response = client_for(world.leader).get(f"/saker/{order.pk}/")
    html = response.content.decode()
    assert html.count('aria-current="step"') == 1
    assert response.context["next_due"].kind == "planning"
    assert 'class="next-step"' in html

    lifecycle.advance(order, world.leader, "sign_off", complete=True)
    assert states() == ["done", "done", "done", "done", "current"]
    lifecycle.sign_off(order, world.caseworker)
    assert states() == ["done"] * 5
    closed = client_for(world.leader).get(f"/saker/{order.pk}/")
    assert 'aria-current="step"' not in closed.content.decode()
    assert closed.context["next_due"] is None


def test_a_withdrawn_case_stops_where_it_was(world):
    from orders import services
    from orders.access import Capabilities

    order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=82
    )
    services.withdraw_order(order=order, acting_user=world.caseworker, reason="Trukket.")
    shown = selectors.order_for(Capabilities.of(world.caseworker), order.pk)
    assert [s.state for s in selectors.progress_of(shown)] == ["done"] + ["later"] * 4
