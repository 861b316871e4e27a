"""The type-ahead behind the issue form: /oppslag/helsepersonell/?q= finds health personnel by
the start of their HPR number or part of their name, for those who may issue orders only."""

import pytest

from audit.models import AccessEvent
from tests import factories

URL = "/oppslag/helsepersonell/"


@pytest.fixture
def people(world):
    """A handful of named people besides the world's two GPs (HPR 9000001, 9000002), whose
    random names are replaced so that no fragment below matches them by chance."""
    for personnel, name in ((world.gp, "Gunnar Fastlege"), (world.other_gp, "Olga Annenlege")):
        personnel.name = name
        personnel.save()
    return {
        "solveig": factories.HealthPersonnelFactory(
            name="Solveig Haugtussa",
            hpr_number="7123456",
            municipality=world.municipality,
            user=None,
        ),
        "per": factories.HealthPersonnelFactory(
            name="Per Haugtussen",
            hpr_number="7123999",
            municipality=world.other_municipality,
            user=None,
        ),
        "kari": factories.HealthPersonnelFactory(
            name="Kari Liljevalch",
            hpr_number="712345678",
            municipality=world.municipality,
            user=None,
        ),
    }


def lookup(client, q):
    response = client.get(URL, {"q": q})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return response.json()["results"]


def hprs(results):
    return sorted(r["hpr"] for r in results)


def test_finds_personnel_by_the_start_of_the_hpr_number(world, people, client_for):
    client = client_for(world.caseworker)

    assert hprs(lookup(client, "7123")) == ["7123456", "712345678", "7123999"]
    assert hprs(lookup(client, "71234")) == ["7123456", "712345678"]
    assert hprs(lookup(client, "9000001")) == [world.gp.hpr_number]
    assert hprs(lookup(client, "23456")) == []  # not from the middle of the number


def test_a_match_carries_what_the_issue_form_fills_in(world, people, client_for):
    (result,) = lookup(client_for(world.caseworker), "7123999")

    assert result["hpr"] == "7123999"
    assert result["name"] == "Per Haugtussen"
    assert result["municipality_number"] == world.other_municipality.number
    assert result["municipality"] == world.other_municipality.name
    assert result["profession"]
    assert set(result) == {"hpr", "name", "profession", "municipality_number", "municipality"}


@pytest.mark.parametrize(
    "q, expected",
    [
        ("haugtus", ["7123456", "7123999"]),
        ("HAUGTUS", ["7123456", "7123999"]),
        ("Haugtussen", ["7123999"]),
        ("veig hau", ["7123456"]),
        ("  liljev  ", ["712345678"]),
        ("fastlege", ["9000001"]),
        ("ingen slik person", []),
    ],
)
def test_finds_personnel_by_part_of_the_name(world, people, client_for, q, expected):
    assert hprs(lookup(client_for(world.caseworker), q)) == expected


def test_returns_at_most_ten_matches(world, client_for):
    for i in range(15):
        factories.HealthPersonnelFactory(
            name=f"Mange Treff {i}", hpr_number=f"{6000000 + i}", user=None
        )
    client = client_for(world.caseworker)

    assert len(lookup(client, "Mange Treff")) == 10
    assert len(lookup(client, "600000")) == 10
    assert len(lookup(client, "6000014")) == 1


@pytest.mark.parametrize("q", ["", " ", "7", "  7  ", "a"])
def test_a_term_shorter_than_two_characters_gives_no_results(world, people, client_for, q):
    assert lookup(client_for(world.caseworker), q) == []


def test_a_missing_term_gives_no_results(world, people, client_for):
    response = client_for(world.caseworker).get(URL)
    assert response.status_code == 200
    assert response.json() == {"results": []}


@pytest.mark.parametrize("q", ["%", "%%", "__", "'; --", "\\\\", "x" * 500, "æøå"])
def test_odd_terms_never_fail(world, people, client_for, q):
    assert lookup(client_for(world.caseworker), q) == []


def test_a_group_caseworker_may_look_up(world, people, client_for):
    user = factories.caseworker_via_group(world.authority, username="gruppe.saksbehandler")
    assert hprs(lookup(client_for(user), "7123")) == ["7123456", "712345678", "7123999"]


@pytest.mark.parametrize("who", ["leader", "other_leader", "gp_user", "other_gp_user"])
def test_people_who_may_not_issue_get_404(world, people, client_for, who):
    user = getattr(world, who)
    response = client_for(user).get(URL, {"q": "7123"})

    assert response.status_code == 404
    assert "7123456" not in response.content.decode()
    # The refused attempt is logged, without the term (nothing was searched).
    events = AccessEvent.objects.filter(action="search_personnel")
    assert [(e.user, e.outcome, e.detail) for e in events] == [(user, "refused", "")]


def test_an_administrator_who_is_not_caseworker_gets_404(world, people, client_for):
    admin = factories.administrator_for(world.authority, username="admin")
    assert client_for(admin).get(URL, {"q": "7123"}).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(world, people, client):
    response = client.get(URL, {"q": "7123"})

    assert response.status_code == 302
    assert response["Location"].startswith("/logg-inn/?next=")
    assert not AccessEvent.objects.filter(action="search_personnel").exists()


def test_each_lookup_is_logged_with_the_user_and_the_number_of_matches(world, people, client_for):
    client = client_for(world.caseworker)

    lookup(client, "7123")
    lookup(client, "ingen slik person")

    events = list(
        AccessEvent.objects.filter(action="search_personnel")
        .order_by("pk")
        .values_list("user_id", "target_type", "target_id", "outcome")
    )
    assert events == [
        (world.caseworker.pk, "search", "3", "shown"),
        (world.caseworker.pk, "search", "0", "shown"),
    ]
    # The search term itself (which may be a name) is not written to the log.
    assert not AccessEvent.objects.filter(target_id__icontains="7123").exists()
