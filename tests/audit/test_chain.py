"""The hash chain itself: what each link covers, that it survives the database round trip, and
that writers at the same moment still produce one unbroken chain.

The threaded tests need separate connections and real row locks, so they run on PostgreSQL
only: ``DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres pytest tests/audit/``.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from psycopg.pq import TransactionStatus

import audit
from audit import chain
from audit.models import AccessEvent, ChainHead
from tests import bulk

from .helpers import (
    audit_store_refusing_writes,
    behind_the_applications_back,
    in_threads,
    postgresql_only,
    record_events,
)


def capacity(world):
    return audit.Capacity(
        role="caseworker", organisation=world.authority.name, authority_id=world.authority.pk
    )


# --- what a link covers ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_stored_hash_matches_the_row_read_back(world, rf):
    request = rf.get("/saker/1/", REMOTE_ADDR="192.0.2.7")
    request.user = world.caseworker
    written = audit.record(
        request=request,
        action=audit.Action.VIEW_CASE,
        target=world.authority,
        capacity=capacity(world),
        detail="Søk: «Ærlig Øvrebø» → 2026/1",
    )

    stored = AccessEvent.objects.get(pk=written.pk)

    assert stored.hash == written.hash == chain.hash_of(stored)
    assert stored.user == world.caseworker
    assert stored.ip_address == "192.0.2.7"
    assert stored.authority_id == world.authority.pk
    assert chain.verify().broken is None


@pytest.mark.django_db
@pytest.mark.parametrize("name", chain.HASHED_FIELDS)
def test_every_hashed_field_changes_the_hash(world, name):
    event = audit.record(
        user=world.caseworker,
        action=audit.Action.VIEW_CASE,
        target="order:1",
        capacity=capacity(world),
        detail="read",
    )
    before = chain.hash_of(event)
    changed = {
        "sequence": event.sequence + 1,
        "at": event.at + timedelta(microseconds=1),
        "user_id": world.leader.pk,
        "role": "leader",
        "organisation": "Bergen kommune",
        "authority_id": world.other_authority.pk,
        "action": "download_document",
        "target_type": "courses.evidencedocument",
        "target_id": "2",
        "case_id": "2",
        "outcome": "refused",
        "ip_address": "198.51.100.1",
        "detail": "read twice",
        "previous_hash": "f" * 64,
    }[name]

    setattr(event, name, changed)

    assert chain.hash_of(event) != before


def test_every_field_that_describes_the_event_is_hashed():
    """A new column on AccessEvent must be added to the hash, or changing it goes unnoticed."""
    unhashed = {"id", "hash"}
    columns = {f.attname for f in AccessEvent._meta.concrete_fields}
    assert columns - unhashed == set(chain.HASHED_FIELDS)


# On PostgreSQL the hash is computed by the database, from Python's text of the event with the
# head's hash and sequence put in; verify recomputes it in Python. Text that looks like JSON, the
# keys those two are put in beside, escapes and placeholders must not make them differ.
AWKWARD = [
    "Søk: «Ærlig Øvrebø» → 2026/1 😀",
    'quote " backslash \\ slash / tab \t newline \n return \r bell \x07 escape \x1b',
    '"previous_hash": "", "sequence": 0',
    '{"sequence": 0, "previous_hash": ""}',
    "%s %% %(name)s {} $1 ? ' '' ;--",
    "\u2028\u2029\x7f\ufeff",
]


@pytest.mark.django_db
@pytest.mark.parametrize("detail", AWKWARD)
def test_awkward_content_is_hashed_as_verify_hashes_it(world, detail):
    written = audit.record(
        user=world.caseworker,
        action=audit.Action.SEARCH_CASES,
        target=f"search:{detail[:40]}",
        capacity=capacity(world),
        detail=detail,
    )

    stored = AccessEvent.objects.get(pk=written.pk)

    assert stored.detail == detail
    assert stored.hash == written.hash == chain.hash_of(stored)
    assert chain.verify().broken is None


@pytest.mark.django_db
def test_events_are_numbered_in_order_and_each_links_to_the_one_before():
    events = record_events(4)

    assert [e.sequence for e in events] == [1, 2, 3, 4]
    assert [e.previous_hash for e in events] == ["", *(e.hash for e in events[:-1])]
    head = ChainHead.objects.get(pk=1)
    assert (head.sequence, head.hash) == (4, events[-1].hash)
    report = chain.verify()
    assert (report.checked, report.head_hash, report.broken) == (4, events[-1].hash, None)


@pytest.mark.django_db
def test_events_copied_in_bulk_are_further_links_of_the_same_chain(world):
    """tests/bulk.py's copies of written events, for the tests that need hundreds: the
    chain stays whole, the head follows, and an event written after them links on."""
    written = record_events(2)
    copies = bulk.more_events_like(written, 5)
    after = audit.record(action=audit.Action.VIEW_CASE, target="order:9", user=world.leader)

    stored = list(AccessEvent.objects.order_by("sequence"))
    assert [e.sequence for e in stored] == list(range(1, 9))
    assert [e.previous_hash for e in stored] == ["", *(e.hash for e in stored[:-1])]
    assert [e.hash for e in stored[2:7]] == [e.hash for e in copies]
    assert all(e.hash == chain.hash_of(e) for e in stored)
    content = ("action", "target_type", "target_id", "detail", "user_id", "case_id", "role")
    for i, copied in enumerate(stored[2:7]):
        template = written[i % 2]
        assert [getattr(copied, n) for n in content] == [getattr(template, n) for n in content]
    head = ChainHead.objects.get(pk=1)
    assert (head.sequence, head.hash) == (8, after.hash)
    report = chain.verify()
    assert (report.checked, report.head_hash, report.broken) == (8, after.hash, None)


@pytest.mark.django_db
def test_a_write_the_database_refuses_leaves_no_gap_in_the_chain():
    first = record_events(2)
    with audit_store_refusing_writes():
        with pytest.raises(audit.AuditWriteFailed):
            audit.record(action=audit.Action.VIEW_CASE, target="order:9")
    # The head moved in the same transaction as the refused row, and was rolled back with it.
    assert ChainHead.objects.get(pk=1).sequence == 2

    after = record_events(1)

    assert after[0].sequence == 3
    assert after[0].previous_hash == first[-1].hash
    assert chain.verify().broken is None


# --- a writer outside any transaction, on PostgreSQL (as a request is) ----------------------


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_an_event_written_outside_a_transaction_leaves_none_open_and_commits_waiting_again():
    ChainHead.objects.get_or_create(pk=1)
    with connection.cursor() as cursor:
        # As on a server (the test settings turn it off for speed).
        cursor.execute("SET synchronous_commit TO on")
    try:
        [event] = record_events(1)

        assert not connection.in_atomic_block
        assert connection.connection.info.transaction_status == TransactionStatus.IDLE
        with connection.cursor() as cursor:
            # The event's own commit did not wait for the disk; the connection's next ones do.
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone() == ("on",)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")
    assert ChainHead.objects.get(pk=1).hash == event.hash
    assert chain.verify().broken is None


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_write_refused_outside_a_transaction_leaves_no_gap_and_the_connection_usable():
    ChainHead.objects.get_or_create(pk=1)
    first = record_events(2)
    with audit_store_refusing_writes():
        with pytest.raises(audit.AuditWriteFailed):
            audit.record(action=audit.Action.VIEW_CASE, target="order:9")
        assert connection.connection.info.transaction_status == TransactionStatus.IDLE
    head = ChainHead.objects.get(pk=1)
    assert (head.sequence, head.hash) == (first[-1].sequence, first[-1].hash)

    after = record_events(1)

    assert after[0].sequence == first[-1].sequence + 1
    assert after[0].previous_hash == first[-1].hash
    assert chain.verify().broken is None


# --- writers at the same moment ----------------------------------------------------------

THREADS = 8
EACH = 25


def write_concurrently():
    def work(i):
        for n in range(EACH):
            audit.record(
                action=audit.Action.VIEW_CASE, target=f"order:{i}", detail=f"thread {i} read {n}"
            )

    return in_threads(THREADS, work)


def assert_one_unbroken_chain(start):
    total = THREADS * EACH
    events = list(AccessEvent.objects.order_by("sequence"))
    assert [e.sequence for e in events] == list(range(start + 1, start + total + 1))
    for before, after in zip(events, events[1:], strict=False):
        assert after.previous_hash == before.hash
    # Each writer's own events keep the order it wrote them in.
    for i in range(THREADS):
        mine = [e.detail for e in events if e.target_id == str(i)]
        assert mine == [f"thread {i} read {n}" for n in range(EACH)]
    report = chain.verify()
    assert report.broken is None, str(report.broken)
    assert report.checked == total
    assert ChainHead.objects.get(pk=1).sequence == start + total


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_simultaneous_writers_produce_one_chain_without_gaps():
    # As after `migrate`: the head exists before anyone writes.
    ChainHead.objects.get_or_create(pk=1)
    start = ChainHead.objects.get(pk=1).sequence
    assert not AccessEvent.objects.exists()

    errors = write_concurrently()

    assert errors == []
    assert_one_unbroken_chain(start)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_simultaneous_first_writers_create_one_chain_head():
    """With no head row yet (a fresh or flushed database), writers arriving together must not
    fail on creating it twice."""
    with behind_the_applications_back():
        ChainHead.objects.all().delete()
    assert connection.vendor == "postgresql"

    errors = write_concurrently()

    assert errors == []
    assert_one_unbroken_chain(0)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_verifying_while_events_are_written_finds_no_break():
    """verify_audit runs on a live server (hourly, with --anchor): the walk reads one snapshot,
    so the head it compares the last event with is not one written after it."""
    record_events(300)
    stop, reports = threading.Event(), []

    def work(i):
        if i == 0:
            while not stop.is_set():
                audit.record(action=audit.Action.VIEW_CASE, target="order:1", detail="meanwhile")
        else:
            try:
                reports.extend(chain.verify(chunk_size=100) for _ in range(10))
            finally:
                stop.set()

    errors = in_threads(2, work)

    assert errors == []
    assert [str(r.broken) for r in reports if r.broken] == []
    assert AccessEvent.objects.filter(detail="meanwhile").exists()
