"""Helpers for the access-log tests: write a run of events, tamper with them behind the
application's back (raw SQL, with PostgreSQL's append-only and chain-head triggers set aside as
an intruder with the table owner's rights could), run the commands, and make the database refuse
writes."""

import contextlib
import threading
from io import StringIO

import pgtrigger
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

import audit
from audit import chain
from audit.models import AccessEvent, ChainHead

TABLE = AccessEvent._meta.db_table

on_postgresql_only = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (set DATABASE_URL=postgres://…)",
    ),
]


def postgresql_only(test):
    for mark in reversed(on_postgresql_only):
        test = mark(test)
    return test


def record_events(count, *, action=audit.Action.VIEW_CASE):
    """``count`` access events written through the application, oldest first."""
    return [
        audit.record(action=action, target=f"order:{n}", detail=f"read number {n}")
        for n in range(1, count + 1)
    ]


@contextlib.contextmanager
def behind_the_applications_back():
    """Raw SQL as someone with the table owner's rights: on PostgreSQL the append-only trigger
    and the chain head's trigger would refuse the change, so they are set aside (as an intruder
    with the owner's rights could, e.g. by disabling them; for the runtime role the chain head's
    trigger is never set aside)."""
    if connection.vendor == "postgresql":
        with pgtrigger.ignore("audit.AccessEvent:append_only", "audit.ChainHead:forward_only"):
            yield
    else:
        yield


def raw_sql(sql, params=None):
    with behind_the_applications_back(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def move_chain_head(**fields):
    """Set the chain head's fields as the owner can (its trigger set aside on PostgreSQL)."""
    with behind_the_applications_back():
        return ChainHead.objects.filter(pk=1).update(**fields)


def insert_raw(event):
    """Insert ``event`` (an unsaved AccessEvent) with raw SQL, hash and all as given."""
    fields = [f for f in AccessEvent._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    values = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in fields]
    placeholders = ", ".join(["%s"] * len(fields))
    raw_sql(f"INSERT INTO {TABLE} ({columns}) VALUES ({placeholders})", values)


def forged_after(event, **changes):
    """A row that links correctly to ``event`` and hashes correctly: a forger who knows the
    algorithm. Only the chain head (or a copied newest hash) can tell it was not written
    through the application."""
    fields = {
        f.attname: getattr(event, f.attname)
        for f in AccessEvent._meta.concrete_fields
        if not f.primary_key
    }
    forged = AccessEvent(
        **{**fields, "sequence": event.sequence + 1, "previous_hash": event.hash, **changes}
    )
    forged.hash = chain.hash_of(forged)
    return forged


def verify_audit(*args):
    """Run ``manage.py verify_audit``; return its output (it raises CommandError if broken)."""
    out = StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def broken_verify_audit():
    """Run ``manage.py verify_audit`` expecting a broken chain; return the CommandError."""
    with pytest.raises(CommandError) as caught:
        verify_audit()
    return caught.value


def archive_audit(*args):
    out = StringIO()
    call_command("archive_audit", *args, stdout=out)
    return out.getvalue()


@contextlib.contextmanager
def audit_store_refusing_writes():
    """Make the database itself refuse every new access event until the block ends.

    Real DDL, no mocks: a trigger that aborts each INSERT. Inside a test's transaction the DDL
    rolls back with it; it is also dropped on leaving the block."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION test_audit_store_down() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'audit store down'; END; $$"
            )
            cursor.execute(
                f"CREATE TRIGGER test_audit_store_down BEFORE INSERT ON {TABLE} "
                "FOR EACH ROW EXECUTE FUNCTION test_audit_store_down()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER test_audit_store_down BEFORE INSERT ON {TABLE} "
                "BEGIN SELECT RAISE(ABORT, 'audit store down'); END"
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER test_audit_store_down ON {TABLE}")
                cursor.execute("DROP FUNCTION test_audit_store_down()")
            else:
                cursor.execute("DROP TRIGGER test_audit_store_down")


def in_threads(count, work, *, timeout=120):
    """Run ``work(i)`` in ``count`` threads that start together, each on its own connection
    (closed when the thread ends). Returns the errors raised, if any."""
    barrier = threading.Barrier(count)
    errors = []

    def run(i):
        try:
            barrier.wait(timeout=timeout)
            work(i)
        except BaseException as error:  # noqa: BLE001 - reported to the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
        assert not thread.is_alive(), "a writing thread hung"
    return errors
