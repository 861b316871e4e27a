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

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import F
from django.utils import timezone

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
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def append(**fields) -> AccessEvent:
    """Write one event as the next link of the chain."""
    with transaction.atomic():
        # Updating first takes the write lock on both SQLite and PostgreSQL, so two writers
        # can never both read the same head and fork the chain.
        if not ChainHead.objects.filter(pk=1).update(sequence=F("sequence") + 1):
            # No head yet (a fresh or flushed database): writers arriving together must not
            # both create it. get_or_create survives losing that race; then lock as usual.
            ChainHead.objects.get_or_create(pk=1)
            ChainHead.objects.filter(pk=1).update(sequence=F("sequence") + 1)
        head = ChainHead.objects.get(pk=1)
        event = AccessEvent(
            sequence=head.sequence, at=timezone.now(), previous_hash=head.hash, **fields
        )
        event.hash = hash_of(event)
        event.save()
        ChainHead.objects.filter(pk=1).update(hash=event.hash)
    return event


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
        return _verify(chunk_size)


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
