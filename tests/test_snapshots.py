"""The snapshot fixtures (tests/snapshots.py) give each test what building the fixture through
the services gives: the same rows in every table, the documents and the mail."""

from django.core import mail
from django.db import transaction
from viewflow.workflow.status import PROCESS

from orders import notifications
from orders.models import Notification, Order
from tests import snapshots
from tests.orders import lifecycle
from tests.snapshots import snapshot_fixture


@snapshot_fixture
def confirmed(world, order):
    """The order confirmed with a document, and its notices e-mailed."""
    lifecycle.advance(order, world.leader, "sign_off")
    notifications.send_pending()
    return order


def test_rows_written_back_are_exactly_the_rows_the_build_wrote(world, order):
    models = snapshots._models()
    before = snapshots._dump(models)
    savepoint = transaction.savepoint()
    lifecycle.advance(order, world.leader, "sign_off")
    built = snapshots._dump(models)
    transaction.savepoint_rollback(savepoint)
    assert snapshots._dump(models) == before

    snapshots.Changes.between(before, built).write()

    assert snapshots._dump(models) == built


def _check_confirmed(confirmed, client_for, world):
    document = confirmed.documents.get()
    response = client_for(world.caseworker).get(f"/saker/{confirmed.pk}/dokumenter/{document.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert lifecycle.open_task(confirmed, "sign_off")
    assert Notification.objects.filter(order=confirmed, emailed_at__isnull=False).exists()
    assert mail.outbox, "the mail the build sent"


def test_the_first_test_gets_the_documents_and_mail_of_the_build(confirmed, client_for, world):
    _check_confirmed(confirmed, client_for, world)


def test_a_later_test_gets_them_as_well(confirmed, client_for, world):
    # Written back from the snapshot the first test recorded, not built again.
    assert [key for key in snapshots._CACHE if key[0] == __name__]
    _check_confirmed(confirmed, client_for, world)


def test_what_a_test_changes_is_gone_for_the_next(confirmed, world):
    lifecycle.sign_off(confirmed, world.caseworker)
    assert Order.objects.get(pk=confirmed.pk).status == PROCESS.DONE


def test_and_the_next_starts_from_the_snapshot_again(confirmed):
    assert Order.objects.get(pk=confirmed.pk).status != PROCESS.DONE
    assert lifecycle.open_task(confirmed, "sign_off")
