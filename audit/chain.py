"""The hash chain over access events: writing a link, and walking the chain to find the first
broken one.

Each event's hash covers its own content and the previous event's hash, so changing, removing
or inserting a row breaks every link after it. The chain head (one locked row) serialises
writers; on PostgreSQL its trigger lets it move only forward, to an event that exists. A rewrite
of the whole chain by someone with the tables' owner's rights is caught outside the database:
``verify_audit --anchor`` appends the newest link to a file the database cannot reach
(audit.anchors) and checks that the chain still leads through every link anchored before.
"""

import contextlib
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC

from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.utils import timezone
from psycopg.pq import TransactionStatus

from .models import AccessEvent, AuditArchive, ChainHead

HASHED_FIELDS = (
    "sequence",
    "at",
    "user_id",
    "role",
    "organisation",
    "authority_id",
    "action",
    "target_type",
    "target_id",
    "case_id",
    "outcome",
    "ip_address",
    "detail",
    "previous_hash",
)


def content_of(event) -> dict:
    content = {name: getattr(event, name) for name in HASHED_FIELDS}
    # Microseconds in UTC: what both SQLite and PostgreSQL give back unchanged.
    content["at"] = event.at.astimezone(UTC).isoformat(timespec="microseconds")
    return content


def hash_of(event) -> str:
    return hash_of_content(content_of(event))


def hash_of_content(content: dict) -> str:
    """The hash of an event given as :func:`content_of` (or an archive file's line) gives it."""
    return hashlib.sha256(_canonical(content).encode()).hexdigest()


def _canonical(content: dict) -> str:
    return json.dumps(content, sort_keys=True, ensure_ascii=False)


def _canonical_around_link(event) -> list[str]:
    """The canonical text of ``event`` (what :func:`hash_of` hashes) in three pieces, around
    the two values only the chain head can give: the previous hash, then the sequence number
    (the keys are sorted). Each key occurs once, and a key followed by ``: `` is never found
    inside a string value, whose quotes are escaped."""
    canonical = _canonical({**content_of(event), "previous_hash": "", "sequence": 0})
    before, _, rest = canonical.partition('"previous_hash": ""')
    middle, _, after = rest.partition('"sequence": 0')
    return [before + '"previous_hash": ', middle + '"sequence": ', after]


def append(**fields) -> AccessEvent:
    """Write one event as the next link of the chain.

    Writers wait for each other at the chain head, so the head is locked for one statement:
    it takes the head's hash and sequence, inserts the event after it and computes the event's
    hash in the database, from Python's text of the event (:func:`_canonical_around_link`) with
    the head's two values put in their places. verify recomputes every hash in Python."""
    using = router.db_for_write(AccessEvent)
    connection = connections[using]
    # The time of the access, taken before waiting for the head: with several writers (and
    # several servers) events need not be in the order of their times; the sequence orders
    # them.
    event = AccessEvent(at=timezone.now(), **fields)
    if connection.vendor == "postgresql":
        values = _values_around_link(event, connection)

        def write():
            return _append_on_postgresql(connection, values)
    else:

        def write():
            return _append_on_sqlite(connection, event)

    linked = write()
    if linked is None:
        # No head yet (a fresh or flushed database): writers arriving together must not both
        # create it, and get_or_create survives losing that race.
        ChainHead.objects.get_or_create(pk=1)
        linked = write()
    event.pk, event.sequence, event.previous_hash, event.hash = linked
    event._state.adding, event._state.db = False, using
    return event


def _values_around_link(event, connection) -> list:
    """The values of the PostgreSQL append: the event's own, and its canonical text in the
    three pieces around the head's two values (:func:`_canonical_around_link`)."""
    values = []
    for field in _INSERTED:
        if field.name == "hash":
            values += _canonical_around_link(event)
        elif field.name not in _FROM_HEAD:
            values.append(field.get_db_prep_save(getattr(event, field.attname), connection))
    return values


_EVENTS, _HEAD = AccessEvent._meta.db_table, ChainHead._meta.db_table
_INSERTED = [field for field in AccessEvent._meta.concrete_fields if not field.primary_key]
_COLUMNS = ", ".join(f'"{field.column}"' for field in _INSERTED)
_RETURNED = '"id", "sequence", "previous_hash", "hash"'
# The columns whose values come from the head: "head" is the head moved on by one.
_FROM_HEAD = ("sequence", "previous_hash", "hash")


def _inserted_values(hash_sql: str) -> str:
    """The values inserted: the head's, the event's hash as ``hash_sql`` computes it (from the
    three pieces of text and the head's values), and a placeholder for each of the rest."""
    from_head = {
        "sequence": '"head"."sequence"',
        "previous_hash": '"head"."hash"',
        "hash": hash_sql,
    }
    return ", ".join(from_head.get(field.name, "%s") for field in _INSERTED)


# SQLite: one writer at a time for the whole database. The head is moved on and read in one
# statement, the event hashed in Python and inserted, and the head given its hash. (Hashing
# in SQL, as on PostgreSQL, would call back into Python from inside SQLite: with a connection
# shared between threads, as the test suite's live server shares its in-memory database, a
# thread holding the interpreter while it waited for the connection deadlocked the two.)
_SQLITE_TAKE_HEAD = (
    f'UPDATE "{_HEAD}" SET "sequence" = "sequence" + 1 WHERE "id" = 1 RETURNING "sequence", "hash"'
)
_SQLITE_MOVE_HEAD = f'UPDATE "{_HEAD}" SET "hash" = %s WHERE "id" = 1'


def _append_on_sqlite(connection, event):
    """The new event's id, sequence, previous hash and hash; None if there is no head."""
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(_SQLITE_TAKE_HEAD)
        head = cursor.fetchall()  # all of it: a RETURNING statement ends when it is read out
        if not head:
            return None
        ((sequence, previous),) = head
        event.sequence, event.previous_hash = sequence, previous
        event.hash = hash_of(event)
        event.save(using=connection.alias)
        cursor.execute(_SQLITE_MOVE_HEAD, [event.hash])
        return event.pk, event.sequence, event.previous_hash, event.hash


# PostgreSQL: one statement locks the head, inserts the event after it and moves the head to
# the event. The head's trigger (audit.triggers) sees the event the statement inserted before
# moving the head (a row-level trigger's queries see the rows their statement has written), so
# it still refuses a head that points to no event.
_POSTGRESQL_HASH = (
    'encode(sha256(convert_to(%s || to_json("head"."hash")::text || %s || "head"."sequence" '
    "|| %s, 'UTF8')), 'hex')"
)
_APPEND = (
    'WITH "head" AS ('
    f'SELECT "sequence" + 1 AS "sequence", "hash" FROM "{_HEAD}" WHERE "id" = 1 FOR UPDATE), '
    f'"event" AS (INSERT INTO "{_EVENTS}" ({_COLUMNS}) '
    f'SELECT {_inserted_values(_POSTGRESQL_HASH)} FROM "head" RETURNING {_RETURNED}) '
    f'UPDATE "{_HEAD}" SET "sequence" = "event"."sequence", "hash" = "event"."hash" '
    f'FROM "event" WHERE "{_HEAD}"."id" = 1 '
    'RETURNING "event"."id", "event"."sequence", "event"."previous_hash", "event"."hash"'
)
# In a transaction of its own (a request's), the append is sent as one message with its BEGIN
# and COMMIT (psycopg's client-side binding sends several statements as one), so the lock is
# released without waiting for the writer's process to be given the processor again. Its commit
# does not wait for the disk either, which would hold the lock through a flush of the log; the
# last statement does that after, outside the lock, where the writers' flushes combine: a
# transaction of its own that writes to the log (a message no one reads) and commits waiting
# for the disk, flushing the log up to its commit and so past the event's. When the message
# returns, the event is durable. Should the server stop before the flush, the event is lost
# together with every later one (they come after it in the log), so the chain that remains is
# whole; and record() has not returned, so nothing was shown.
_FLUSH = "SELECT pg_logical_emit_message(true, 'palegg.audit', '')"
_APPEND_AND_COMMIT = f"BEGIN; {_APPEND}; SET LOCAL synchronous_commit TO OFF; COMMIT; {_FLUSH}"
_OPEN = (TransactionStatus.INTRANS, TransactionStatus.INERROR)


def _append_on_postgresql(connection, values):
    """The new event's id, sequence, previous hash and hash; None if there is no head."""
    # Inside the caller's transaction, its commit releases the lock and makes the event
    # durable. (Several statements in one message need psycopg's client-side binding, Django's
    # default.)
    if connection.in_atomic_block or connection.settings_dict["OPTIONS"].get("server_side_binding"):
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(_APPEND, values)
            return cursor.fetchone()
    with connection.cursor() as cursor:
        try:
            cursor.execute(_APPEND_AND_COMMIT, values)
        except BaseException:
            if connection.connection.info.transaction_status in _OPEN:
                cursor.execute("ROLLBACK")
            raise
        cursor.nextset()  # past BEGIN
        return cursor.fetchone()


@dataclass
class Break:
    sequence: int
    event: AccessEvent | None
    problem: str

    def __str__(self):
        if self.event is None:
            return f"#{self.sequence}: {self.problem}"
        at = self.event.at.astimezone(UTC).isoformat(timespec="seconds")
        return f"#{self.sequence} (id {self.event.pk}, {at}): {self.problem}"


@dataclass
class Report:
    checked: int
    head_hash: str
    broken: Break | None
    # The newest link's number, when the chain is intact (0 for an empty chain).
    sequence: int = 0


@contextlib.contextmanager
def snapshot(using=DEFAULT_DB_ALIAS):
    """One consistent view of the log while it is read. On PostgreSQL outside a transaction, a
    REPEATABLE READ one: on a live server events are written while the chain is walked, and a
    head read after the last event would otherwise be newer than it (a false break)."""
    connection = connections[using]
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def verify(chunk_size=2000) -> Report:
    """Walk the chain from its start (or from the last archive) and stop at the first break."""
    with snapshot():
        report = _verify(chunk_size)
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # An event is seen before it is on disk (_APPEND_AND_COMMIT): flush what the walk saw,
        # so that the newest link it reports (and --anchor writes down) is never one a crash
        # could still take away. A standby has only what its primary flushed, and cannot write.
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT CASE WHEN NOT pg_is_in_recovery() THEN ({_FLUSH}) END")
    return report


def _verify(chunk_size) -> Report:
    archive = AuditArchive.objects.order_by("-last_sequence").first()
    expected_sequence = archive.last_sequence + 1 if archive else 1
    expected_previous = archive.last_hash if archive else ""
    checked, last = 0, None
    events = AccessEvent.objects.filter(sequence__gte=expected_sequence).order_by("sequence")
    for event in events.iterator(chunk_size=chunk_size):
        problem = None
        if event.sequence != expected_sequence:
            problem = f"event #{expected_sequence} is missing (next is #{event.sequence})"
            return Report(checked, expected_previous, Break(expected_sequence, None, problem))
        if event.previous_hash != expected_previous:
            problem = "does not link to the event before it (previous hash differs)"
        elif hash_of(event) != event.hash:
            problem = "its content has been changed (hash does not match)"
        if problem:
            return Report(checked, expected_previous, Break(event.sequence, event, problem))
        checked += 1
        expected_sequence, expected_previous, last = event.sequence + 1, event.hash, event
    early = AccessEvent.objects.filter(sequence__lt=(archive.last_sequence + 1 if archive else 1))
    if early.exists():
        stray = early.order_by("sequence").first()
        problem = "lies before the start of the chain (already archived or inserted)"
        return Report(checked, expected_previous, Break(stray.sequence, stray, problem))
    head = ChainHead.objects.filter(pk=1).first()
    head_sequence = head.sequence if head else 0
    last_sequence = last.sequence if last else expected_sequence - 1
    if head_sequence != last_sequence:
        problem = f"the chain ends at #{last_sequence} but its head says #{head_sequence}"
        return Report(checked, expected_previous, Break(last_sequence + 1, None, problem))
    if head and head.hash != expected_previous:
        # Every link checks out, yet the newest is not the one written last: rewritten tail.
        problem = "its hash differs from the chain head's (the chain has been rewritten)"
        return Report(checked, expected_previous, Break(last_sequence, last, problem))
    return Report(checked, expected_previous, None, last_sequence)
