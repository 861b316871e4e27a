"""Access events, archive records and change history are written once and never changed.

In the application (both databases) the models refuse save() of an existing row, delete() and
queryset update()/delete(). On PostgreSQL the database refuses it too, whoever asks: a pgtrigger
on audit_accessevent, audit_auditarchive and every simple-history table; and the application's
runtime role has no UPDATE, DELETE or TRUNCATE on them at all (test_runtime_role.py).
"""

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from simple_history.models import HistoricalChanges

import audit
from audit import chain
from audit.models import AccessEvent, AppendOnly, AuditArchive
from municipalities.models import Authority
from orders.models import Order

from .helpers import TABLE, behind_the_applications_back, postgresql_only, record_events

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    return record_events(1)[0]


@pytest.fixture
def archive_record():
    now = timezone.now()
    return AuditArchive.objects.create(
        archived_at=now,
        performed_by="Kari Revisor",
        cutoff=now,
        first_sequence=1,
        last_sequence=1,
        last_hash="a" * 64,
        event_count=1,
        file_name="access-log-1-1.jsonl",
        file_sha256="b" * 64,
    )


# --- in the application (every database) -------------------------------------------------


def test_saving_a_changed_access_event_is_refused(event):
    event.action = "search_cases"

    with pytest.raises(AppendOnly):
        event.save()

    assert AccessEvent.objects.get(pk=event.pk).action == "view_case"


def test_deleting_an_access_event_is_refused(event):
    with pytest.raises(AppendOnly):
        event.delete()

    assert AccessEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda qs: qs.update(action="search_cases"), id="update"),
        pytest.param(
            lambda qs: qs.filter(sequence=1).update(outcome="refused"), id="filter-update"
        ),
        pytest.param(lambda qs: qs.delete(), id="delete"),
        pytest.param(lambda qs: qs.filter(sequence=1).delete(), id="filter-delete"),
        pytest.param(lambda qs: qs.bulk_update(list(qs), ["action"]), id="bulk_update"),
    ],
)
def test_queryset_changes_to_access_events_are_refused(event, change):
    with pytest.raises(AppendOnly):
        change(AccessEvent.objects.all())

    assert AccessEvent.objects.get(pk=event.pk).hash == chain.hash_of(event)
    assert chain.verify().broken is None


def test_archive_records_are_append_only_too(archive_record):
    archive_record.performed_by = "someone else"
    with pytest.raises(AppendOnly):
        archive_record.save()
    with pytest.raises(AppendOnly):
        archive_record.delete()
    with pytest.raises(AppendOnly):
        AuditArchive.objects.update(event_count=0)
    with pytest.raises(AppendOnly):
        AuditArchive.objects.all().delete()

    assert AuditArchive.objects.get(pk=archive_record.pk).performed_by == "Kari Revisor"


def test_a_user_who_appears_in_the_access_log_cannot_be_deleted(world):
    event = audit.record(user=world.caseworker, action=audit.Action.VIEW_CASE, target="order:1")

    with pytest.raises(ProtectedError):
        world.caseworker.delete()

    assert AccessEvent.objects.get(pk=event.pk).user_id == world.caseworker.pk
    assert chain.verify().broken is None


# --- in the database (PostgreSQL) --------------------------------------------------------


def refused_by_the_database(sql, params=None):
    """Run ``sql`` in a savepoint (so the test's transaction survives) and return the error."""
    with pytest.raises(DatabaseError) as caught:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    assert "pgtrigger" in str(caught.value), str(caught.value)
    return caught.value


@postgresql_only
def test_database_refuses_raw_update_of_an_access_event(event):
    error = refused_by_the_database(
        f"UPDATE {TABLE} SET action = 'search_cases' WHERE id = %s", [event.pk]
    )

    assert "audit_accessevent" in str(error)
    assert AccessEvent.objects.get(pk=event.pk).action == "view_case"
    assert chain.verify().broken is None


@postgresql_only
def test_database_refuses_raw_delete_of_an_access_event(event):
    refused_by_the_database(f"DELETE FROM {TABLE} WHERE id = %s", [event.pk])
    refused_by_the_database(f"DELETE FROM {TABLE}")

    assert AccessEvent.objects.filter(pk=event.pk).exists()
    assert chain.verify().broken is None


@postgresql_only
def test_database_refuses_changes_to_archive_records(archive_record):
    table = AuditArchive._meta.db_table
    refused_by_the_database(
        f"UPDATE {table} SET event_count = 0 WHERE id = %s", [archive_record.pk]
    )
    refused_by_the_database(f"DELETE FROM {table} WHERE id = %s", [archive_record.pk])

    assert AuditArchive.objects.get(pk=archive_record.pk).event_count == 1


@postgresql_only
def test_database_refuses_changes_to_order_history(world, order):
    table = Order.history.model._meta.db_table
    assert table == "orders_historicalorder"
    assert Order.history.filter(id=order.pk).exists()

    refused_by_the_database(
        f"UPDATE {table} SET case_number = '2026/9999' WHERE id = %s", [order.pk]
    )
    refused_by_the_database(f"DELETE FROM {table} WHERE id = %s", [order.pk])

    assert not Order.history.filter(case_number="2026/9999").exists()
    assert Order.history.filter(id=order.pk).exists()


@postgresql_only
def test_database_refuses_changes_to_authority_history(world):
    table = Authority.history.model._meta.db_table
    assert table == "municipalities_historicalauthority"
    rows = Authority.history.filter(id=world.authority.pk).count()
    assert rows

    refused_by_the_database(
        f"UPDATE {table} SET name = 'Someone else' WHERE id = %s", [world.authority.pk]
    )
    refused_by_the_database(f"DELETE FROM {table}")
    # Through the ORM it is the same statement, and the same refusal.
    with pytest.raises(DatabaseError, match="pgtrigger"), transaction.atomic():
        Authority.history.filter(id=world.authority.pk).update(name="Someone else")

    assert Authority.history.filter(id=world.authority.pk).count() == rows
    assert not Authority.history.filter(name="Someone else").exists()


@postgresql_only
def test_setting_aside_the_access_log_trigger_opens_no_history_table(world, order):
    """archive_audit's exemption is for audit_accessevent only."""
    table = Order.history.model._meta.db_table
    with behind_the_applications_back():
        refused_by_the_database(f"DELETE FROM {table} WHERE id = %s", [order.pk])

    assert Order.history.filter(id=order.pk).exists()


HISTORY_TABLES = sorted(
    model._meta.db_table for model in apps.get_models() if issubclass(model, HistoricalChanges)
)


def test_there_are_history_tables_to_protect():
    assert "orders_historicalorder" in HISTORY_TABLES
    assert "municipalities_historicalauthority" in HISTORY_TABLES


@postgresql_only
@pytest.mark.parametrize("table", [TABLE, AuditArchive._meta.db_table, *HISTORY_TABLES])
def test_every_append_only_table_has_its_trigger_installed_and_enabled(table):
    """Also a history table added later with plain HistoricalRecords would show up here."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relname = %s AND t.tgname LIKE 'pgtrigger_append_only_%%' "
            "AND NOT t.tgisinternal",
            [table],
        )
        states = [row[0] for row in cursor.fetchall()]

    assert states == ["O"]  # one trigger, fired on every ordinary write


# The event's deferred foreign-key check is still pending in the test's transaction, and
# PostgreSQL will not truncate a table with pending trigger events.
FIRE_PENDING_CHECKS = "SET CONSTRAINTS ALL IMMEDIATE"


@postgresql_only
def test_a_truncated_access_log_is_detected_by_verify(event):
    """TRUNCATE is refused by privileges, not a trigger: the runtime role has none
    (test_runtime_role.py). The tables' owner may truncate, as pytest-django's flush does, and
    could as well disable or drop any trigger; what the owner does is caught by verify_audit,
    and with the head reset too, by its anchors (test_anchors.py)."""
    from .helpers import broken_verify_audit

    with connection.cursor() as cursor:
        cursor.execute(f"{FIRE_PENDING_CHECKS}; TRUNCATE {TABLE}")

    error = broken_verify_audit()

    assert "the chain ends at #0 but its head says #1" in str(error)
