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
