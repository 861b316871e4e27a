"""Bulk writes that would skip change history are refused."""

import pytest

from audit.guards import BypassesHistory
from courses.models import Measure
from municipalities.models import Municipality
from orders.models import Order


def test_bulk_update_of_orders_is_refused(order):
    with pytest.raises(BypassesHistory):
        Order.objects.filter(pk=order.pk).update(deadline=order.decision_date)
    order.refresh_from_db()
    assert order.deadline > order.decision_date


@pytest.mark.parametrize("model", [Order, Measure, Municipality])
def test_queryset_delete_is_refused(order, model):
    before = model.objects.count()
    with pytest.raises(BypassesHistory):
        model.objects.all().delete()
    assert model.objects.count() == before


def test_bulk_writes_are_allowed_where_history_is_written_explicitly(order):
    from simple_history.utils import bulk_update_with_history

    from audit.guards import history_written_explicitly

    order.deadline = order.deadline.replace(year=order.deadline.year + 1)
    before = order.history.count()
    with history_written_explicitly():
        bulk_update_with_history([order], Order, ["deadline"])
    assert Order.objects.get(pk=order.pk).deadline == order.deadline
    assert order.history.count() == before + 1
