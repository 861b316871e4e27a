"""The bulk copies the list tests grow with (tests/bulk.py) are in the state of the order they
copy: the same open step, tasks, measures and next deadline, listed where it is listed. Without
this the query-count tests could measure lists of orders no service would leave behind."""

from datetime import timedelta

import pytest
from django.utils import timezone
from viewflow.workflow.models import Task

from municipalities.workdays import next_working_day
from orders import selectors
from orders.access import Capabilities
from orders.models import NextDeadline, Order
from tests import bulk, factories
from tests.orders import lifecycle


def _tasks(order):
    rows = Task.objects.filter(process_id=order.pk).values_list(
        "flow_task", "flow_task_type", "status", "owner_id"
    )
    # A flow task is a node of the flow, not a string: compared by the name it is stored as.
    return sorted((str(node), kind, status, owner) for node, kind, status, owner in rows)


def _deadline(order):
    row = NextDeadline.objects.get(order_id=order.pk)
    return row.due, row.kind


@pytest.mark.parametrize("stage", [None, *lifecycle.STAGES])
def test_copies_are_in_the_state_of_the_order_they_copy(world, stage):
    template = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=1
    )
    if stage is not None:
        lifecycle.advance(template, world.leader, stage, measures=2)

    copies = bulk.copy_orders([template], 3, start=500)

    listed = {o.pk: o for o in selectors.orders_for_list(Capabilities.of(world.caseworker))}
    template = listed[template.pk]
    assert [c.case_number for c in copies] == ["2026/500", "2026/501", "2026/502"]
    for copy in copies:
        copy = listed[copy.pk]
        assert copy.deadline == template.deadline
        assert selectors.stage_of(copy) == selectors.stage_of(template)
        assert (copy.status, copy.health_personnel, copy.municipality) == (
            template.status,
            template.health_personnel,
            template.municipality,
        )
        assert _tasks(copy) == _tasks(template)
        assert sorted(copy.measures.values_list("kind", "course_id", "supervisor_id")) == sorted(
            template.measures.values_list("kind", "course_id", "supervisor_id")
        )
        assert _deadline(copy) == _deadline(template)
        if stage is not None:
            assert lifecycle.open_task(copy, stage)


def test_copies_are_on_the_task_lists_of_those_who_act_next(world):
    at_acknowledge = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=1
    )
    lifecycle.advance(at_acknowledge, world.leader, "acknowledge")
    at_planning = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=2
    )

    gp_copies = bulk.copy_orders([at_acknowledge], 2, start=600)
    leader_copies = bulk.copy_orders([at_planning], 2, start=700)

    def listed(user):
        return {task.process_id for task in selectors.tasks_for(Capabilities.of(user))}

    assert listed(world.gp_user) == {at_acknowledge.pk, *(c.pk for c in gp_copies)}
    assert listed(world.leader) == {at_planning.pk, *(c.pk for c in leader_copies)}
    assert not listed(world.other_leader)


def test_copies_given_a_deadline_are_due_a_day_apart_and_their_next_deadline_follows(world):
    template = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=1
    )
    lifecycle.advance(template, world.leader, "confirm_completion")
    deadline = timezone.localdate() + timedelta(days=300)

    copies = bulk.copy_orders([template], 3, start=500, deadline=deadline)

    for i, copy in enumerate(copies):
        assert Order.objects.get(pk=copy.pk).deadline == deadline + timedelta(days=i)
        # The completion deadline is the order's own: the next deadline moved with it, off a
        # weekend or holiday as every deadline is (today + 300 may fall on a Sunday).
        assert _deadline(copy) == (
            next_working_day(deadline + timedelta(days=i)),
            _deadline(template)[1],
        )
