"""Appeal rules beyond the lifecycle: who may uphold, and reversal after the case closed."""

from datetime import timedelta

import pytest
from django.utils import timezone
from viewflow.workflow.status import PROCESS

from orders import access, selectors
from orders.models import Appeal, Order
from tests.orders.http_flow import Driver


@pytest.fixture
def drive(client_for, world):
    return Driver(client_for, world)


def test_issuing_authority_cannot_uphold_its_own_order(order, drive):
    drive.appeal(order)
    appeal = Appeal.objects.get(order=order)
    response = drive.decide(order, appeal, "upheld", "authority", timezone.localdate())
    assert response.status_code == 200
    assert "decided_by" in response.context["form"].errors
    appeal.refresh_from_db()
    assert appeal.outcome == Appeal.Outcome.PENDING


def test_fulfilled_order_reversed_on_appeal_reads_as_withdrawn(order, drive, client_for, world):
    drive.appeal(order, received_on=timezone.localdate() - timedelta(days=1))
    appeal = Appeal.objects.get(order=order)
    drive.through_confirmation(order)
    drive.sign_off(order)
    assert Order.objects.get(pk=order.pk).status == PROCESS.DONE

    response = drive.decide(order, appeal, "reversed", "nemnd", timezone.localdate())
    assert response.status_code == 302
    closed = selectors.order_for(access.Capabilities.of(world.caseworker), order.pk)
    assert closed.withdrawal_reason
    assert selectors.stage_of(closed) == selectors.STAGE_LABELS[PROCESS.CANCELED]
    history = list(Order.history.filter(process_ptr_id=order.pk).order_by("history_date"))
    assert history[-1].history_user == world.caseworker
    assert history[-1].withdrawal_reason == closed.withdrawal_reason
