"""`verify_audit --anchor FILE`: the newest link kept outside the database catches what the
database alone cannot, a consistent rewrite of the whole chain or a wiped log with its head
reset.

The tampering is done as the tables' owner could (raw SQL, PostgreSQL's triggers set aside), so
these tests run on both databases.
"""

import json
import socket
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import CommandError
from django.utils import timezone

from audit import chain
from audit.models import AccessEvent, ChainHead

from .helpers import (
    TABLE,
    archive_audit,
    move_chain_head,
    raw_sql,
    record_events,
    verify_audit,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def five_events():
    return record_events(5)


@pytest.fixture
def anchor_file(tmp_path):
    return tmp_path / "anchors" / "anchors.jsonl"


def anchored(path, *more):
    path.parent.mkdir(exist_ok=True)
    return verify_audit("--anchor", str(path), *more)


def refused(path, *more):
    with pytest.raises(CommandError) as caught:
        verify_audit("--anchor", str(path), *more)
    return caught.value


def lines_of(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def rewrite_whole_chain(detail="rewritten"):
    """Every event changed and re-hashed so that each links to the one before, and the head
    moved to the new newest hash: inside the database, nothing shows."""
    previous = ""
    for event in AccessEvent.objects.order_by("sequence"):
        event.detail, event.previous_hash = detail, previous
        event.hash = previous = chain.hash_of(event)
        raw_sql(
            f"UPDATE {TABLE} SET detail = %s, previous_hash = %s, hash = %s WHERE id = %s",
            [event.detail, event.previous_hash, event.hash, event.pk],
        )
    move_chain_head(hash=previous)


# --- writing anchors ---------------------------------------------------------------------


def test_an_anchor_is_one_line_with_time_sequence_and_hash(five_events, anchor_file):
    output = anchored(anchor_file)

    assert "The access log is intact: 5 events checked." in output
    assert f"No earlier anchors in {anchor_file}: this is the first." in output
    assert f"Anchored #5 in {anchor_file}." in output
    [line] = lines_of(anchor_file)
    assert set(line) == {"at", "sequence", "hash"}
    assert (line["sequence"], line["hash"]) == (5, five_events[-1].hash)
    at = datetime.fromisoformat(line["at"])
    assert at.utcoffset() == timedelta(0)
    assert five_events[-1].at - timedelta(seconds=1) <= at <= datetime.now(UTC)


def test_each_run_checks_the_earlier_anchors_and_adds_one(five_events, anchor_file):
    anchored(anchor_file)
    record_events(2)

    output = anchored(anchor_file)

    assert f"It agrees with all 1 earlier anchors in {anchor_file}." in output
    assert [(a["sequence"], a["hash"]) for a in lines_of(anchor_file)] == [
        (5, five_events[-1].hash),
        (7, AccessEvent.objects.get(sequence=7).hash),
    ]


def test_an_empty_chain_is_anchored_at_zero(anchor_file):
    anchored(anchor_file)
    record_events(1)

    assert "agrees with all 1 earlier anchors" in anchored(anchor_file)
    assert [a["sequence"] for a in lines_of(anchor_file)] == [0, 1]


def test_the_file_comes_from_the_setting_when_none_is_named(five_events, anchor_file, settings):
    settings.AUDIT_ANCHOR_FILE = str(anchor_file)
    anchor_file.parent.mkdir()

    output = verify_audit("--anchor")

    assert f"Anchored #5 in {anchor_file}." in output
    assert len(lines_of(anchor_file)) == 1


def test_anchor_without_a_file_or_setting_is_refused(five_events, settings):
    settings.AUDIT_ANCHOR_FILE = ""

    with pytest.raises(CommandError, match="--anchor needs a FILE") as caught:
        verify_audit("--anchor")

    assert caught.value.returncode == 2


def test_without_anchor_nothing_is_written(five_events, anchor_file, settings):
    settings.AUDIT_ANCHOR_FILE = str(anchor_file)

    output = verify_audit()

    assert "Anchored" not in output
    assert not anchor_file.parent.exists()


def test_an_anchor_that_cannot_be_written_fails_with_status_2(five_events, tmp_path):
    missing = tmp_path / "no-such-directory" / "anchors.jsonl"

    with pytest.raises(CommandError, match="intact, but the anchor could not be written") as e:
        verify_audit("--anchor", str(missing))

    assert e.value.returncode == 2


def test_a_broken_chain_is_not_anchored(five_events, anchor_file):
    anchored(anchor_file)
    raw_sql(f"UPDATE {TABLE} SET detail = 'changed' WHERE sequence = 3")

    error = refused(anchor_file)

    assert error.returncode == 1
    assert "First broken link: #3" in str(error)
    assert len(lines_of(anchor_file)) == 1


# --- what the anchors catch --------------------------------------------------------------


def test_a_consistent_rewrite_of_the_whole_chain_is_caught_only_by_the_anchor(
    five_events, anchor_file
):
    anchored(anchor_file)
    [anchor] = lines_of(anchor_file)

    rewrite_whole_chain()

    # The database alone: every link and the head agree.
    assert "The access log is intact: 5 events checked." in verify_audit()
    error = refused(anchor_file)
    assert error.returncode == 1
    message = str(error)
    assert f"no longer agrees with {anchor_file}" in message
    assert f"the anchor of {anchor['at']} (line 1): #5 {five_events[-1].hash}" in message
    assert "the chain has been rewritten" in message
    assert AccessEvent.objects.get(sequence=5).hash in message
    # Nothing is anchored on top of the rewritten chain.
    assert len(lines_of(anchor_file)) == 1


def test_every_earlier_anchor_is_checked_not_only_the_newest(five_events, anchor_file):
    anchored(anchor_file)
    record_events(3)
    anchored(anchor_file)
    rewrite_whole_chain()
    # Even with the newest anchored link put back as it was, the older anchor disagrees.
    newest = lines_of(anchor_file)[-1]
    raw_sql(f"UPDATE {TABLE} SET hash = %s WHERE sequence = 8", [newest["hash"]])
    move_chain_head(hash=newest["hash"])

    message = str(refused(anchor_file))

    assert "(line 1): #5" in message


def test_a_wiped_log_with_a_reset_head_is_caught_by_the_anchor(five_events, anchor_file):
    anchored(anchor_file)

    raw_sql(f"DELETE FROM {TABLE}")
    move_chain_head(sequence=0, hash="")

    assert "The access log is intact: 0 events checked." in verify_audit()
    error = refused(anchor_file)
    assert error.returncode == 1
    assert "(line 1): #5" in str(error)
    assert "the chain head is at #0, behind this anchor" in str(error)


def test_a_removed_tail_with_a_rewound_head_is_caught_by_the_anchor(five_events, anchor_file):
    anchored(anchor_file)
    raw_sql(f"DELETE FROM {TABLE} WHERE sequence = 5")
    move_chain_head(sequence=4, hash=five_events[3].hash)

    assert "intact: 4 events checked" in verify_audit()
    assert "the chain head is at #4, behind this anchor" in str(refused(anchor_file))


def test_a_missing_anchored_event_is_named(five_events, anchor_file):
    """Removed, and the rest re-hashed from the one before it to the head."""
    record_events(1)
    anchor_file.parent.mkdir()
    anchor_file.write_text(
        json.dumps({"at": "2026-01-01T00:00:00+00:00", "sequence": 3, "hash": five_events[2].hash})
        + "\n"
    )
    raw_sql(f"DELETE FROM {TABLE} WHERE sequence = 3")

    message = str(refused(anchor_file))

    assert "#3" in message
    assert "its event is missing from the access log and from every archive" in message


def test_a_line_that_is_not_an_anchor_stops_the_check(five_events, anchor_file):
    anchored(anchor_file)
    with anchor_file.open("a") as f:
        f.write('{"at": "2026-01-01T00:00:00+00:00", "sequ')

    error = refused(anchor_file)

    assert error.returncode == 2
    assert f"line 2 of {anchor_file} is not an anchor" in str(error)


# --- anchors in the archived part of the chain -------------------------------------------


@pytest.fixture
def anchored_then_archived(anchor_file, tmp_path):
    """Anchors at #2 and #5; then #1–#3 (400 days old) are archived to a file."""
    with time_machine.travel(timezone.now() - timedelta(days=400)):
        record_events(2)
        anchored(anchor_file)
        record_events(1)
    record_events(2)
    anchored(anchor_file)
    archive_audit("--days", "365", "--output-dir", str(tmp_path), "--performed-by", "Kari")
    assert not AccessEvent.objects.filter(sequence__lte=3).exists()
    return tmp_path / "access-log-1-3.jsonl"


def test_an_anchor_in_the_archived_part_is_checked_in_the_archive_file(
    anchored_then_archived, anchor_file
):
    assert "agrees with all 2 earlier anchors" in anchored(anchor_file)


def test_a_changed_archive_file_fails_the_anchor_in_it(anchored_then_archived, anchor_file):
    path = anchored_then_archived
    path.write_text(path.read_text().replace("read number 2", "read number 9"))

    message = str(refused(anchor_file))

    assert "(line 1): #2" in message
    assert "no longer matches its recorded SHA-256" in message


def test_a_missing_archive_file_cannot_be_checked(anchored_then_archived, anchor_file):
    anchored_then_archived.unlink()

    error = refused(anchor_file)

    assert error.returncode == 2
    assert f"The archive {anchored_then_archived} holds anchored events" in str(error)


# --- syslog ------------------------------------------------------------------------------


def test_the_anchor_can_go_to_syslog_as_well(five_events, anchor_file):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(10)
        port = server.getsockname()[1]

        output = anchored(anchor_file, "--syslog", f"127.0.0.1:{port}")
        message = server.recv(4096).decode()

    assert f"Anchored #5 to syslog (127.0.0.1:{port})." in output
    assert message.startswith("<86>palegg-audit-anchor: ")  # authpriv.info
    sent = json.loads(message.removeprefix("<86>palegg-audit-anchor: ").rstrip("\0"))
    assert sent == lines_of(anchor_file)[0]


def test_an_unreachable_syslog_socket_fails_with_status_2(five_events, tmp_path):
    with pytest.raises(CommandError, match="anchor could not be written") as caught:
        verify_audit("--syslog", str(tmp_path / "no-syslog-here"))

    assert caught.value.returncode == 2
    assert ChainHead.objects.get(pk=1).sequence == 5
