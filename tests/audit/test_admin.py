"""The access log in the operators' admin site: read-only for everyone, superusers included;
every look at it is itself logged; the list neither counts nor searches the whole table."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import audit
from audit import chain
from audit.models import AccessEvent
from config.admin import CappedCountPaginator
from tests.municipalities.login_helpers import last_sequence

EVENTS = "/drift/admin/audit/accessevent/"


def write_events(count, *, case_id="", authority_id=None):
    for n in range(count):
        audit.record(
            action=audit.Action.VIEW_CASE,
            target=f"order:{n}",
            case=type("Case", (), {"pk": case_id or n})(),
            capacity=audit.Capacity("caseworker", "Statsforvalteren i Vestland", authority_id),
        )


@pytest.fixture
def event(world):
    write_events(1, case_id="4711", authority_id=world.authority.pk)
    return AccessEvent.objects.get(case_id="4711")


def test_an_access_event_cannot_be_changed_or_deleted_in_the_admin(event, operator_client):
    url = f"{EVENTS}{event.pk}/"
    page = operator_client.get(f"{url}change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert operator_client.post(f"{url}change/", {"detail": "endret"}).status_code == 403
    assert operator_client.post(f"{url}delete/", {"post": "yes"}).status_code == 403
    assert operator_client.get(f"{url}delete/").status_code == 403
    assert operator_client.get(f"{EVENTS}add/").status_code == 403
    stored = AccessEvent.objects.get(pk=event.pk)
    assert (stored.detail, stored.hash) == (event.detail, event.hash)
    assert chain.verify().broken is None


def test_a_look_at_the_access_log_is_itself_an_access_event(event, operator, operator_client):
    before = last_sequence()
    assert operator_client.get(f"{EVENTS}?outcome=shown").status_code == 200
    assert operator_client.get(f"{EVENTS}{event.pk}/change/").status_code == 200
    looks = AccessEvent.objects.filter(sequence__gt=before).order_by("sequence")
    assert [
        (e.action, e.user, e.role, e.organisation, e.target_type, e.target_id, e.authority_id)
        for e in looks
    ] == [
        ("admin_view", operator, "", "Drift", "audit.accessevent", "", None),
        # The authority whose log it is: its security officer sees the look.
        (
            "admin_view",
            operator,
            "",
            "Drift",
            "audit.accessevent",
            str(event.pk),
            event.authority_id,
        ),
    ]


def test_search_matches_exact_values_only(event, operator_client):
    found = operator_client.get(f"{EVENTS}?q=4711").context["cl"]
    assert [e.pk for e in found.result_list] == [event.pk]
    for term in ("471", "%25", "abc", "9" * 30):
        listed = operator_client.get(f"{EVENTS}?q={term}")
        assert listed.status_code == 200
        assert event.pk not in [e.pk for e in listed.context["cl"].result_list], term
    # A NUL is refused by the search form itself (and the whole list shown).
    assert operator_client.get(f"{EVENTS}?q=%00").status_code == 200


def test_the_list_count_stops_and_its_queries_do_not_grow_with_the_log(
    world, operator_client, monkeypatch
):
    monkeypatch.setattr(CappedCountPaginator, "CAP", 30)
    write_events(10)
    with CaptureQueriesContext(connection) as few:
        assert operator_client.get(EVENTS).status_code == 200
    write_events(40)
    with CaptureQueriesContext(connection) as many:
        listed = operator_client.get(EVENTS)
    assert listed.context["cl"].result_count == 30
    assert len(many) == len(few)
