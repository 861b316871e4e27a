"""Issue 6, what is late: /oppgaver/ and /saker/ show each order's next deadline with the days
left and an "Overdue" marker in words, list overdue orders first, filter on "Overdue" and "Due
within 14 days"; /saker/ and /kommuner/<nr>/ count open, due-soon and overdue orders per
organisation; the menu links to the notifications with the unread count.

The clock stands still at TODAY (a Wednesday with no holiday near). Orders get their next
deadline the real way: issued on an earlier day, the municipality's planning deadline
(PLANNING_DAYS = 30 days after issue, moved off weekends) falls where each test needs it.
Pages are read in English (the msgids), so the bokmål translations may change freely.
"""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from time_machine import travel

from orders import services
from orders.models import Notification, Order
from tests import factories
from tests.orders import http_flow
from tests.snapshots import snapshot_fixture

OSLO = ZoneInfo("Europe/Oslo")
TODAY = date(2027, 2, 10)

# Day of issue → planning deadline (30 days on, off the weekend) → days left on TODAY.
ISSUED = {
    "late5": date(2027, 1, 6),  # due Fri 5 Feb: 5 days overdue
    "late1": date(2027, 1, 10),  # due Tue 9 Feb: 1 day overdue
    "today": date(2027, 1, 11),  # due Wed 10 Feb: today
    "in1": date(2027, 1, 12),  # due Thu 11 Feb
    "in5": date(2027, 1, 16),  # issued on a Saturday; due Mon 15 Feb
    "in14": date(2027, 1, 25),  # due Wed 24 Feb: the last day "within 14 days"
    "in15": date(2027, 1, 26),  # due Thu 25 Feb: not yet
}
DUE = {
    "late5": date(2027, 2, 5),
    "late1": date(2027, 2, 9),
    "today": date(2027, 2, 10),
    "in1": date(2027, 2, 11),
    "in5": date(2027, 2, 15),
    "in14": date(2027, 2, 24),
    "in15": date(2027, 2, 25),
}


COMPLETION = date(2027, 9, 1)


def at(day, hour=9):
    return datetime(day.year, day.month, day.day, hour, tzinfo=OSLO)


@snapshot_fixture
def national(db):
    return factories.helsetilsynet()


@snapshot_fixture
def national_caseworker(national):
    return factories.caseworker_for(national, username="helsetilsynet.saksbehandler")


@pytest.fixture
def late(late_orders, time_machine, settings):
    """Seven open Bergen orders issued by Vestland (see ISSUED), one withdrawn, one Bergen
    order issued by Helsetilsynet (in 5 days, like "in5", with a later completion deadline),
    and one overdue Trondheim order issued by Trøndelag; the clock at TODAY."""
    settings.PLANNING_DAYS = 30
    time_machine.move_to(at(TODAY), tick=False)
    return late_orders


@snapshot_fixture
def late_orders(world, national, national_caseworker):
    """The orders of ``late``, each issued on its day (the clock moved for the build only)."""
    with override_settings(PLANNING_DAYS=30):
        return _issue_late_orders(world, national, national_caseworker)


def _issue_late_orders(world, national, national_caseworker):
    orders = {}
    for number, (name, day) in enumerate(ISSUED.items(), start=1):
        with travel(at(day), tick=False):
            orders[name] = factories.issue_order(
                caseworker=world.caseworker,
                authority=world.authority,
                personnel=world.gp if number % 2 else world.other_gp,
                number=number,
                # Completion deadlines in the opposite order: the list must not sort by them.
                deadline=COMPLETION - timedelta(days=10 * number),
            )
    with travel(at(ISSUED["late5"]), tick=False):
        orders["closed"] = factories.issue_order(
            caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=20
        )
        services.withdraw_order(
            order=orders["closed"], acting_user=world.caseworker, reason="Trukket tilbake."
        )
    with travel(at(ISSUED["in5"]), tick=False):
        orders["national"] = factories.issue_order(
            caseworker=national_caseworker,
            authority=national,
            personnel=world.other_gp,
            number=30,
            deadline=COMPLETION,
        )
    with travel(at(ISSUED["late5"]), tick=False):
        trondheim_gp = factories.HealthPersonnelFactory(
            municipality=world.other_municipality, hpr_number="9100001"
        )
        orders["trondheim"] = factories.issue_order(
            caseworker=world.other_caseworker,
            authority=world.other_authority,
            personnel=trondheim_gp,
            number=40,
        )
    return orders


@pytest.fixture
def english(client_for):
    def login(user):
        client = client_for(user)
        client.cookies["django_language"] = "en"
        return client

    return login


def rows(response):
    """The list's rows: order pk → the row's text, in page order."""
    assert response.status_code == 200
    html = response.content.decode()
    found = re.findall(r'<tr data-order="(\d+)">(.*?)</tr>', html, flags=re.S)
    return {int(pk): re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for pk, row in found}


def listed(response, orders):
    names = {o.pk: name for name, o in orders.items()}
    return [names[pk] for pk in rows(response)]


def overview(response):
    """The deadline overview table: "kind:pk" → (open, due soon, overdue)."""
    html = response.content.decode()
    table = re.search(r'<table class="list deadline-overview">(.*?)</table>', html, re.S)
    if table is None:
        return None
    return {
        key: (int(open_), int(soon), int(overdue))
        for key, open_, soon, overdue in re.findall(
            r'<tr data-organisation="([\w:]+)">.*?class="count-open[^"]*">(\d+)<.*?'
            r'class="count-due-soon[^"]*">(\d+)<.*?class="count-overdue[^"]*">(?:<strong>)?(\d+)<',
            table.group(1),
            flags=re.S,
        )
    }


# --- sorted by what is late, with days left ----------------------------------------------


def test_the_planning_deadlines_fall_where_the_tests_need_them(late):
    for name, due in DUE.items():
        next_deadline = late[name].next_deadline
        assert (next_deadline.due, next_deadline.kind) == (due, "planning"), name
    late["closed"].next_deadline.refresh_from_db()
    assert late["closed"].next_deadline.due is None


def test_case_list_shows_open_cases_by_default(world, late, english):
    """Open cases by default (the closed one only on request), in the same order."""
    default = listed(english(world.leader).get("/saker/"), late)
    everything = listed(english(world.leader).get("/saker/", {"state": "all"}), late)
    assert default == [name for name in everything if name != "closed"]
    assert "closed" in everything


def test_case_list_puts_overdue_first_then_the_soonest_and_closed_last(world, late, english):
    response = english(world.leader).get("/saker/", {"state": "all"})
    assert listed(response, late) == [
        "late5",
        "late1",
        "today",
        "in1",
        "in5",
        "national",
        "in14",
        "in15",
        "closed",
    ]


def test_case_list_shows_the_next_deadline_its_kind_and_the_days_left(world, late, english):
    shown = rows(english(world.leader).get("/saker/", {"state": "all"}))
    expected = {
        "late5": "5 days overdue",
        "late1": "1 day overdue",
        "today": "(today)",
        "in1": "in 1 day",
        "in5": "in 5 days",
        "in14": "in 14 days",
        "in15": "in 15 days",
    }
    for name, text in expected.items():
        row = shown[late[name].pk]
        assert text in row, (name, row)
        assert "The municipality plans measures" in row, row
        assert row.startswith(late[name].case_number)
    for name in ("late5", "late1"):
        assert "Overdue" in shown[late[name].pk]
    for name in ("today", "in1", "in5", "in14", "in15"):
        assert "Overdue" not in shown[late[name].pk] and "overdue" not in shown[late[name].pk]
    assert "No pending deadline" in shown[late["closed"].pk]


def test_the_overdue_marker_is_text_and_the_date_is_machine_readable(world, late, english):
    html = english(world.leader).get("/saker/").content.decode()
    row = re.search(rf'<tr data-order="{late["late5"].pk}">(.*?)</tr>', html, re.S).group(1)
    assert re.search(r'<strong class="tag tag-danger">\s*Overdue\s*</strong>', row)
    assert '<time datetime="2027-02-05">' in row


def test_days_left_follow_the_clock(world, late, english, time_machine):
    """The same order, seen the day before its deadline, on it, and after it."""
    pk = late["in1"].pk
    for day, text in [
        (date(2027, 2, 10), "in 1 day"),
        (date(2027, 2, 11), "(today)"),
        (date(2027, 2, 12), "1 day overdue"),
    ]:
        time_machine.move_to(at(day, 23), tick=False)
        client = english(world.leader)  # a new day, a new login: yesterday's session has ended
        assert text in rows(client.get("/saker/"))[pk], day


def test_my_tasks_put_overdue_first_with_days_left(world, late, english):
    response = english(world.leader).get("/oppgaver/")
    assert listed(response, late) == [
        "late5",
        "late1",
        "today",
        "in1",
        "in5",
        "national",
        "in14",
        "in15",
    ]
    shown = rows(response)
    assert "Overdue" in shown[late["late5"].pk] and "5 days overdue" in shown[late["late5"].pk]
    assert "in 14 days" in shown[late["in14"].pk]


def test_the_gp_sees_the_deadline_of_the_order_about_them(world, late, english):
    shown = rows(english(world.gp_user).get("/saker/", {"state": "all"}))
    # Odd-numbered orders are about world.gp: late5, today, in5, in15 (and the withdrawn one).
    assert set(shown) == {late[n].pk for n in ("late5", "today", "in5", "in15", "closed")}
    assert "5 days overdue" in shown[late["late5"].pk]


# --- filters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"due": "overdue"}, ["late5", "late1"]),
        ({"due": "soon"}, ["today", "in1", "in5", "national", "in14"]),
        ({"due": "overdue", "state": "closed"}, []),
        ({"due": "soon", "state": "open", "q": "2026/5"}, ["in5"]),
        ({"due": "overdue", "q": "Bergen"}, ["late5", "late1"]),
        ({"state": "closed"}, ["closed"]),
        ({"due": ""}, ["late5", "late1", "today", "in1", "in5", "national", "in14", "in15"]),
        ({"state": "all"}, ["late5", "late1", "today", "in1", "in5", "national", "in14", "in15"]),
        # A search without a stage looks in every case, the closed one too.
        ({"q": "2026/20"}, ["closed"]),
    ],
)
def test_case_list_filters_on_deadlines_with_state_and_search(
    world, late, english, params, expected
):
    response = english(world.leader).get("/saker/", params)
    if params == {"state": "all"}:
        expected = [*expected, "closed"]
    assert listed(response, late) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"due": "overdue"}, ["late5", "late1"]),
        ({"due": "soon"}, ["today", "in1", "in5", "national", "in14"]),
    ],
)
def test_my_tasks_filter_on_deadlines(world, late, english, params, expected):
    response = english(world.leader).get("/oppgaver/", params)
    assert listed(response, late) == expected
    assert f'<option value="{params["due"]}" selected>' in response.content.decode()


def test_an_empty_filtered_task_list_says_the_filter_matched_nothing(world, late, english):
    response = english(world.other_leader).get("/oppgaver/", {"due": "soon"})
    assert rows(response) == {}
    assert "None of your open tasks match the filter." in response.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"due": "late"},
        {"due": "<script>alert(1)</script>"},
        {"due": ["overdue", "soon", "x"]},
        {"due": "x" * 5000},
        {"side": "999", "due": "nope"},
    ],
)
@pytest.mark.parametrize("url", ["/saker/", "/oppgaver/"])
def test_a_bad_deadline_filter_is_ignored_never_an_error(world, late, english, url, params):
    response = english(world.leader).get(url, params)
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.content.decode()
    assert len(rows(response)) >= 8


def test_a_bad_value_drops_only_its_own_filter(world, late, english):
    """A stale bookmark with an unknown state keeps the deadline filter and the search."""
    client = english(world.leader)
    assert listed(client.get("/saker/", {"state": "bogus", "due": "overdue"}), late) == [
        "late5",
        "late1",
    ]
    assert listed(client.get("/saker/", {"due": "bogus", "q": late["in1"].case_number}), late) == [
        "in1"
    ]


def test_page_links_keep_the_deadline_filter(world, late, english, settings):
    settings.PAGE_SIZE = 1
    html = english(world.leader).get("/saker/", {"due": "overdue"}).content.decode()
    assert 'href="?due=overdue&amp;side=2"' in html


# --- counts per organisation ---------------------------------------------------------------


def test_leader_counts_the_orders_of_their_municipality(world, late, english):
    """Bergen: seven open Vestland orders and Helsetilsynet's; the withdrawn one is not open."""
    response = english(world.leader).get("/saker/")
    assert overview(response) == {f"municipality:{world.municipality.pk}": (8, 5, 2)}
    assert "Deadline overview" in response.content.decode()


def test_caseworker_counts_the_orders_their_authority_issued(world, late, english):
    """Vestland sees Helsetilsynet's Bergen order in its list, but did not issue it."""
    response = english(world.caseworker).get("/saker/")
    assert overview(response) == {f"authority:{world.authority.pk}": (7, 4, 2)}
    assert late["national"].pk in rows(response)


def test_national_caseworker_counts_only_what_helsetilsynet_issued(
    world, late, national, national_caseworker, english
):
    response = english(national_caseworker).get("/saker/", {"state": "all"})
    assert overview(response) == {f"authority:{national.pk}": (1, 1, 0)}
    assert len(rows(response)) == 10  # Helsetilsynet sees every order


def test_other_organisations_count_only_their_own(world, late, english):
    assert overview(english(world.other_leader).get("/saker/")) == {
        f"municipality:{world.other_municipality.pk}": (1, 0, 1)
    }
    assert overview(english(world.other_caseworker).get("/saker/")) == {
        f"authority:{world.other_authority.pk}": (1, 0, 1)
    }


def test_a_person_acting_for_an_authority_and_a_municipality_gets_a_row_for_each(
    world, late, english
):
    from guardian.shortcuts import assign_perm

    from municipalities.models import ACT_FOR_MUNICIPALITY

    assign_perm(ACT_FOR_MUNICIPALITY, world.other_caseworker, world.municipality)
    assert overview(english(world.other_caseworker).get("/saker/")) == {
        f"authority:{world.other_authority.pk}": (1, 0, 1),
        f"municipality:{world.municipality.pk}": (8, 5, 2),
    }


def test_counts_follow_the_clock(world, late, english, time_machine):
    """Ten days on, the in-1 to in-5 orders are overdue too and in14/in15 are due soon."""
    time_machine.move_to(at(date(2027, 2, 20)), tick=False)
    assert overview(english(world.caseworker).get("/saker/")) == {
        f"authority:{world.authority.pk}": (7, 2, 5)
    }


def test_counts_ignore_the_list_filters(world, late, english):
    response = english(world.caseworker).get("/saker/", {"due": "overdue", "q": "nothing"})
    assert rows(response) == {}
    assert overview(response) == {f"authority:{world.authority.pk}": (7, 4, 2)}


def test_health_personnel_act_for_no_organisation_and_see_no_counts(world, late, english):
    assert overview(english(world.gp_user).get("/saker/")) is None


def test_municipality_overview_counts_the_orders_concerning_it(world, late, english):
    for user in (world.leader, world.caseworker):
        response = english(user).get(f"/kommuner/{world.municipality.number}/")
        assert overview(response) == {f"municipality:{world.municipality.pk}": (8, 5, 2)}, user
        assert listed(response, late)[:2] == ["late5", "late1"]
        assert "5 days overdue" in rows(response)[late["late5"].pk]
    response = english(world.other_caseworker).get(f"/kommuner/{world.other_municipality.number}/")
    assert overview(response) == {f"municipality:{world.other_municipality.pk}": (1, 0, 1)}


def test_municipality_overview_counts_only_orders_the_viewer_may_see(world, late, english):
    """An administrator of Vestland oversees Bergen but is no caseworker: the page opens, the
    counts are zero like the (empty) order list, not Bergen's real numbers."""
    administrator = factories.administrator_for(world.authority, username="admin.vestland")
    response = english(administrator).get(f"/kommuner/{world.municipality.number}/")
    assert response.status_code == 200
    assert rows(response) == {}
    assert overview(response) == {f"municipality:{world.municipality.pk}": (0, 0, 0)}


# --- the menu's notifications link --------------------------------------------------------


def nav_link(html):
    match = re.search(r'<a class="nav-notifications" href="/varsler/"[^>]*>(.*?)</a>', html, re.S)
    assert match, "no notifications link in the menu"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", match.group(1))).strip()


def test_the_menu_links_to_the_notifications_with_the_unread_count(world, late, english):
    client = english(world.leader)
    unread = Notification.objects.filter(recipient=world.leader, read_at__isnull=True).count()
    assert unread >= 8  # a new task notice per Bergen order
    assert nav_link(client.get("/saker/").content.decode()) == f"Notifications ({unread} unread)"

    client.post("/varsler/")  # mark all as read
    page = client.get("/varsler/").content.decode()
    assert nav_link(page) == "Notifications"
    assert 'aria-current="page">Notifications' in page


def test_the_unread_count_is_the_users_own(world, late, english):
    """Trondheim's leader has the one notice of the Trondheim order; a GP with no notices
    gets the link without a count."""
    assert Notification.objects.filter(recipient=world.other_leader).count() == 1
    text = nav_link(english(world.other_leader).get("/oppgaver/").content.decode())
    assert text == "Notifications (1 unread)"
    Notification.objects.filter(recipient=world.other_gp_user).delete()
    assert nav_link(english(world.other_gp_user).get("/oppgaver/").content.decode()) == (
        "Notifications"
    )


def test_the_unread_count_costs_one_query_per_page(world, late, english):
    client = english(world.leader)
    client.get("/kurs/")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/kurs/").status_code == 200
    counting = [q["sql"] for q in queries if "orders_notification" in q["sql"]]
    assert len(counting) == 1, counting


def test_pages_without_the_menu_do_not_count_notifications(world, english):
    client = english(world.caseworker)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/oppslag/helsepersonell/", {"q": "90"})
    assert response.status_code == 200
    assert not [q for q in queries if "orders_notification" in q["sql"]]


# --- the issue form ----------------------------------------------------------------------


def test_the_issue_form_asks_when_the_decision_was_received_after_the_deadline(world, english):
    html = english(world.caseworker).get("/saker/ny/").content.decode()
    deadline = html.index('name="deadline"')
    received = html.index('name="decision_received_on"')
    assert deadline < received
    assert 'type="date"' in html[received - 200 : received + 200]
    assert "The three-week appeal period runs from this day." in html


def test_the_issue_form_records_the_day_the_decision_was_received(world, client_for):
    data = http_flow.issue_data(world)
    received = date.fromisoformat(data["decision_date"])
    response = client_for(world.caseworker).post(
        "/saker/ny/", {**data, "decision_received_on": received.isoformat()}
    )
    assert response.status_code == 302, http_flow.form_errors(response)
    assert Order.objects.get(case_number=data["case_number"]).decision_received_on == received


# --- the case list's count, from the next deadlines ----------------------------------------


def every_kind_of_viewer(world, national_caseworker, *others) -> list:
    return [
        world.caseworker,
        world.other_caseworker,
        world.leader,
        world.other_leader,
        world.gp_user,
        world.other_gp_user,
        national_caseworker,
        *others,
    ]


@pytest.mark.parametrize("state", ["", "open", "closed", "appeal"])
@pytest.mark.parametrize("due", ["", "overdue", "soon"])
def test_the_case_list_counts_exactly_the_orders_it_lists(
    world, late, national_caseworker, state, due
):
    """The count comes from the next deadlines (selectors.case_list) with the orders' own
    access filter: for every kind of viewer and filter it is the number of orders listed."""
    from orders import selectors
    from orders.access import Capabilities

    for user in every_kind_of_viewer(world, national_caseworker):
        capabilities = Capabilities.of(user)
        page = selectors.case_list(capabilities, state=state, due=due, today=TODAY)
        listed_orders = selectors.orders_for_list(capabilities, state=state, due=due, today=TODAY)
        assert page.count() == len(list(listed_orders)), (user, state, due)
        assert page.count() == len(page[0:100]), (user, state, due)


def test_the_case_list_says_how_many_it_found(world, late, english):
    """The page's count, from the next deadlines, on the page: Vestland's caseworker sees the
    seven open Bergen orders and the withdrawn one; two of them overdue."""
    response = english(world.caseworker).get("/saker/", {"due": "overdue"})
    assert len(rows(response)) == 2
    assert response.context["page"].paginator.count == 2
    response = english(world.caseworker).get("/saker/", {"state": "closed"})
    assert response.context["page"].paginator.count == len(rows(response)) == 1


# --- the task list, paged from the next deadlines ---------------------------------------------


@pytest.mark.parametrize("due", ["", "overdue", "soon"])
def test_the_task_list_pages_count_and_order_the_tasks_as_the_rule_gives_them(
    world, late, national_caseworker, due
):
    """Mine oppgaver's pages (selectors.task_list: the page's ids from the next deadlines joined
    to the open tasks) hold exactly the tasks of the access rule's queryset (tasks_for), in
    its order, and count them; also for a user who acts as two actors (a leader who is also
    the GP of an order there), whose two branches are joined into one list."""
    from orders import selectors
    from orders.access import Capabilities

    two_actors = factories.leader_for(world.municipality, username="leder.og.lege")
    world.gp.user = two_actors
    world.gp.save(update_fields=["user"])
    listed_somewhere = False
    for user in every_kind_of_viewer(world, national_caseworker, two_actors):
        capabilities = Capabilities.of(user)
        expected = [t.pk for t in selectors.tasks_for(capabilities, due=due, today=TODAY)]
        tasks = selectors.task_list(capabilities, due=due, today=TODAY)
        paged = [t.pk for start in range(0, 12, 2) for t in tasks[start : start + 2]]
        assert tasks.count() == len(expected), (user, due)
        assert paged == expected, (user, due)
        listed_somewhere |= bool(expected)
    assert listed_somewhere
    # The leader who is the GP of orders there has the others' steps, never their own.
    own = set(Order.objects.filter(health_personnel=world.gp).values_list("pk", flat=True))
    theirs = selectors.tasks_for(Capabilities.of(two_actors), due=due, today=TODAY)
    assert theirs and not {t.process_id for t in theirs} & own


# --- sortable columns -----------------------------------------------------------------------


@pytest.mark.parametrize("key", ["case", "person", "municipality", "completion"])
def test_the_case_list_sorts_by_a_column_both_ways_and_says_so(world, late, english, key):
    """A column's heading is a link that sorts by it (then the other way), keeps the
    filters, and marks the column with aria-sort; every page is the same sort."""
    from orders.models import Order

    field = {
        "case": "case_number",
        "person": "health_personnel__name",
        "municipality": "municipality__name",
        "completion": "deadline",
    }[key]
    client = english(world.leader)
    for sort, descending in ((key, False), (f"-{key}", True)):
        response = client.get("/saker/", {"state": "all", "sort": sort})
        assert response.status_code == 200
        shown = list(rows(response))
        values = dict(Order.objects.filter(pk__in=shown).values_list("pk", field))
        assert [values[pk] for pk in shown] == sorted(
            (values[pk] for pk in shown), reverse=descending
        ), sort
        html = response.content.decode()
        assert f'aria-sort="{"descending" if descending else "ascending"}"' in html
        assert html.count("aria-sort=") == 1
        # The filters are kept in the link that turns the order round.
        turned = f"-{key}" if not descending else key
        assert f"state=all&amp;sort={turned}" in html or f"sort={turned}&amp;state=all" in html


def test_the_default_sort_is_the_next_deadline_and_a_bad_sort_is_ignored(world, late, english):
    client = english(world.leader)
    default = list(rows(client.get("/saker/")))
    assert list(rows(client.get("/saker/", {"sort": "deadline"}))) == default
    response = client.get("/saker/", {"sort": "nonsense';--"})
    assert response.status_code == 200
    assert list(rows(response)) == default
    assert 'aria-sort="ascending"' in response.content.decode()  # the next deadline's


def test_one_authority_on_every_row_is_said_once_not_in_a_column(world, late, english):
    """Trøndelag's caseworker sees only Trøndelag's order: the authority is named above the
    list and has no column; the Bergen leader's list has orders of two authorities and the
    column."""
    only = english(world.other_caseworker).get("/saker/").content.decode()
    assert f"Issued by {world.other_authority.name}." in only
    assert ">Authority<" not in only
    mixed = english(world.leader).get("/saker/").content.decode()
    assert ">Authority<" in mixed and "Issued by" not in mixed
