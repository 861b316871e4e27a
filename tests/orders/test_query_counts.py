"""Pages run a fixed number of queries: the count does not grow with the number of orders in a
list (PAGE_SIZE rows per page) nor with the number of measures, documents and history rows on a
case. Each test measures the small case with CaptureQueriesContext and requires the large case
to stay within that count."""

import copy
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from viewflow.workflow.status import PROCESS

import audit
from orders import access, selectors, services
from orders.models import Appeal, Order, Review
from tests import bulk, factories
from tests.conftest import make_world
from tests.orders import lifecycle
from tests.probe_world import rolled_back

# LARGE spans three pages: enough for a query per row to show. The SMALL orders are issued
# (and advanced) through the services; the rest are copies of them written in bulk
# (tests/bulk.py), in the same state, since the lists and not the services are measured.
SMALL, LARGE = 5, 60

# Query counts measured for the small case are collected here and printed at the end of the
# module (run with -s to see them), for the record.
MEASURED = {}


@pytest.fixture(scope="module", autouse=True)
def _report_measured():
    yield
    if MEASURED:
        print("\nQuery counts measured:")
        for name, counts in sorted(MEASURED.items()):
            print(f"  {name}: {counts}")


def count_queries(client, url, **params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200, url
    return len(queries), response


def _issue(world, count, *, start, personnel=None):
    """``count`` orders about ``personnel`` (default: GPs spread over a few people) in Bergen."""
    people = [personnel] if personnel else [world.gp, world.other_gp]
    return [
        factories.issue_order(
            caseworker=world.caseworker,
            authority=world.authority,
            personnel=people[i % len(people)],
            number=start + i,
            deadline=timezone.localdate() + timedelta(days=100 + i),
        )
        for i in range(count)
    ]


def _more_like(orders, count, *, start):
    """``count`` more orders in the state of ``orders`` (the first two: both GPs, where the
    list has both), copied in bulk, each with a deadline of its own as _issue gives."""
    deadline = timezone.localdate() + timedelta(days=100 + start)
    return bulk.copy_orders(orders[:2], count, start=start, deadline=deadline)


def _paged_lists_stay_flat(
    name, client, url, grow, django_assert_max_num_queries, *, params=None, expected_total
):
    """Measure ``url`` with SMALL visible rows, grow to LARGE, and compare."""
    params = params or {}
    client.get(url, params)  # warm up: session, language, anything loaded once per client
    small, response = count_queries(client, url, **params)
    assert response.context["page"].paginator.count == SMALL

    grow()

    with django_assert_max_num_queries(small):
        response = client.get(url, params)
    page = response.context["page"]
    assert page.paginator.count == expected_total
    assert len(page.object_list) == settings.PAGE_SIZE

    last = page.paginator.num_pages
    with django_assert_max_num_queries(small):
        response = client.get(url, {**params, "side": last})
    assert response.context["page"].number == last

    large, _ = count_queries(client, url, **params)
    MEASURED[name] = {SMALL: small, LARGE: large}
    return small, large


def test_leaders_task_list_runs_a_fixed_number_of_queries(
    world, client_for, django_assert_max_num_queries
):
    issued = _issue(world, SMALL, start=1)
    _paged_lists_stay_flat(
        "leader /oppgaver/ (plan_measures tasks)",
        client_for(world.leader),
        "/oppgaver/",
        lambda: _more_like(issued, LARGE - SMALL, start=1000),
        django_assert_max_num_queries,
        expected_total=LARGE,
    )


def test_leaders_case_list_runs_a_fixed_number_of_queries(
    world, client_for, django_assert_max_num_queries
):
    issued = _issue(world, SMALL, start=1)
    _paged_lists_stay_flat(
        "leader /saker/",
        client_for(world.leader),
        "/saker/",
        lambda: _more_like(issued, LARGE - SMALL, start=1000),
        django_assert_max_num_queries,
        expected_total=LARGE,
    )


def test_caseworkers_case_list_runs_a_fixed_number_of_queries(
    world, client_for, django_assert_max_num_queries
):
    issued = _issue(world, SMALL, start=1)
    _paged_lists_stay_flat(
        "caseworker /saker/",
        client_for(world.caseworker),
        "/saker/",
        lambda: _more_like(issued, LARGE - SMALL, start=1000),
        django_assert_max_num_queries,
        expected_total=LARGE,
    )


def test_caseworkers_filtered_case_search_runs_a_fixed_number_of_queries(
    world, client_for, django_assert_max_num_queries
):
    issued = _issue(world, SMALL, start=1)
    _paged_lists_stay_flat(
        "caseworker /saker/?q=Bergen&state=open",
        client_for(world.caseworker),
        "/saker/",
        lambda: _more_like(issued, LARGE - SMALL, start=1000),
        django_assert_max_num_queries,
        params={"q": "Bergen", "state": "open"},
        expected_total=LARGE,
    )


def test_caseworkers_task_list_runs_a_fixed_number_of_queries(
    world, client_for, django_assert_max_num_queries
):
    """Sign-off tasks: the SMALL orders are taken through the whole lifecycle first; the rest
    are copies of them at sign-off (so the list spans three pages, its last one checked too)."""
    at_sign_off = _issue(world, SMALL, start=1)
    for order in at_sign_off:
        lifecycle.advance(order, world.leader, "sign_off")
    _paged_lists_stay_flat(
        "caseworker /oppgaver/ (sign_off tasks)",
        client_for(world.caseworker),
        "/oppgaver/",
        lambda: _more_like(at_sign_off, LARGE - SMALL, start=1000),
        django_assert_max_num_queries,
        expected_total=LARGE,
    )


def _gp_orders_at_acknowledge(world, count, start):
    orders = _issue(world, count, start=start, personnel=world.gp)
    for order in orders:
        lifecycle.plan(order, world.leader)
    return orders


def test_gps_task_list_runs_a_fixed_number_of_queries(
    world, client_for, django_assert_max_num_queries
):
    at_acknowledge = _gp_orders_at_acknowledge(world, SMALL, 1)
    _paged_lists_stay_flat(
        "gp /oppgaver/ (acknowledge tasks)",
        client_for(world.gp_user),
        "/oppgaver/",
        lambda: _more_like(at_acknowledge, LARGE - SMALL, start=1000),
        django_assert_max_num_queries,
        expected_total=LARGE,
    )


def test_gps_case_list_runs_a_fixed_number_of_queries(
    world, client_for, django_assert_max_num_queries
):
    issued = _issue(world, SMALL, start=1, personnel=world.gp)
    _paged_lists_stay_flat(
        "gp /saker/",
        client_for(world.gp_user),
        "/saker/",
        lambda: _more_like(issued, LARGE - SMALL, start=1000),
        django_assert_max_num_queries,
        expected_total=LARGE,
    )


def test_empty_lists_for_outsiders_run_no_more_queries_than_full_ones(
    world, client_for, django_assert_max_num_queries
):
    """An outsider's empty lists stay cheap however many cases exist elsewhere."""
    client = client_for(world.other_leader)
    issued = _issue(world, SMALL, start=1)
    client.get("/saker/")
    small_cases, _ = count_queries(client, "/saker/")
    small_tasks, _ = count_queries(client, "/oppgaver/")
    _more_like(issued, LARGE - SMALL, start=1000)
    with django_assert_max_num_queries(small_cases):
        assert client.get("/saker/").context["page"].paginator.count == 0
    with django_assert_max_num_queries(small_tasks):
        assert client.get("/oppgaver/").context["page"].paginator.count == 0


# --- what is late: deadline filters, days left and the deadline overview -------------------


@pytest.fixture
def late_orders(world, time_machine):
    """``issue(count)`` issues Bergen orders on ISSUE_DAY and returns the clock to LATE_DAY,
    when their planning deadline (30 days on) has passed. The first call issues them through
    the services; later calls copy those in bulk (tests/bulk.py), on the same day."""
    time_machine.move_to(LATE_DAY, tick=False)
    issued = []

    def issue(count, start):
        time_machine.move_to(ISSUE_DAY, tick=False)
        if issued:
            _more_like(issued, count, start=start)
        else:
            issued.extend(_issue(world, count, start=start))
        time_machine.move_to(LATE_DAY, tick=False)

    return issue


ISSUE_DAY = timezone.make_aware(datetime(2027, 3, 1, 9))
LATE_DAY = timezone.make_aware(datetime(2027, 4, 20, 9))


@pytest.mark.parametrize(
    ("viewer", "url", "params"),
    [
        ("leader", "/saker/", {"due": "overdue"}),
        ("leader", "/saker/", {"due": "overdue", "state": "open", "q": "Bergen"}),
        ("caseworker", "/saker/", {"due": "overdue"}),
        ("leader", "/oppgaver/", {"due": "overdue"}),
        ("leader", "/oppgaver/", {}),
        ("caseworker", "/kommuner/4601/", {}),
    ],
)
def test_deadline_lists_run_the_same_queries_for_few_and_many_overdue_orders(
    world, late_orders, client_for, django_assert_num_queries, viewer, url, params
):
    """Exactly as many queries for LARGE overdue orders as for SMALL: the next deadline comes with
    the order (select_related) and the deadline overview is one aggregate per organisation."""
    late_orders(SMALL, 1)
    client = client_for(getattr(world, viewer))
    client.get(url, params)  # warm up
    small, response = count_queries(client, url, **params)
    assert response.context["page"].paginator.count == SMALL
    assert response.content.decode().count('class="next-deadline overdue"') == SMALL

    late_orders(LARGE - SMALL, 1000)

    with django_assert_num_queries(small):
        response = client.get(url, params)
    assert response.context["page"].paginator.count == LARGE
    assert response.content.decode().count('class="next-deadline overdue"') == settings.PAGE_SIZE
    with django_assert_num_queries(small):
        client.get(url, {**params, "side": response.context["page"].paginator.num_pages})
    MEASURED[f"{viewer} {url} {params or ''}".strip()] = {
        SMALL: small,
        LARGE: count_queries(client, url, **params)[0],
    }


# --- the case page -----------------------------------------------------------------------


def _rich_case(world, number, n):
    """An order at sign-off with ``n`` measures, ``n`` returned reviews (so ``n + 1``
    confirmations and documents), ``n`` deadline extensions and ``n`` decided appeals plus one
    pending: every list and history source on the case page grows with ``n``."""
    order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=number
    )
    lifecycle.plan(order, world.leader, measures=n)
    lifecycle.acknowledge(order)
    today = timezone.localdate()
    for i in range(n):
        lifecycle.confirm(order, world.leader, documents=1, note=f"Runde {i}")
        lifecycle.sign_off(
            order, world.caseworker, outcome=Review.Outcome.RETURNED, reason=f"Mangler {i}"
        )
        services.extend_deadline(
            order=order,
            acting_user=world.caseworker,
            new_deadline=order.__class__.objects.get(pk=order.pk).deadline + timedelta(days=10),
            reason=f"Forlenget {i}",
        )
        appeal = services.register_appeal(
            order=order, acting_user=world.caseworker, received_on=today, note=f"Klage {i}"
        )
        services.decide_appeal(
            appeal=appeal,
            acting_user=world.caseworker,
            outcome=Appeal.Outcome.UPHELD,
            decided_by=Appeal.DecidedBy.NEMND,
            decided_on=today,
        )
    services.register_appeal(order=order, acting_user=world.caseworker, received_on=today)
    lifecycle.confirm(order, world.leader, documents=1)
    assert order.measures.count() == n
    assert order.documents.count() == n + 1
    assert order.reviews.count() == n
    return order


@pytest.fixture(scope="class")
def _lean_and_rich_world(_module_world, django_db_blocker, tmp_path_factory):
    """The two cases (in the module's world), built once for the class of tests that read
    them: through the services they take a leader's and a caseworker's whole rounds, many
    seconds each. Inside a transaction rolled back when the class is done; each test's own
    ``db`` transaction nests inside it as a savepoint, so what a test writes (the confirm-step
    test signs both off) is gone before the next one starts. Class-scoped, not module-scoped:
    the module's other tests must not find the two cases."""
    with rolled_back(django_db_blocker, tmp_path_factory):
        world = _module_world if _module_world is not None else make_world()
        yield world, _rich_case(world, 1, 1).pk, _rich_case(world, 2, 8).pk


@pytest.mark.usefixtures("db")
class TestCasePageWithOneAndEightOfEverything:
    @pytest.fixture
    def world(self, _lean_and_rich_world):
        return copy.deepcopy(_lean_and_rich_world[0])

    @pytest.fixture
    def lean_and_rich(self, _lean_and_rich_world):
        """Fresh instances for each test: one test's changes to them stay its own."""
        _world, lean, rich = _lean_and_rich_world
        return Order.objects.get(pk=lean), Order.objects.get(pk=rich)

    @pytest.mark.parametrize(
        "viewer,params",
        [
            ("caseworker", {}),
            ("leader", {}),
            ("gp_user", {}),
            ("caseworker", {"vis": ["decision", "document"]}),
        ],
        ids=["caseworker", "leader", "gp", "caseworker-filtered-timeline"],
    )
    def test_case_page_runs_a_fixed_number_of_queries(
        self, world, lean_and_rich, client_for, django_assert_max_num_queries, viewer, params
    ):
        lean, rich = lean_and_rich
        client = client_for(getattr(world, viewer))
        client.get(f"/saker/{lean.pk}/")
        small, response = count_queries(client, f"/saker/{lean.pk}/", **params)
        assert len(response.context["measures"]) == 1

        with django_assert_max_num_queries(small):
            response = client.get(f"/saker/{rich.pk}/", params)
        assert response.status_code == 200
        assert len(response.context["measures"]) == 8
        assert len(response.context["documents"]) == 9
        assert len(response.context["timeline"]) > 8 * 5

        MEASURED[f"case page as {viewer} {params or ''}".strip()] = {
            "1 measure": small,
            "8 measures": count_queries(client, f"/saker/{rich.pk}/", **params)[0],
        }

    def test_sign_off_step_page_runs_a_fixed_number_of_queries(
        self, world, lean_and_rich, client_for, django_assert_max_num_queries
    ):
        lean, rich = lean_and_rich
        client = client_for(world.caseworker)
        urls = {
            order: f"/saker/{order.pk}/steg/{lifecycle.open_task(order, 'sign_off').pk}/"
            for order in (lean, rich)
        }
        client.get(urls[lean])
        small, _ = count_queries(client, urls[lean])
        with django_assert_max_num_queries(small):
            assert client.get(urls[rich]).status_code == 200
        MEASURED["sign-off step page"] = {
            "1 measure": small,
            "8 measures": count_queries(client, urls[rich])[0],
        }

    def test_confirm_step_page_runs_a_fixed_number_of_queries(
        self, world, lean_and_rich, client_for, django_assert_max_num_queries
    ):
        lean, rich = lean_and_rich
        for order in (lean, rich):
            lifecycle.sign_off(
                order, world.caseworker, outcome=Review.Outcome.RETURNED, reason="Igjen"
            )
        client = client_for(world.leader)
        urls = {
            order: f"/saker/{order.pk}/steg/{lifecycle.open_task(order, 'confirm_completion').pk}/"
            for order in (lean, rich)
        }
        client.get(urls[lean])
        small, _ = count_queries(client, urls[lean])
        with django_assert_max_num_queries(small):
            assert client.get(urls[rich]).status_code == 200
        MEASURED["confirm-completion step page"] = {
            "1 measure": small,
            "8 measures": count_queries(client, urls[rich])[0],
        }

    def test_rich_case_is_still_open_and_signable(self, world, lean_and_rich):
        """Guards the fixture: both cases really are at sign-off, with one appeal pending."""
        for order in lean_and_rich:
            order = order.__class__.objects.get(pk=order.pk)
            assert order.status == PROCESS.NEW
            assert lifecycle.open_task(order, "sign_off")
            assert order.appeals.filter(outcome=Appeal.Outcome.PENDING).count() == 1


# --- the case timeline and "who has seen my case" ---------------------------------------


def _reads(world, order, count):
    """``count`` openings of ``order`` in the access log, by the people who see it in turn:
    one each through audit.record, the rest copies of those as further links of the chain
    (tests/bulk.py), since the page's queries and not the writing are measured."""
    readers = [world.leader, world.gp_user, world.caseworker]
    written = [
        audit.record(
            user=user,
            action=audit.Action.VIEW_CASE,
            target=order,
            case=order,
            capacity=access.Capabilities.of(user).capacity_on(order),
        )
        for user in readers[:count]
    ]
    bulk.more_events_like(written, count - len(written))


TIMELINE_FEW, TIMELINE_MANY = 10, 500


@pytest.mark.parametrize(
    "params",
    [
        {"vis": "access"},
        {"vis": ["access", "workflow", "order", "decision"]},
        {},
    ],
    ids=["access-log", "access-and-history", "default"],
)
def test_case_page_runs_the_same_queries_with_10_and_500_timeline_events(
    world, client_for, django_assert_num_queries, params
):
    """Exactly as many queries with 500 access events on the case as with 10, on the first
    page and on the last: a page loads only the events it shows, with their users."""
    order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=1
    )
    lifecycle.plan(order, world.leader)
    _reads(world, order, TIMELINE_FEW - 1)  # the measured request adds the tenth
    client = client_for(world.caseworker)
    url = f"/saker/{order.pk}/"
    client.get(url, {"vis": "order"})  # warm up
    few, response = count_queries(client, url, **params)
    if params:
        assert response.context["timeline_page"].paginator.count >= TIMELINE_FEW

    _reads(world, order, TIMELINE_MANY - TIMELINE_FEW)

    with django_assert_num_queries(few):
        response = client.get(url, params)
    page = response.context["timeline_page"]
    if params:
        assert page.paginator.count >= TIMELINE_MANY
        assert len(response.context["timeline"]) == selectors.TIMELINE_PAGE_SIZE
    with django_assert_num_queries(few):
        last = client.get(url, {**params, "tidslinje": page.paginator.num_pages})
    assert last.context["timeline_page"].number == page.paginator.num_pages
    with django_assert_num_queries(few):
        client.get(url, {**params, "tidslinje": 2})
    MEASURED[f"case page timeline {params or 'default'}"] = {
        TIMELINE_FEW: few,
        TIMELINE_MANY: count_queries(client, url, **params)[0],
    }


def test_case_page_runs_the_same_queries_with_few_and_many_history_rows(
    world, client_for, django_assert_num_queries
):
    """History grows too: 60 deadline extensions (order and extension history, 120 rows and
    more) cost no more queries than one."""
    order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=1
    )

    def extend(times):
        for i in range(times):
            services.extend_deadline(
                order=order,
                acting_user=world.caseworker,
                new_deadline=order.__class__.objects.get(pk=order.pk).deadline + timedelta(days=1),
                reason=f"Forlenget {i}",
            )

    extend(1)
    client = client_for(world.caseworker)
    url = f"/saker/{order.pk}/"
    client.get(url)
    few, response = count_queries(client, url)
    assert response.context["timeline_page"].paginator.num_pages == 1
    extend(60)
    with django_assert_num_queries(few):
        response = client.get(url)
    assert response.context["timeline_page"].paginator.num_pages > 2
    with django_assert_num_queries(few):
        client.get(url, {"tidslinje": 3})


def test_case_readers_page_runs_the_same_queries_with_5_and_100_reads(
    world, client_for, django_assert_num_queries
):
    order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=1
    )
    _reads(world, order, 4)  # the measured request adds the fifth
    client = client_for(world.gp_user)
    url = f"/saker/{order.pk}/innsyn/"
    client.get(f"/saker/{order.pk}/")  # warm up (and one more read)
    few, response = count_queries(client, url)
    assert response.context["page"].paginator.count == 6

    _reads(world, order, 100 - 6)

    with django_assert_num_queries(few):
        response = client.get(url)
    assert response.context["page"].paginator.count == 101
    assert len(response.context["reads"]) == settings.PAGE_SIZE
    with django_assert_num_queries(few):
        response = client.get(url, {"side": response.context["page"].paginator.num_pages})
    assert response.context["reads"]
    MEASURED["case readers page"] = {5: few, 100: count_queries(client, url)[0]}
