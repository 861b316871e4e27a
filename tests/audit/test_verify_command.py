"""`manage.py verify_audit` on an intact chain and on one changed behind the application's back.

The tampering is raw SQL on the table; on PostgreSQL the append-only trigger is set aside for it
(as someone with the table owner's rights could), so these tests run on both databases.
"""

import re

import pytest
from django.core.management import CommandError

from audit.models import AccessEvent, ChainHead

from .helpers import (
    TABLE,
    broken_verify_audit,
    forged_after,
    insert_raw,
    move_chain_head,
    raw_sql,
    record_events,
    verify_audit,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def five_events():
    events = record_events(5)
    assert [e.sequence for e in events] == [1, 2, 3, 4, 5]
    return events


def first_broken_link(error: CommandError) -> int:
    match = re.search(r"First broken link: #(\d+)\b", str(error))
    assert match, str(error)
    return int(match.group(1))


# --- intact ------------------------------------------------------------------------------


def test_intact_chain_passes_and_counts_its_events(five_events):
    output = verify_audit()

    assert "The access log is intact: 5 events checked." in output
    assert f"Newest hash: {five_events[-1].hash}" in output


def test_empty_chain_passes():
    assert not AccessEvent.objects.exists()

    output = verify_audit()

    assert "The access log is intact: 0 events checked." in output
    assert "Newest hash: (empty chain)" in output


def test_each_event_links_to_the_one_before(five_events):
    assert five_events[0].previous_hash == ""
    for before, after in zip(five_events, five_events[1:], strict=False):
        assert after.previous_hash == before.hash
    assert ChainHead.objects.get(pk=1).hash == five_events[-1].hash


# --- changed rows ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "column, value",
    [
        ("action", "search_cases"),
        ("outcome", "refused"),
        ("target_id", "999"),
        ("detail", "nothing to see here"),
        ("ip_address", "10.0.0.1"),
    ],
)
def test_a_changed_row_is_named_as_the_first_broken_link(five_events, column, value):
    changed = raw_sql(f"UPDATE {TABLE} SET {column} = %s WHERE sequence = 3", [value])
    assert changed == 1

    error = broken_verify_audit()

    assert error.returncode == 1
    assert first_broken_link(error) == 3  # not #4 or #5, whose links break as a consequence
    assert f"(id {five_events[2].pk}," in str(error)
    assert "content has been changed" in str(error)
    assert "broken after 2 intact events" in str(error)


def test_a_backdated_row_is_detected(five_events):
    raw_sql(
        f"UPDATE {TABLE} SET at = %s WHERE sequence = 3",
        [five_events[0].at],
    )

    assert first_broken_link(broken_verify_audit()) == 3


def test_a_changed_row_with_a_recomputed_hash_breaks_the_next_link(five_events):
    """A forger who changes #3 and recomputes its hash still breaks #4's link to it."""
    from audit.chain import hash_of

    event = AccessEvent.objects.get(sequence=3)
    event.action = "search_cases"
    raw_sql(
        f"UPDATE {TABLE} SET action = %s, hash = %s WHERE sequence = 3",
        ["search_cases", hash_of(event)],
    )

    error = broken_verify_audit()

    assert first_broken_link(error) == 4
    assert "does not link to the event before it" in str(error)


def test_rewriting_the_whole_tail_is_caught_by_the_chain_head(five_events):
    """Rehashing every link from #3 on keeps the rows consistent among themselves; the chain
    head (written in the same transaction as each event) no longer agrees."""
    from audit.chain import hash_of

    previous = five_events[1].hash
    for sequence in (3, 4, 5):
        event = AccessEvent.objects.get(sequence=sequence)
        event.detail = "rewritten"
        event.previous_hash = previous
        event.hash = hash_of(event)
        raw_sql(
            f"UPDATE {TABLE} SET detail = %s, previous_hash = %s, hash = %s WHERE sequence = %s",
            [event.detail, event.previous_hash, event.hash, sequence],
        )
        previous = event.hash

    error = broken_verify_audit()

    assert error.returncode == 1
    assert first_broken_link(error) == 5
    assert "differs from the chain head" in str(error)


# --- removed rows ------------------------------------------------------------------------


def test_a_deleted_middle_row_is_named_as_missing(five_events):
    assert raw_sql(f"DELETE FROM {TABLE} WHERE sequence = 3") == 1

    error = broken_verify_audit()

    assert error.returncode == 1
    assert first_broken_link(error) == 3
    assert "event #3 is missing (next is #4)" in str(error)


def test_a_deleted_first_row_is_named_as_missing(five_events):
    raw_sql(f"DELETE FROM {TABLE} WHERE sequence = 1")

    error = broken_verify_audit()

    assert first_broken_link(error) == 1
    assert "event #1 is missing" in str(error)


def test_a_truncated_tail_is_detected_by_the_chain_head(five_events):
    raw_sql(f"DELETE FROM {TABLE} WHERE sequence = 5")

    error = broken_verify_audit()

    assert error.returncode == 1
    assert first_broken_link(error) == 5
    assert "the chain ends at #4 but its head says #5" in str(error)


def test_a_truncated_tail_with_a_rewound_head_changes_the_newest_hash(five_events):
    """Removing the tail and rewinding the head as well cannot be seen in the database alone:
    that is why verify_audit prints the newest hash, and --anchor keeps it outside the database
    (test_anchors.py catches this case)."""
    kept_outside = verify_audit()
    raw_sql(f"DELETE FROM {TABLE} WHERE sequence = 5")
    move_chain_head(sequence=4, hash=five_events[3].hash)

    output = verify_audit()

    assert f"Newest hash: {five_events[-1].hash}" in kept_outside
    assert f"Newest hash: {five_events[-1].hash}" not in output
    assert five_events[-1].hash not in output


def test_an_emptied_table_is_detected_by_the_chain_head(five_events):
    raw_sql(f"DELETE FROM {TABLE}")

    error = broken_verify_audit()

    assert first_broken_link(error) == 1
    assert "the chain ends at #0 but its head says #5" in str(error)


# --- inserted rows -----------------------------------------------------------------------


def test_a_forged_row_appended_after_the_head_is_detected(five_events):
    insert_raw(forged_after(five_events[-1], detail="forged"))

    error = broken_verify_audit()

    assert error.returncode == 1
    assert "the chain ends at #6 but its head says #5" in str(error)


def test_a_forged_row_that_does_not_link_is_named(five_events):
    forged = forged_after(five_events[-1])
    forged.previous_hash = "0" * 64
    insert_raw(forged)
    ChainHead.objects.filter(pk=1).update(sequence=6)

    error = broken_verify_audit()

    assert first_broken_link(error) == 6
    assert "does not link to the event before it" in str(error)


def test_a_forged_row_before_the_start_is_detected(five_events):
    forged = forged_after(five_events[0], sequence=0, previous_hash="")
    insert_raw(forged)

    error = broken_verify_audit()

    assert first_broken_link(error) == 0
    assert "lies before the start of the chain" in str(error)


def test_a_row_slipped_into_a_gap_is_detected(five_events):
    """Remove #3 and put a different, well-hashed #3 in its place: #4 no longer links."""
    raw_sql(f"DELETE FROM {TABLE} WHERE sequence = 3")
    insert_raw(forged_after(five_events[1], detail="not what happened"))

    error = broken_verify_audit()

    assert first_broken_link(error) == 4
    assert "does not link to the event before it" in str(error)


def test_the_chain_is_intact_again_when_the_change_is_undone(five_events):
    raw_sql(f"UPDATE {TABLE} SET action = 'search_cases' WHERE sequence = 3")
    broken_verify_audit()

    raw_sql(f"UPDATE {TABLE} SET action = %s WHERE sequence = 3", [five_events[2].action])

    assert "intact: 5 events checked" in verify_audit()
