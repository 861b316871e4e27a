"""The municipality pages: /kommuner/ (the municipalities a user oversees) and
/kommuner/<number>/ (GP offices, GPs and the orders concerning one municipality).

Who oversees Bergen (4601): its leaders, and the people of Statsforvalteren i Vestland, which
covers it; Helsetilsynet oversees every municipality. Everyone else is told it does not exist.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import formats, timezone, translation

from audit.models import AccessEvent
from municipalities.models import Municipality
from orders import selectors
from tests import factories
from tests.orders import http_flow, lifecycle


def overview_url(municipality):
    return f"/kommuner/{municipality.number}/"


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture
def national(db):
    return factories.helsetilsynet()


@pytest.fixture
def national_caseworker(national):
    return factories.caseworker_for(national, username="helsetilsynet.saksbehandler")


@pytest.fixture
def register(world):
    """Two GP offices in Bergen with three GPs, and one office in Trondheim. The world's two
    GPs (``gp``, ``other_gp``) have no office."""
    bergen_a = factories.GPOfficeFactory(name="Bryggen legesenter", municipality=world.municipality)
    bergen_b = factories.GPOfficeFactory(name="Sentrum legekontor", municipality=world.municipality)
    trondheim = factories.GPOfficeFactory(
        name="Bakklandet legesenter", municipality=world.other_municipality
    )
    return {
        "offices": [bergen_a, bergen_b],
        "gps": [
            factories.gp(bergen_a, name="Astrid Fastlege", hpr_number="9200001", list_size=1450),
            factories.gp(
                bergen_a,
                name="Bjørn Fastlege",
                hpr_number="9200002",
                list_size=980,
                list_open=False,
            ),
            factories.gp(
                bergen_b,
                name="Cecilie Fastlege",
                hpr_number="9200003",
                list_size=None,
                list_open=None,
            ),
        ],
        "other_office": trondheim,
        "other_gp": factories.gp(trondheim, name="Trygve Trondsen", hpr_number="9200009"),
    }


@pytest.fixture
def other_order(world):
    """Issued by Trøndelag about a GP in Trondheim."""
    personnel = factories.HealthPersonnelFactory(
        municipality=world.other_municipality, hpr_number="9100001"
    )
    return factories.issue_order(
        caseworker=world.other_caseworker,
        authority=world.other_authority,
        personnel=personnel,
        number=5678,
    )


def page_orders(response):
    return [o.pk for o in response.context["page"].object_list]


def listed_numbers(response):
    assert response.status_code == 200
    return [m.number for m in response.context["page"].object_list]


def nb_date(value):
    """A date as the (Norwegian) page shows it."""
    with translation.override("nb"):
        return formats.localize(value)


def label(stage_key):
    with translation.override("nb"):
        return str(selectors.STAGE_LABELS[stage_key])


# --- the overview -----------------------------------------------------------------------


def offices_listed(response) -> set:
    return {g.gp_office_id for g in response.context["gps"].object_list if g.gp_office_id}


def test_the_leader_sees_the_gp_offices_gps_and_orders_of_their_municipality(
    world, order, other_order, register, client_for
):
    response = client_for(world.leader).get(overview_url(world.municipality))

    assert response.status_code == 200
    context = response.context
    assert context["municipality"] == world.municipality
    listed = context["gps"].object_list
    with_office = [(g.gp_office.name, g.hpr_number) for g in listed if g.gp_office]
    assert with_office == [
        ("Bryggen legesenter", "9200001"),
        ("Bryggen legesenter", "9200002"),
        ("Sentrum legekontor", "9200003"),
    ]
    # Those without an office come last.
    assert sorted(g.pk for g in listed[len(with_office) :]) == sorted(
        [world.gp.pk, world.other_gp.pk, world.supervisor.pk]
    )
    assert page_orders(response) == [order.pk]
    (shown,) = context["page"].object_list
    assert str(shown.stage) == label("plan_measures")
    assert shown.deadline == order.deadline

    content = response.content.decode()
    for text in [
        "Bryggen legesenter",
        register["offices"][0].org_number,
        "Astrid Fastlege",
        "9200001",
        "1450",
        "Cecilie Fastlege",
        world.gp.name,
        world.gp.hpr_number,
        order.case_number,
        label("plan_measures"),
        nb_date(order.deadline),
    ]:
        assert text in content, text
    for text in ["Bakklandet legesenter", "Trygve Trondsen", other_order.case_number]:
        assert text not in content, text


def test_the_overview_follows_the_orders_state(world, order, client_for):
    lifecycle.advance(order, world.leader, "confirm_completion")

    response = client_for(world.leader).get(overview_url(world.municipality))

    (shown,) = response.context["page"].object_list
    assert str(shown.stage) == label("confirm_completion")
    assert label("confirm_completion") in response.content.decode()


def test_the_overview_lists_orders_by_deadline_also_from_other_issuers(
    world, order, national, national_caseworker, client_for
):
    """An order about a Bergen GP issued by Helsetilsynet concerns Bergen too."""
    sooner = factories.issue_order(
        caseworker=national_caseworker,
        authority=national,
        personnel=world.other_gp,
        number=9001,
        deadline=order.deadline - timedelta(days=30),
    )
    for user in (world.leader, world.caseworker):
        response = client_for(user).get(overview_url(world.municipality))
        assert page_orders(response) == [sooner.pk, order.pk], user


def test_a_leader_of_another_municipality_gets_404(world, order, register, client_for):
    response = client_for(world.other_leader).get(overview_url(world.municipality))

    assert response.status_code == 404
    assert order.case_number not in response.content.decode()
    event = AccessEvent.objects.get(user=world.other_leader, action="view_municipality")
    assert (event.outcome, event.target_id) == ("refused", world.municipality.number)


def test_the_covering_caseworker_sees_the_overview_and_its_view_is_logged(
    world, order, register, client_for
):
    response = client_for(world.caseworker).get(overview_url(world.municipality))

    assert response.status_code == 200
    assert page_orders(response) == [order.pk]
    assert len(offices_listed(response)) == 2
    event = AccessEvent.objects.get(user=world.caseworker, action="view_municipality")
    assert (event.outcome, event.target_id) == ("shown", str(world.municipality.pk))


def test_a_caseworker_of_another_statsforvalter_gets_404(world, order, client_for):
    assert (
        client_for(world.other_caseworker).get(overview_url(world.municipality)).status_code == 404
    )


@pytest.mark.parametrize("who", ["gp_user", "other_gp_user"])
def test_the_gp_concerned_and_other_gps_get_404(world, order, register, client_for, who):
    assert client_for(getattr(world, who)).get(overview_url(world.municipality)).status_code == 404


@pytest.mark.parametrize("number", ["9999", "0000", "46011", "abcd", "%2e%2e"])
def test_an_unknown_municipality_is_404(world, client_for, number):
    assert client_for(world.caseworker).get(f"/kommuner/{number}/").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(world, client):
    for url in ("/kommuner/", overview_url(world.municipality)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/logg-inn/?next=")


def test_an_administrator_who_is_not_caseworker_sees_the_register_but_no_orders(
    world, order, register, client_for
):
    admin = factories.administrator_for(world.authority, username="admin")

    response = client_for(admin).get(overview_url(world.municipality))

    assert response.status_code == 200
    assert len(offices_listed(response)) == 2
    assert response.context["may_appoint"] is True
    assert page_orders(response) == []
    assert client_for(admin).get(overview_url(world.other_municipality)).status_code == 404


# --- Helsetilsynet ----------------------------------------------------------------------


def test_a_helsetilsynet_caseworker_sees_every_municipality_in_the_list(
    world, national_caseworker, client_for
):
    response = client_for(national_caseworker).get("/kommuner/")
    assert listed_numbers(response) == ["4601", "5001"]


@pytest.mark.parametrize("which", ["municipality", "other_municipality"])
def test_a_helsetilsynet_caseworker_sees_each_overview_with_statsforvalter_orders(
    world, order, other_order, register, national_caseworker, client_for, which
):
    municipality = getattr(world, which)
    expected = {"municipality": order, "other_municipality": other_order}[which]

    response = client_for(national_caseworker).get(overview_url(municipality))

    assert response.status_code == 200
    assert page_orders(response) == [expected.pk]
    assert response.context["may_appoint"] is False


def test_a_helsetilsynet_caseworker_opens_statsforvalter_cases_but_cannot_take_their_steps(
    world, order, other_order, national_caseworker, client_for
):
    client = client_for(national_caseworker)

    response = client.get("/saker/")
    assert {o.pk for o in response.context["page"].object_list} == {order.pk, other_order.pk}
    assert client.get("/oppgaver/").context["page"].paginator.count == 0
    for case in (order, other_order):
        assert client.get(http_flow.case_url(case)).status_code == 200

    before = http_flow.snapshot(order)
    plan = http_flow.open_step(order, "plan_measures")
    assert client.get(http_flow.step_url(order, plan)).status_code == 403
    assert client.post(http_flow.step_url(order, plan), {}).status_code == 403
    assert http_flow.snapshot(order) == before

    lifecycle.advance(order, world.leader, "sign_off")
    before = http_flow.snapshot(order)
    sign_off = http_flow.open_step(order, "sign_off")
    assert client.get(http_flow.step_url(order, sign_off)).status_code == 403
    response = client.post(
        http_flow.step_url(order, sign_off), {"outcome": "fulfilled", "reason": ""}
    )
    assert response.status_code == 403
    assert client.post(f"/saker/{order.pk}/trekk-tilbake/", {"reason": "x"}).status_code == 403
    assert http_flow.snapshot(order) == before


# --- the list ---------------------------------------------------------------------------


@pytest.fixture
def vestland(world):
    """Three more municipalities under Vestland and one more under Trøndelag."""
    kinn = factories.MunicipalityFactory(number="4602", name="Kinn", authority=world.authority)
    return {
        "kinn": kinn,
        "bremanger": factories.MunicipalityFactory(
            number="4648", name="Bremanger", authority=world.authority
        ),
        "austevoll": factories.MunicipalityFactory(
            number="4625",
            name="Austevoll",
            official_name="Austevoll herad",
            authority=world.authority,
        ),
        "steinkjer": factories.MunicipalityFactory(
            number="5006", name="Steinkjer", authority=world.other_authority
        ),
    }


def test_the_list_has_only_the_municipalities_the_user_oversees(world, vestland, client_for):
    assert listed_numbers(client_for(world.caseworker).get("/kommuner/")) == [
        "4601",
        "4602",
        "4625",
        "4648",
    ]
    assert listed_numbers(client_for(world.other_caseworker).get("/kommuner/")) == [
        "5001",
        "5006",
    ]
    assert listed_numbers(client_for(world.leader).get("/kommuner/")) == ["4601"]
    assert listed_numbers(client_for(world.gp_user).get("/kommuner/")) == []


def test_a_leader_who_also_works_for_an_authority_sees_both(world, vestland, client_for):
    from guardian.shortcuts import assign_perm

    from municipalities.models import ACT_FOR_MUNICIPALITY

    assign_perm(ACT_FOR_MUNICIPALITY, world.caseworker, world.other_municipality)

    response = client_for(world.caseworker).get("/kommuner/")

    assert listed_numbers(response) == ["4601", "4602", "4625", "4648", "5001"]


@pytest.mark.parametrize(
    "q, expected",
    [
        ("46", ["4601", "4602", "4625", "4648"]),
        ("460", ["4601", "4602"]),
        ("4648", ["4648"]),
        ("bergen", ["4601"]),
        ("BREM", ["4648"]),
        ("herad", ["4625"]),  # the official name
        ("  kinn  ", ["4602"]),
        ("5001", []),  # another authority's municipality does not turn up by search
        ("Trondheim", []),
        ("01", []),  # numbers match from the start
        ("%", []),
        ("ingen slik kommune", []),
    ],
)
def test_the_list_is_searched_by_number_or_name(world, vestland, client_for, q, expected):
    response = client_for(world.caseworker).get("/kommuner/", {"q": q})
    assert listed_numbers(response) == expected
    assert response.context["q"] == q.strip()


def test_the_list_is_paginated_and_keeps_the_search(world, client_for):
    for i in range(2, 2 + 30):
        factories.MunicipalityFactory(
            number=f"46{i:02d}", name=f"Vestkommune {i}", authority=world.authority
        )
    client = client_for(world.caseworker)

    first = client.get("/kommuner/")
    second = client.get("/kommuner/", {"side": 2})
    assert first.context["page"].paginator.count == 31
    assert len(listed_numbers(first)) == settings.PAGE_SIZE
    assert len(listed_numbers(second)) == 31 - settings.PAGE_SIZE
    assert set(listed_numbers(first)).isdisjoint(listed_numbers(second))
    assert listed_numbers(first)[0] == "4601"
    assert 'href="?side=2"' in first.content.decode()

    # Out-of-range and junk page numbers fall back rather than fail.
    assert client.get("/kommuner/", {"side": 99}).context["page"].number == 2
    assert client.get("/kommuner/", {"side": "x"}).context["page"].number == 1

    searched = client.get("/kommuner/", {"q": "Vestkommune"})
    assert searched.context["page"].paginator.count == 30
    assert "q=Vestkommune&amp;side=2" in searched.content.decode()
    searched_second = client.get("/kommuner/", {"q": "Vestkommune", "side": 2})
    assert len(listed_numbers(searched_second)) == 30 - settings.PAGE_SIZE


# --- query count ------------------------------------------------------------------------


def _grow(world, *, offices, gps_per_office, orders, start):
    for _ in range(offices):
        office = factories.GPOfficeFactory(municipality=world.municipality)
        for j in range(gps_per_office):
            factories.gp(office, list_size=1000 + j, list_open=bool(j % 2))
    for _ in range(orders // 2):
        factories.HealthPersonnelFactory(municipality=world.municipality, user=None)
    people = list(Municipality.objects.get(pk=world.municipality.pk).health_personnel.all())
    for i in range(orders):
        order = factories.issue_order(
            caseworker=world.caseworker,
            authority=world.authority,
            personnel=people[i % len(people)],
            number=start + i,
            deadline=timezone.localdate() + timedelta(days=100 + i),
        )
        if i % 3 == 1:
            lifecycle.plan(order, world.leader)


@pytest.mark.parametrize("who", ["leader", "caseworker"])
def test_the_overview_runs_the_same_number_of_queries_however_large_the_municipality(
    world, client_for, django_assert_max_num_queries, who
):
    _grow(world, offices=1, gps_per_office=1, orders=1, start=1)
    client = client_for(getattr(world, who))
    url = overview_url(world.municipality)
    client.get(url)  # warm up: session, language
    with CaptureQueriesContext(connection) as small:
        response = client.get(url)
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 1

    _grow(world, offices=12, gps_per_office=6, orders=40, start=100)

    with django_assert_max_num_queries(len(small)):
        response = client.get(url)
    assert response.status_code == 200
    assert len(response.context["gps"].object_list) == settings.PAGE_SIZE
    assert response.context["gps"].paginator.count == 1 + 12 * 6 + 20 + 3
    assert len(response.context["page"].object_list) == settings.PAGE_SIZE
    with django_assert_max_num_queries(len(small)):
        response = client.get(url, {"side": 2})
    assert len(response.context["page"].object_list) == 41 - settings.PAGE_SIZE


def test_the_list_runs_the_same_number_of_queries_however_many_municipalities(
    world, client_for, django_assert_max_num_queries
):
    client = client_for(world.caseworker)
    client.get("/kommuner/")
    with CaptureQueriesContext(connection) as small:
        client.get("/kommuner/")

    for i in range(2, 62):
        factories.MunicipalityFactory(number=f"46{i:02d}", authority=world.authority)

    with django_assert_max_num_queries(len(small)):
        response = client.get("/kommuner/")
    assert len(response.context["page"].object_list) == settings.PAGE_SIZE


def test_the_gp_register_is_paged_on_its_own_and_keeps_the_orders_page(world, client_for):
    """Oslo's register holds some 2,450 GPs: the overview shows a page of them at a time, and
    paging one list leaves the other where it was."""
    _grow(world, offices=12, gps_per_office=6, orders=40, start=100)
    client = client_for(world.leader)

    response = client.get(overview_url(world.municipality), {"side": 2, "leger": 2})

    assert response.status_code == 200
    gps, orders = response.context["gps"], response.context["page"]
    assert (gps.number, orders.number) == (2, 2)
    first = client.get(overview_url(world.municipality)).context["gps"].object_list
    assert not {g.pk for g in first} & {g.pk for g in gps.object_list}
    content = response.content.decode()
    assert 'href="?side=2&amp;leger=3"' in content or 'href="?side=2&amp;leger=1"' in content
    assert 'href="?leger=2&amp;side=1"' in content
