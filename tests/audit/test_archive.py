"""`manage.py archive_audit`: events older than the retention period move to a JSON Lines file,
the move is recorded, and the chain stays verifiable from where the archive ends.

Runs on both databases; on PostgreSQL the removal goes through the append-only trigger only
because the command sets it aside for its own statement.
"""

import hashlib
import json
from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError
from django.utils import timezone

from audit import chain
from audit.models import AccessEvent, AuditArchive

from .helpers import (
    TABLE,
    archive_audit,
    broken_verify_audit,
    insert_raw,
    raw_sql,
    record_events,
    verify_audit,
)

pytestmark = pytest.mark.django_db

DAYS = 365


def record_events_days_ago(days, count):
    with time_machine.travel(timezone.now() - timedelta(days=days)):
        return record_events(count)


@pytest.fixture
def old_and_new():
    """Three events from 400 days ago, then two from today."""
    old = record_events_days_ago(400, 3)
    new = record_events(2)
    assert [e.sequence for e in old + new] == [1, 2, 3, 4, 5]
    return old, new


def archive(output_dir, *more):
    return archive_audit(
        "--days", str(DAYS), "--output-dir", str(output_dir), "--performed-by", "Kari Revisor",
        *more,
    )  # fmt: skip


def lines_of(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_old_events_move_to_a_file_and_leave_the_database(old_and_new, tmp_path):
    old, new = old_and_new

    output = archive(tmp_path)

    path = tmp_path / "access-log-1-3.jsonl"
    assert "Archived 3 events (#1–#3)" in output
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    lines = lines_of(path)
    assert [line["sequence"] for line in lines] == [1, 2, 3]
    assert [line["hash"] for line in lines] == [e.hash for e in old]
    assert [line["detail"] for line in lines] == [e.detail for e in old]
    assert not AccessEvent.objects.filter(sequence__lte=3).exists()
    assert [e.sequence for e in AccessEvent.objects.order_by("sequence")][:2] == [4, 5]


def test_the_archive_is_recorded_with_the_files_checksum(old_and_new, tmp_path):
    old, _ = old_and_new

    archive(tmp_path)

    path = tmp_path / "access-log-1-3.jsonl"
    record = AuditArchive.objects.get()
    assert record.performed_by == "Kari Revisor"
    assert (record.first_sequence, record.last_sequence, record.event_count) == (1, 3, 3)
    assert record.last_hash == old[-1].hash
    assert record.file_name == str(path)
    assert record.file_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert old[-1].at < record.cutoff < record.archived_at
    assert (
        timedelta(days=DAYS) <= record.archived_at - record.cutoff < timedelta(days=DAYS, minutes=1)
    )


def test_the_archived_file_can_be_checked_on_its_own(old_and_new, tmp_path):
    """Each line carries everything its hash covers, so the file needs no database."""
    archive(tmp_path)

    lines = lines_of(tmp_path / "access-log-1-3.jsonl")
    previous = ""
    for line in lines:
        content = {name: value for name, value in line.items() if name != "hash"}
        canonical = json.dumps(content, sort_keys=True, ensure_ascii=False)
        assert hashlib.sha256(canonical.encode()).hexdigest() == line["hash"]
        assert line["previous_hash"] == previous
        previous = line["hash"]
    assert previous == AuditArchive.objects.get().last_hash


def test_archiving_is_itself_an_access_event(old_and_new, tmp_path):
    _, new = old_and_new

    archive(tmp_path)

    event = AccessEvent.objects.get(action="archive_audit")
    assert event.sequence == new[-1].sequence + 1
    assert event.previous_hash == new[-1].hash
    assert (event.target_type, event.target_id) == ("archive", "1-3")
    assert event.detail == "3 events to access-log-1-3.jsonl by Kari Revisor"


def test_the_chain_verifies_from_the_archive_on(old_and_new, tmp_path):
    archive(tmp_path)

    # The two recent events and the archiving itself.
    assert "The access log is intact: 3 events checked." in verify_audit()


def test_a_second_run_with_nothing_old_says_so_and_writes_nothing(old_and_new, tmp_path):
    archive(tmp_path)
    events = AccessEvent.objects.count()
    second = tmp_path / "second"

    output = archive(second)

    assert f"No access events older than {DAYS} days." in output
    assert not second.exists()
    assert AuditArchive.objects.count() == 1
    assert AccessEvent.objects.count() == events
    assert "intact: 3 events checked" in verify_audit()


def test_nothing_to_archive_in_an_empty_log(tmp_path):
    assert "No access events older than" in archive(tmp_path)
    assert not AuditArchive.objects.exists()
    assert not AccessEvent.objects.exists()


def test_archiving_again_later_continues_from_the_previous_archive(old_and_new, tmp_path):
    archive(tmp_path)

    with time_machine.travel(timezone.now() + timedelta(days=DAYS + 10)):
        output = archive(tmp_path)
        assert "Archived 3 events (#4–#6)" in output
        assert "intact: 1 events checked" in verify_audit()

    assert [p.name for p in sorted(tmp_path.iterdir())] == [
        "access-log-1-3.jsonl",
        "access-log-4-6.jsonl",
    ]
    first = lines_of(tmp_path / "access-log-1-3.jsonl")
    second = lines_of(tmp_path / "access-log-4-6.jsonl")
    # The second file starts where the first ended.
    assert second[0]["previous_hash"] == first[-1]["hash"]
    assert list(AccessEvent.objects.values_list("sequence", flat=True)) == [7]


def test_settings_give_the_defaults(old_and_new, tmp_path, settings):
    settings.AUDIT_RETENTION_DAYS = 30
    settings.AUDIT_ARCHIVE_DIR = tmp_path / "archive"

    output = archive_audit("--performed-by", "Kari Revisor")

    assert "Archived 3 events" in output
    assert (tmp_path / "archive" / "access-log-1-3.jsonl").exists()


def test_refuses_to_run_on_a_broken_chain(old_and_new, tmp_path):
    raw_sql(f"UPDATE {TABLE} SET outcome = 'refused' WHERE sequence = 2")
    events = AccessEvent.objects.count()

    with pytest.raises(CommandError, match=r"chain is broken \(#2 .*nothing is archived"):
        archive(tmp_path)

    assert list(tmp_path.iterdir()) == []
    assert AccessEvent.objects.count() == events
    assert not AuditArchive.objects.exists()


def test_refuses_to_overwrite_an_existing_file(old_and_new, tmp_path):
    existing = tmp_path / "access-log-1-3.jsonl"
    existing.write_text("kept\n")

    with pytest.raises(CommandError, match="exists already"):
        archive(tmp_path)

    assert existing.read_text() == "kept\n"
    assert AccessEvent.objects.filter(sequence__lte=3).count() == 3
    assert not AuditArchive.objects.exists()


def test_who_archives_must_be_named(old_and_new, tmp_path):
    with pytest.raises(CommandError, match="--performed-by"):
        archive_audit("--output-dir", str(tmp_path))
    with pytest.raises(CommandError, match="at least 1"):
        archive(tmp_path, "--days", "0")

    assert AccessEvent.objects.filter(sequence__lte=3).count() == 3


def test_an_archived_event_put_back_is_detected(old_and_new, tmp_path):
    old, _ = old_and_new
    archive(tmp_path)

    restored = AccessEvent(
        **{f.attname: getattr(old[1], f.attname) for f in AccessEvent._meta.concrete_fields}
    )
    restored.pk = None
    insert_raw(restored)

    error = broken_verify_audit()

    assert "First broken link: #2 " in str(error)
    assert "lies before the start of the chain" in str(error)


def test_a_changed_first_event_after_the_archive_is_detected(old_and_new, tmp_path):
    archive(tmp_path)
    raw_sql(f"UPDATE {TABLE} SET previous_hash = %s WHERE sequence = 4", ["0" * 64])

    error = broken_verify_audit()

    assert "First broken link: #4 " in str(error)
    assert "does not link to the event before it" in str(error)
    assert chain.verify().checked == 0
