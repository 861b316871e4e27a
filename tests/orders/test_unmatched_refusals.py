"""Every refusal is logged, also a 404 that no view has logged: a URL that matches no page (a
NUL where a municipality number goes) or one outside any case."""

import pytest

from audit.models import AccessEvent
from tests.orders import http_flow


@pytest.mark.parametrize("path", ["/kommuner/%00/", "/kommuner/%00/ledere/utnevn/", "/finnes-ikke/"])
def test_a_signed_in_users_404_on_an_unmatched_url_is_logged_once(world, client_for, path):
    client = client_for(world.leader)

    response = client.get(path)

    assert response.status_code == 404
    # Logging in is an event of its own.
    events = list(AccessEvent.objects.filter(user=world.leader).exclude(action="login"))
    assert [(e.action, e.outcome) for e in events] == [("open_page", "refused")]
    assert "\x00" not in events[0].target_id and "\x00" not in events[0].detail
    assert events[0].role == "leader"


def test_a_404_a_view_has_logged_is_not_logged_twice(world, order, client_for):
    client = client_for(world.other_leader)

    response = client.get(http_flow.case_url(order))

    assert response.status_code == 404
    events = AccessEvent.objects.filter(user=world.other_leader).exclude(action="login")
    assert [(e.action, e.outcome) for e in events] == [("view_case", "refused")]


def test_anonymous_404_writes_nothing(db, client):
    assert client.get("/finnes-ikke/").status_code == 404
    assert not AccessEvent.objects.exists()
