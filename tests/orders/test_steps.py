"""The steps table (orders.steps) and everything that must agree with it: the flow's human
nodes, the step pages, the access rule, the notices. These fail when one of them drifts from
the others: a node without a row, a row without a node or a page, an actor without a rule.

Who may take each step is asked over HTTP, as the people concerned would, and viewflow's own
node checks must give the same answer.
"""

import ast
import io
import weakref
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.db.models.signals import post_save
from django.template.loader import get_template
from guardian.shortcuts import assign_perm
from viewflow.workflow.fields import get_flow_ref, get_task_ref
from viewflow.workflow.models import Task

from orders import access, deadline_kinds, flows, notifications, steps, views
from orders.flows import OrderFlow
from orders.models import ACT_AS_CASEWORKER, Notification
from orders.steps import Actor
from tests import factories
from tests.orders import lifecycle

OSLO = ZoneInfo("Europe/Oslo")
ISSUED = datetime(2027, 1, 4, 9, 0, tzinfo=OSLO)
# Planning deadline 3 February; after the grace period the follow-up opens on 11 February.
FOLLOW_UP_OPENS = datetime(2027, 2, 11, 0, 10, tzinfo=OSLO)
ROOT = Path(__file__).resolve().parents[2]


def human_nodes():
    return {node.name: node for node in OrderFlow.instance.nodes() if node.task_type == "HUMAN"}


# --- the flow, the table and the pages agree ---------------------------------------------


def test_every_human_node_of_the_flow_is_a_row_of_the_steps_table_and_back():
    assert set(human_nodes()) == set(steps.STEPS)


def test_each_node_is_its_row_with_the_rows_title():
    for name, node in human_nodes().items():
        row = steps.STEPS[name]
        assert isinstance(node, flows.Step), name
        assert node.step is row, name
        assert str(node.task_title) == str(row.title), name


def test_each_row_is_stored_as_the_flow_stores_its_node():
    # Lists filter viewflow's task table by these strings without loading the flow.
    assert steps.FLOW_REF == get_flow_ref(OrderFlow)
    for name, node in human_nodes().items():
        assert steps.STEPS[name].task_ref == get_task_ref(node), name


def test_a_step_has_deadline_timers_exactly_when_its_row_names_a_deadline():
    kinds = {deadline_kinds.Kind.PLANNING, deadline_kinds.Kind.COMPLETION}
    for name, node in human_nodes().items():
        row = steps.STEPS[name]
        assert row.deadline in kinds | {""}, name
        # The reminder, the overdue notice and the follow-up (flows._step).
        assert len(node._boundary_events) == (3 if row.deadline else 0), name


def test_every_row_has_a_page_and_every_page_a_row():
    assert set(views.STEPS) == set(steps.STEPS)
    for name, page in views.STEPS.items():
        assert page["template"] == f"orders/step_{name}.html", name
        get_template(page["template"])
    templates = {p.stem.removeprefix("step_") for p in (ROOT / "templates/orders").glob("step_*")}
    assert templates == set(steps.STEPS)


def test_every_actor_has_an_access_rule_a_list_filter_and_recipients():
    assert set(access.ACTOR_RULES) == set(Actor)
    assert set(access.ACTOR_FILTERS) == set(Actor)
    assert set(notifications.RECIPIENTS) == set(Actor)
    assert {row.actor for row in steps.STEPS.values()} <= set(Actor)


def test_every_row_has_titles_and_a_notice_kind():
    for name, row in steps.STEPS.items():
        assert str(row.title), name
        assert row.notice in Notification.Kind.values, name
    # The stages a list shows are the rows' waiting labels.
    waiting = {row.name for row in steps.STEPS.values() if row.waiting}
    assert waiting == {"plan_measures", "acknowledge", "confirm_completion", "sign_off"}


# --- who may take each step: the row's actor, as the pages and viewflow's checks answer --

# Who of the people around an order the rule of each actor lets take a step.
MAY_TAKE = {
    Actor.MUNICIPALITY: {"leader"},
    Actor.PERSONNEL: {"gp"},
    Actor.AUTHORITY: {"caseworker", "colleague", "stand_in", "group_stand_in"},
}


def _people(world, order):
    stand_in = factories.UserFactory(username="stedfortreder")
    assign_perm(ACT_AS_CASEWORKER, stand_in, order)
    group = Group.objects.create(name="Stedfortredere")
    assign_perm(ACT_AS_CASEWORKER, group, order)
    group_stand_in = factories.UserFactory(username="gruppe.stedfortreder")
    group_stand_in.groups.add(group)
    return {
        "leader": world.leader,
        "gp": world.gp_user,
        "caseworker": world.caseworker,
        "colleague": factories.caseworker_for(world.authority, username="kollega"),
        "stand_in": stand_in,
        "group_stand_in": group_stand_in,
    }


def open_step(world, name, time_machine):
    """An order of ``world`` with the step ``name`` open, reached through the services."""
    time_machine.move_to(ISSUED, tick=False)
    order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp
    )
    if name == "follow_up":
        time_machine.move_to(FOLLOW_UP_OPENS, tick=False)
        call_command("run_deadlines", stdout=io.StringIO())
        return order, lifecycle.open_task(order, name)
    for done, take in (
        ("plan_measures", lambda: lifecycle.plan(order, world.leader)),
        ("acknowledge", lambda: lifecycle.acknowledge(order)),
        ("confirm_completion", lambda: lifecycle.confirm(order, world.leader)),
    ):
        if name == done:
            break
        take()
    return order, lifecycle.open_task(order, name)


@pytest.mark.parametrize("name", list(steps.STEPS))
def test_who_may_take_each_step_is_its_actors_rule(world, client_for, time_machine, name):
    order, task = open_step(world, name, time_machine)
    people = _people(world, order)
    allowed = MAY_TAKE[steps.STEPS[name].actor]
    for who, user in people.items():
        response = client_for(user).get(f"/saker/{order.pk}/steg/{task.pk}/")
        expected = 200 if who in allowed else 403
        assert response.status_code == expected, (name, who)
        # viewflow's own checks give the rule the page enforces.
        task = Task.objects.get(pk=task.pk)
        assert task.flow_task.can_execute(user, task) is (who in allowed), (name, who)
        # Taking an unassigned step is the same rule; the GP's step is theirs from the start.
        may_assign = who in allowed and task.owner_id is None
        assert task.flow_task.can_assign(user, task) is may_assign, (name, who)
        assert access.Capabilities.of(user).may_take_step(order, task) is (who in allowed), (name, who)


def test_the_person_the_order_concerns_may_not_take_a_caseworker_step_as_stand_in(
    world, client_for, time_machine
):
    order, task = open_step(world, "sign_off", time_machine)
    assign_perm(ACT_AS_CASEWORKER, world.gp_user, order)
    assert client_for(world.gp_user).get(f"/saker/{order.pk}/steg/{task.pk}/").status_code == 403
    assert task.flow_task.can_execute(world.gp_user, task) is False
    assert task.flow_task.can_assign(world.gp_user, task) is False


# --- everyone who may take a step is told when it opens ----------------------------------


def told(order, kind):
    return {n.recipient.username for n in Notification.objects.filter(order=order, kind=kind)}


def test_stand_ins_are_told_when_the_sign_off_opens_and_mailed(world, time_machine):
    order, _task = open_step(world, "confirm_completion", time_machine)
    people = _people(world, order)
    before = set(Notification.objects.values_list("pk", flat=True))

    lifecycle.confirm(order, world.leader)

    new = Notification.objects.filter(order=order, kind=Notification.Kind.NEW_TASK).exclude(
        pk__in=before
    )
    # The order's caseworker and its stand-ins, directly or through a group; not every
    # caseworker of the authority, nor the municipality.
    assert {n.recipient.username for n in new} == {
        "saksbehandler",
        "stedfortreder",
        "gruppe.stedfortreder",
    }
    assert not people["colleague"].notifications.exists()

    mail.outbox.clear()
    call_command("run_deadlines", stdout=io.StringIO())
    mailed_to = sorted(m.to[0] for m in mail.outbox)
    assert people["stand_in"].email in mailed_to
    assert people["group_stand_in"].email in mailed_to
    assert people["colleague"].email not in mailed_to


def test_stand_ins_are_told_of_a_follow_up(world, time_machine):
    time_machine.move_to(ISSUED, tick=False)
    order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp
    )
    people = _people(world, order)
    time_machine.move_to(FOLLOW_UP_OPENS, tick=False)
    call_command("run_deadlines", stdout=io.StringIO())

    assert told(order, Notification.Kind.ESCALATION) == {
        "saksbehandler",
        "stedfortreder",
        "gruppe.stedfortreder",
    }
    for notice in Notification.objects.filter(order=order, kind=Notification.Kind.ESCALATION):
        assert notice.deadline_kind == deadline_kinds.Kind.PLANNING
    assert not people["colleague"].notifications.exists()


def test_a_stand_in_the_order_concerns_is_never_told_to_act(world, time_machine):
    order, _task = open_step(world, "confirm_completion", time_machine)
    assign_perm(ACT_AS_CASEWORKER, world.gp_user, order)
    before = set(Notification.objects.values_list("pk", flat=True))
    lifecycle.confirm(order, world.leader)
    new = Notification.objects.filter(order=order).exclude(pk__in=before)
    assert {n.recipient.username for n in new} == {"saksbehandler"}


def test_an_inactive_stand_in_is_not_told(world, time_machine):
    order, _task = open_step(world, "confirm_completion", time_machine)
    gone = factories.UserFactory(username="sluttet", is_active=False)
    assign_perm(ACT_AS_CASEWORKER, gone, order)
    lifecycle.confirm(order, world.leader)
    assert not gone.notifications.exists()


# --- the modules around the steps: no circle, no hidden import, no receiver ----------------

FLOW_MODULES = ("steps", "deadline_kinds", "flows", "deadlines", "notifications", "access")


def _project_imports(module, *, top_level_only):
    """The project modules ``orders.<module>`` imports (at module level, or anywhere)."""
    path = ROOT / "orders" / f"{module}.py"
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = "orders" if node.level == 1 else ""
                target = f"{base}.{node.module}" if node.module else base
                names = [f"{target}.{a.name}" if not node.module else target for a in node.names]
                found.update(names)
            elif node.module:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def _module_file(name):
    path = ROOT / (name.replace(".", "/") + ".py")
    package = ROOT / name.replace(".", "/") / "__init__.py"
    return path if path.exists() else package if package.exists() else None


def _closure(start):
    """Every project module that importing ``start`` loads through module-level imports."""
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(name)
        if path is None:
            continue
        seen.add(name)
        tree = ast.parse(path.read_text())
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in tree.body:
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    target = f"{base}.{node.module}" if node.module else base
                    todo.append(target)
                    todo.extend(f"{target}.{a.name}" for a in node.names)
                elif node.module:
                    todo.append(node.module)
                    todo.extend(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                todo.extend(a.name for a in node.names)
    return seen


def _sends_mail(name):
    text = _module_file(name).read_text()
    return "django.core.mail" in text and "send_mail" in text


def test_importing_the_access_module_loads_no_mail_code_and_not_the_flow():
    loaded = _closure("orders.access")
    assert "orders.notifications" not in loaded
    assert "orders.flows" not in loaded
    assert [name for name in sorted(loaded) if _sends_mail(name)] == []


def test_the_steps_table_reads_none_of_the_modules_that_read_it():
    loaded = _closure("orders.steps")
    assert not loaded & {f"orders.{m}" for m in ("flows", "access", "notifications", "deadlines")}


def test_no_import_circle_among_the_flow_modules():
    for module in FLOW_MODULES:
        name = f"orders.{module}"
        for imported in _project_imports(module, top_level_only=True):
            if imported != name and _module_file(imported) is not None:
                assert name not in _closure(imported), (name, imported)


def test_the_flow_modules_hide_no_project_import_inside_a_function():
    for module in FLOW_MODULES:
        anywhere = _project_imports(module, top_level_only=False)
        top = _project_imports(module, top_level_only=True)
        hidden = {name for name in anywhere - top if name.split(".")[0] in PROJECT_PACKAGES}
        assert hidden == set(), module


PROJECT_PACKAGES = {"orders", "courses", "municipalities", "audit", "config"}


def test_no_post_save_receiver_of_the_orders_app_writes_behind_the_services():
    receivers = []
    for entry in post_save.receivers:
        receiver = entry[1]
        if isinstance(receiver, weakref.ReferenceType):
            receiver = receiver()
        receivers.append(receiver)
    modules = {getattr(r, "__module__", "") or "" for r in receivers if r is not None}
    assert {m for m in modules if m.startswith("orders")} == set()
