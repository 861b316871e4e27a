"""Change history after a lifecycle driven through the web pages: every change has a
simple-history row naming the person who made it, and the case page's timeline shows them.

Assertions are on history rows and on the ``timeline`` context of the case page (who, kind,
old → new values), never on translated titles.
"""

from datetime import timedelta

import pytest
from viewflow.workflow.status import PROCESS

from courses.models import EvidenceDocument, Measure
from orders.models import Appeal, CompletionConfirmation, DeadlineExtension, Order, Review
from tests.snapshots import client_for_builders, snapshot_fixture

from . import lifecycle
from .http_flow import (
    Driver,
    case_url,
    course,
    course_measure,
    form_errors,
    open_step,
    open_step_names,
    reload,
    supervision_measure,
    today,
)

EXTENSION_REASON = "Kurset er utsatt av arrangøren."
RETURN_REASON = "Kursbeviset mangler signatur."


@pytest.fixture
def drive(client_for, world):
    return Driver(client_for, world)


@snapshot_fixture
def lived(world):
    """An order taken through its whole life over HTTP: issued, appealed (upheld), planned
    with a course and supervision, acknowledged, deadline extended, measures carried out
    (through the services), confirmed, sent back, confirmed again, fulfilled."""
    drive = Driver(client_for_builders(), world)
    order = drive.issued(number=2468)
    original_deadline = order.deadline
    new_deadline = original_deadline + timedelta(days=45)

    steps = [
        lambda: drive.appeal(order, received_on=today() - timedelta(days=3), note="Klage."),
        lambda: drive.decide(
            order, Appeal.objects.get(order=order), "upheld", "nemnd", today(), "Stadfestet."
        ),
        lambda: drive.plan(
            order,
            [course_measure(course(), days=30), supervision_measure()],
        ),
        lambda: drive.acknowledge(order),
        lambda: drive.extend(order, new_deadline, reason=EXTENSION_REASON),
        # The GP, the leader and the supervisor carry the measures out (no response).
        lambda: lifecycle.complete_measures(order, world.leader) and None,
        lambda: drive.confirm(order, reasons=False),
        lambda: drive.sign_off(order, "returned", RETURN_REASON),
        lambda: drive.confirm(
            order,
            files=None,
            existing=list(EvidenceDocument.objects.filter(order=order)),
            note="Signert kursbevis ettersendt.",
        ),
        lambda: drive.sign_off(order, "fulfilled"),
    ]
    for step in steps:
        response = step()
        if response is not None:
            assert response.status_code == 302, form_errors(response)
    order = reload(order)
    assert order.status == PROCESS.DONE
    order.original_deadline = original_deadline
    order.new_deadline = new_deadline
    return order


def _rows(history):
    return list(history.order_by("history_date", "history_id"))


# ------------------------------------------------------------------------- history rows


def test_order_history_names_the_caseworker_for_creation_and_sign_off(lived, world):
    rows = _rows(Order.history.filter(process_ptr_id=lived.pk))
    assert rows[0].history_type == "+"
    assert rows[0].history_user == world.caseworker
    assert rows[0].case_number == "2026/2468"

    done = [r for r in rows if r.status == PROCESS.DONE]
    assert done, "no history row records the order becoming DONE"
    first_done = done[0]
    before = rows[rows.index(first_done) - 1]
    assert before.status != PROCESS.DONE
    assert first_done.history_user == world.caseworker


def test_deadline_extension_is_in_order_history_with_the_reason(lived, world):
    rows = _rows(Order.history.filter(process_ptr_id=lived.pk))
    changed = [
        (previous, row)
        for previous, row in zip(rows, rows[1:], strict=False)
        if previous.deadline != row.deadline
    ]
    assert len(changed) == 1
    previous, row = changed[0]
    assert (previous.deadline, row.deadline) == (lived.original_deadline, lived.new_deadline)
    assert row.history_user == world.caseworker
    assert row.history_change_reason == EXTENSION_REASON

    extension = _rows(DeadlineExtension.history.filter(order_id=lived.pk))
    assert [(r.history_type, r.history_user, r.reason) for r in extension] == [
        ("+", world.caseworker, EXTENSION_REASON)
    ]


def test_measure_history_names_the_leader_for_planning_and_completion(lived, world):
    measures = list(Measure.objects.filter(order=lived))
    assert len(measures) == 2
    for measure in measures:
        rows = _rows(Measure.history.filter(id=measure.pk))
        assert rows[0].history_type == "+"
        assert rows[0].status == Measure.Status.PLANNED
        assert rows[0].history_user == world.leader
        completed = [r for r in rows if r.status == Measure.Status.COMPLETED]
        assert completed
        assert completed[0].history_type == "~"
        assert completed[0].history_user == world.leader


def test_evidence_and_confirmation_history_names_the_leader(lived, world):
    documents = _rows(EvidenceDocument.history.filter(order_id=lived.pk))
    assert [(r.history_type, r.history_user, r.original_name) for r in documents] == [
        ("+", world.leader, "kursbevis.pdf")
    ]
    confirmations = _rows(CompletionConfirmation.history.filter(order_id=lived.pk))
    assert [(r.history_type, r.history_user) for r in confirmations] == [
        ("+", world.leader),
        ("+", world.leader),
    ]


def test_review_history_names_the_caseworker(lived, world):
    reviews = _rows(Review.history.filter(order_id=lived.pk))
    assert [(r.history_type, r.history_user, r.outcome, r.reason) for r in reviews] == [
        ("+", world.caseworker, "returned", RETURN_REASON),
        ("+", world.caseworker, "fulfilled", ""),
    ]


def test_appeal_history_names_the_caseworker_for_registration_and_decision(lived, world):
    rows = _rows(Appeal.history.filter(order_id=lived.pk))
    assert rows[0].history_type == "+"
    assert (rows[0].outcome, rows[0].history_user) == ("pending", world.caseworker)
    decided = [r for r in rows if r.outcome == Appeal.Outcome.UPHELD]
    assert decided
    assert decided[0].history_user == world.caseworker
    assert (decided[0].decided_by, decided[0].decided_on) == ("nemnd", today())


@pytest.mark.parametrize(
    "model, key",
    [
        (Order, "process_ptr_id"),
        (Measure, "order_id"),
        (EvidenceDocument, "order_id"),
        (CompletionConfirmation, "order_id"),
        (Review, "order_id"),
        (DeadlineExtension, "order_id"),
        (Appeal, "order_id"),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else "",
)
def test_every_history_row_of_the_case_names_a_user(lived, model, key):
    rows = _rows(model.history.filter(**{key: lived.pk}))
    assert rows
    assert [r for r in rows if r.history_user_id is None] == []


def test_withdrawal_is_in_order_history_by_the_caseworker_with_the_reason(drive, world):
    order = drive.issued(number=1357)
    assert drive.plan(order).status_code == 302
    response = drive.withdraw(order, reason="Vedtaket er opphevet.")
    assert response.status_code == 302, form_errors(response)
    rows = _rows(Order.history.filter(process_ptr_id=order.pk))
    canceled = [r for r in rows if r.status == PROCESS.CANCELED]
    assert canceled
    assert canceled[0].history_user == world.caseworker
    assert canceled[0].withdrawal_reason == "Vedtaket er opphevet."
    assert canceled[0].history_change_reason == "Vedtaket er opphevet."
    assert [r for r in rows if r.history_user_id is None] == []


def test_appeal_reversal_is_in_history_by_the_caseworker(drive, world):
    order = drive.issued(number=1358)
    drive.appeal(order, received_on=today())
    appeal = Appeal.objects.get(order=order)
    assert drive.decide(order, appeal, "reversed", "authority").status_code == 302
    order_rows = _rows(Order.history.filter(process_ptr_id=order.pk))
    canceled = [r for r in order_rows if r.status == PROCESS.CANCELED]
    assert canceled and canceled[0].history_user == world.caseworker
    assert canceled[0].withdrawal_reason
    appeal_rows = _rows(Appeal.history.filter(id=appeal.pk))
    assert [(r.outcome, r.history_user) for r in appeal_rows] == [
        ("pending", world.caseworker),
        ("reversed", world.caseworker),
    ]


# ------------------------------------------------------------------------- case page timeline


def _timeline(client, order, **params):
    response = client.get(case_url(order), params)
    assert response.status_code == 200
    return response.context["timeline"]


def test_case_page_timeline_names_the_users_who_acted(lived, client_for, world):
    timeline = _timeline(client_for(world.caseworker), lived)
    by_kind = {}
    for entry in timeline:
        by_kind.setdefault(entry.kind, set()).add(entry.who)
    assert by_kind["order"] == {world.caseworker}
    # The leader plans, enrols and records meetings; the GP accepts the course terms; the
    # supervisor logs the sessions and the report.
    supervisor = world.supervisor.__class__.objects.get(pk=world.supervisor.pk).user
    assert by_kind["measure"] == {world.leader, world.gp_user, supervisor}
    assert by_kind["document"] == {world.leader}
    assert by_kind["decision"] == {world.leader, world.caseworker}
    # Workflow steps: the leader planned and confirmed, the GP accepted, the caseworker signed off.
    assert by_kind["workflow"] == {world.leader, world.gp_user, world.caseworker}
    assert all(entry.who is not None for entry in timeline)
    # Newest first.
    assert [e.when for e in timeline] == sorted((e.when for e in timeline), reverse=True)


def test_timeline_shows_the_extension_as_an_old_to_new_deadline_change(lived, client_for, world):
    timeline = _timeline(client_for(world.leader), lived)
    deadline_changes = [
        (entry, change)
        for entry in timeline
        if entry.kind == "order"
        for change in entry.changes
        if (change.old, change.new) == (lived.original_deadline, lived.new_deadline)
    ]
    assert len(deadline_changes) == 1
    entry, _change = deadline_changes[0]
    assert entry.who == world.caseworker
    assert entry.text == EXTENSION_REASON

    extensions = [e for e in timeline if e.kind == "decision" and e.text == EXTENSION_REASON]
    assert [e.who for e in extensions] == [world.caseworker]


def test_timeline_shows_the_return_reason_by_the_caseworker(lived, client_for, world):
    timeline = _timeline(client_for(world.gp_user), lived)
    returned = [e for e in timeline if e.kind == "decision" and e.text == RETURN_REASON]
    assert [e.who for e in returned] == [world.caseworker]


def test_timeline_can_be_filtered_by_kind(lived, client_for, world):
    client = client_for(world.caseworker)
    only_decisions = _timeline(client, lived, vis="decision")
    assert only_decisions
    assert {e.kind for e in only_decisions} == {"decision"}
    both = _timeline(client, lived, vis=["measure", "document"])
    assert {e.kind for e in both} == {"measure", "document"}
    everything = _timeline(client, lived, vis="bogus")
    assert {e.kind for e in everything} == {"order", "workflow", "measure", "document", "decision"}


def test_timeline_of_a_withdrawn_case_names_the_caseworker(drive, client_for, world):
    order = drive.issued(number=1359)
    assert drive.withdraw(order, reason="Vedtaket er opphevet.").status_code == 302
    timeline = _timeline(client_for(world.leader), order)
    status_changes = [e for e in timeline if e.kind == "order" and e.changes]
    assert status_changes
    assert {e.who for e in status_changes} == {world.caseworker}
    assert any(e.text == "Vedtaket er opphevet." for e in status_changes)


@pytest.mark.parametrize("stage", ["plan_measures", "acknowledge", "confirm_completion"])
def test_step_cancelled_by_withdrawal_is_attributed_to_the_caseworker(
    drive, client_for, world, stage
):
    order = drive.issued(number=1360)
    advance = {
        "plan_measures": [],
        "acknowledge": [drive.plan],
        "confirm_completion": [drive.plan, drive.acknowledge],
    }
    for take in advance[stage]:
        assert take(order).status_code == 302
    assert open_step_names(order) == [stage]
    task = open_step(order, stage)
    assert drive.withdraw(order).status_code == 302
    task.refresh_from_db()
    assert task.status == "CANCELED"

    timeline = _timeline(client_for(world.caseworker), order)
    cancelled = [e for e in timeline if e.kind == "workflow" and e.when == task.finished]
    assert len(cancelled) == 1
    assert cancelled[0].who == world.caseworker


@pytest.mark.parametrize("step", ["withdraw", "extend"])
def test_a_long_reason_is_kept_whole_and_its_history_reason_fits(drive, world, step):
    """Found by tests/test_form_fuzz.py on PostgreSQL: a reason over 100 characters went into
    simple-history's change reason (a CharField of 100) and the withdrawal answered 500. The
    whole reason is kept with the order; the history row keeps what fits, marked as cut."""
    order = drive.issued(number=1358)
    reason = "Vedtaket er omgjort etter klage fra advokat og ny vurdering av saken. " * 4
    if step == "withdraw":
        response = drive.withdraw(order, reason=reason)
        kept = Order.objects.get(pk=order.pk).withdrawal_reason
    else:
        response = drive.extend(order, order.deadline + timedelta(days=30), reason=reason)
        kept = DeadlineExtension.objects.get(order=order).reason
    assert response.status_code == 302, form_errors(response)
    assert kept.strip() == reason.strip()
    latest = Order.history.filter(process_ptr_id=order.pk).order_by("-history_id").first()
    assert len(latest.history_change_reason) <= 100
    assert latest.history_change_reason.endswith("…")
