"""A page asks the database about permissions a constant, small number of times: the user's
grants are resolved once per request (orders.access.Capabilities), whatever the number of open
tasks on the case. The case page, the step page and the measure page are measured as each of
the people on a case, with one open task and with several (the step and two follow-ups); and
the menu every page shows costs a fixed number of queries.

Permission queries are those that read a grant table: guardian's object-permission tables,
auth_permission, the supervision grants and the appointments."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm, remove_perm
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from courses.models import Measure
from municipalities.models import ACT_FOR_MUNICIPALITY
from orders.flows import OrderFlow
from orders.models import ACT_AS_CASEWORKER
from tests import factories
from tests.orders import lifecycle
from tests.snapshots import snapshot_fixture

# A quoted table name (both SQLite and PostgreSQL quote them) that holds grants; the history
# tables (orders_historicalsupervisiongrant, read by the timeline) are not grants.
PERMISSION_TABLE = re.compile(
    r'"(?:[a-z_]*objectpermission|auth_permission|orders_supervisiongrant'
    r'|municipalities_appointment)"'
)
# Each request resolves the user's grants in one query; the measure page asks one more, about
# the named supervisor's login (no appointment), for the leader who may invite them.
MAX_PERMISSION_QUERIES = 2
EXTRA_OPEN_TASKS = 2

ROLES = ("caseworker", "leader", "gp", "stand_in", "supervisor")


def _case(world, *, number):
    """An order with a course and a supervision by world.supervisor, planned (the GP's
    acknowledgement is open), with a stand-in caseworker granted it."""
    order = factories.issue_order(
        caseworker=world.caseworker,
        authority=world.authority,
        personnel=world.gp,
        number=number,
        requires_supervision=True,
    )
    lifecycle.plan(order, world.leader, measures=2, supervisor=world.supervisor)
    return order


def _add_follow_ups(order, count):
    """Open follow-up tasks beside the open step, as the deadline timers open them (a case can
    have a step and follow-ups open at once): each behind a finished follow-up gate on the
    late step, which is what the escalation notice reads."""
    late = lifecycle.open_task(order, "acknowledge")
    for _ in range(count):
        gate = Task.objects.create(
            process=order,
            flow_task=OrderFlow.consider_follow_up,
            flow_task_type=OrderFlow.consider_follow_up.task_type,
            status=STATUS.DONE,
        )
        gate.previous.add(late)
        follow_up = Task.objects.create(
            process=order,
            flow_task=OrderFlow.follow_up,
            flow_task_type="HUMAN",
            status=STATUS.NEW,
        )
        follow_up.previous.add(gate)


@snapshot_fixture
def cases(world):
    one = _case(world, number=7001)
    several = _case(world, number=7002)
    _add_follow_ups(several, EXTRA_OPEN_TASKS)
    stand_in = factories.UserFactory(username="stedfortreder")
    for order in (one, several):
        assign_perm(ACT_AS_CASEWORKER, stand_in, order)
    world.supervisor.refresh_from_db()
    people = {
        "caseworker": world.caseworker,
        "leader": world.leader,
        "gp": world.gp_user,
        "stand_in": stand_in,
        "supervisor": world.supervisor.user,
    }
    return {"one": one, "several": several, "people": people}


def _open_tasks(order):
    return Task.objects.filter(
        process_id=order.pk, flow_task_type="HUMAN", status__in=[STATUS.NEW, STATUS.ASSIGNED]
    ).count()


def measure(client, url):
    """(all queries, permission queries) of one GET, after a first one that warms up what a
    client loads once (session, language)."""
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    permission = [q["sql"] for q in queries if PERMISSION_TABLE.search(q["sql"])]
    return len(queries), len(permission)


def case_url(order):
    return f"/saker/{order.pk}/"


def test_the_cases_have_one_and_several_open_tasks(cases):
    assert _open_tasks(cases["one"]) == 1
    assert _open_tasks(cases["several"]) == 1 + EXTRA_OPEN_TASKS


def assert_flat(client, cases, url_of):
    """The page of the case with one open task and of the case with several: the same
    permission queries, at most MAX_PERMISSION_QUERIES, and no more queries in all."""
    (total_one, permission_one), (total_several, permission_several) = (
        measure(client, url_of(cases[key])) for key in ("one", "several")
    )
    assert permission_one == permission_several
    assert 1 <= permission_one <= MAX_PERMISSION_QUERIES
    assert total_several <= total_one


@pytest.mark.parametrize("role", ROLES)
def test_case_page_asks_about_permissions_once_whatever_the_open_tasks(client_for, cases, role):
    assert_flat(client_for(cases["people"][role]), cases, case_url)


def test_caseworker_sees_the_follow_ups_as_theirs_and_the_step_as_waiting(client_for, cases):
    """The several tasks are really on the page: the follow-ups are the caseworker's to take."""
    response = client_for(cases["people"]["caseworker"]).get(case_url(cases["several"]))
    mine = [task for task, may in response.context["open_tasks"] if may]
    assert len(response.context["open_tasks"]) == 1 + EXTRA_OPEN_TASKS
    assert len(mine) == EXTRA_OPEN_TASKS
    assert all(task.flow_task.name == "follow_up" for task in mine)


def test_gp_step_page_asks_about_permissions_once(client_for, cases):
    def step_url(order):
        return f"/saker/{order.pk}/steg/{lifecycle.open_task(order, 'acknowledge').pk}/"

    assert_flat(client_for(cases["people"]["gp"]), cases, step_url)


@pytest.mark.parametrize("role", ROLES)
def test_measure_page_asks_about_permissions_a_fixed_number_of_times(client_for, cases, role):
    def measure_url(order):
        supervision = order.measures.get(kind=Measure.Kind.SUPERVISION)
        return f"/saker/{order.pk}/tiltak/{supervision.pk}/"

    assert_flat(client_for(cases["people"][role]), cases, measure_url)


@pytest.mark.parametrize("role", ROLES)
def test_the_menu_costs_a_fixed_small_number_of_queries(client_for, cases, world, role):
    """The course catalog shows little but the menu: the grants (one query) and the menu's
    flags (one query) are all it asks about the user, however many grants they hold."""
    user = cases["people"][role]
    client = client_for(user)
    total, permission = measure(client, "/kurs/")
    assert permission == 1
    for _ in range(3):
        more = factories.MunicipalityFactory(authority=world.authority)
        assign_perm(ACT_FOR_MUNICIPALITY, user, more)
    total_more, permission_more = measure(client, "/kurs/")
    assert permission_more == 1
    assert total_more == total


def test_a_role_ended_shows_on_the_next_page(client_for, cases, world):
    """The capabilities belong to one request: a grant removed between two pages is gone on
    the second (nothing is kept on the user or the session)."""
    stand_in = cases["people"]["stand_in"]
    client = client_for(stand_in)
    assert client.get(case_url(cases["one"])).status_code == 200
    remove_perm(ACT_AS_CASEWORKER, stand_in, cases["one"])
    assert client.get(case_url(cases["one"])).status_code == 404
    assert client.get(case_url(cases["several"])).status_code == 200
