"""Every write the order knows. Views, commands and tests call these; nothing else writes.

Each function takes the acting user, checks the access module again with the user's grants
read afresh (a view's check is not enough on its own, and a grant ended a moment ago must not
act: Capabilities.of, never the request's), and runs under the order's viewflow lock so two
people acting at once leave one result. Whatever changes a step, a measure, the order or an
appeal recomputes the order's next deadline (deadlines.refresh) in the same transaction; a step
that opens does so in the flow (OrderFlow.opened), which also tells whoever must take it.
"""

from contextlib import contextmanager
from datetime import date

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

import audit
from courses import services as course_services
from courses.actions import MEASURE_ACTIONS
from courses.models import Measure
from municipalities import bounds
from municipalities.appointments import ensure_login

from . import access, deadlines, steps
from .access import Capabilities
from .deadline_kinds import Kind as DeadlineKind
from .flows import OrderFlow, busy_as_lock_failure
from .models import (
    Appeal,
    CompletionConfirmation,
    DeadlineExtension,
    FollowUp,
    Notification,
    Order,
    Review,
    SupervisionGrant,
)


class StepNotOpen(Exception):
    """The step was taken by someone else meanwhile, or the case has closed."""


@contextmanager
def _taking_step(task, acting_user, step):
    """Lock the order, check that ``step`` is still open and the user's to take, and complete
    the viewflow task when the block's writes succeed."""
    with audit.acting_as(acting_user), task.activation() as activation:
        task = activation.task
        order = activation.process
        if access.step_name(task) != step or task.status not in access.OPEN_TASK_STATUSES:
            raise StepNotOpen
        if access.is_closed(order):
            raise StepNotOpen
        if not Capabilities.of(acting_user).may_take_step(order, task):
            raise PermissionDenied
        if task.owner_id is None:
            activation.assign(acting_user)
        elif task.owner_id != acting_user.pk:
            task.owner = acting_user
        activation.start(None)
        yield order
        activation.execute()
        # The step is done and the next one open (or the case closed): deadlines follow.
        deadlines.refresh(order.pk)


@contextmanager
def _managing_case(order, acting_user, *, closed_too=False):
    with audit.acting_as(acting_user), OrderFlow.lock(order.pk):
        order = Order.objects.select_related("issuing_authority").get(pk=order.pk)
        if access.is_closed(order) and not closed_too:
            raise StepNotOpen
        if not Capabilities.of(acting_user).may_act_as_caseworker(order):
            raise PermissionDenied
        yield order


def issue_order(
    *,
    acting_user,
    issuing_authority,
    caseworker,
    health_personnel,
    municipality,
    case_number,
    decision_date,
    grounds_summary,
    requirements,
    deadline,
    requires_course=False,
    requires_supervision=False,
    legal_basis=Order.LegalBasis.HPL_56,
    decision_received_on=None,
) -> Order:
    """Register a decided order and open the municipality's planning step."""
    if not Capabilities.of(acting_user).acts_for_authority(issuing_authority):
        raise PermissionDenied
    if not Capabilities.of(caseworker).acts_for_authority(issuing_authority):
        raise ValidationError(
            {"caseworker": _("The responsible caseworker must work for the issuing authority.")}
        )
    # Separation of duties (Capabilities.is_concerned): nobody issues or handles their own case.
    subject = health_personnel.user_id
    if subject is not None and subject == acting_user.pk:
        raise ValidationError(
            {
                "health_personnel": _(
                    "You cannot register an order that concerns yourself; another caseworker must."
                )
            }
        )
    if subject is not None and subject == caseworker.pk:
        raise ValidationError(
            {"caseworker": _("The person the order concerns cannot be its caseworker.")}
        )
    taken = Order.objects.filter(issuing_authority=issuing_authority, case_number=case_number)
    if taken.exists():
        raise _case_number_taken(case_number)
    try:
        with busy_as_lock_failure(), audit.acting_as(acting_user), transaction.atomic():
            return OrderFlow.issue.run(
                issuing_authority=issuing_authority,
                caseworker=caseworker,
                health_personnel=health_personnel,
                municipality=municipality,
                case_number=case_number,
                legal_basis=legal_basis,
                decision_date=decision_date,
                grounds_summary=grounds_summary,
                requires_course=requires_course,
                requires_supervision=requires_supervision,
                requirements=requirements,
                deadline=deadline,
                decision_received_on=decision_received_on,
            )
    except IntegrityError:
        # Someone registered the same number at the same moment: the unique constraint let
        # one through, and this one is told why it was not.
        if taken.exists():
            raise _case_number_taken(case_number) from None
        raise


def _case_number_taken(case_number):
    return ValidationError(
        {
            "case_number": _("The case number %(number)s is already used by this authority.")
            % {"number": case_number}
        }
    )


def plan_measures(*, task, acting_user, measures) -> Order:
    """The municipality acknowledges receipt and assigns one or more measures."""
    if not measures:
        raise ValidationError(_("Plan at least one measure."))
    with _taking_step(task, acting_user, steps.PLAN_MEASURES.name) as order:
        planned = course_services.add_measures(
            order=order, measures=measures, acting_user=acting_user
        )
        _keep_supervision(order, planned, acting_user, GRANTED_IN_PLAN)
    return order


# Why a supervisor's access opens or ends (SupervisionGrant.reason / end_reason), kept in the
# service's language like the rest of the case record.
GRANTED_IN_PLAN = gettext_lazy("Named supervisor in the plan")
GRANTED_AGAIN = gettext_lazy("The supervision is open again")
REOPENED = gettext_lazy("The measure was opened again when the case was sent back")
ENDED_COMPLETE = gettext_lazy("The supervision is complete")
ENDED_CONFIRMED = gettext_lazy("The municipality confirmed the measures; the measure is closed")
ENDED_FULFILLED = gettext_lazy("The case is closed as fulfilled")
ENDED_WITHDRAWN = gettext_lazy("The order is withdrawn and the case is closed")


def _record_text(text) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return str(text)


def _keep_supervision(order, measures, acting_user, granted_because, ended_because=None):
    """Keep each measure's supervision grant to the rule (access.supervision_stays_open): open
    a recorded grant where the supervisor should see the case and has none, end the active one
    where the supervision is over. Called, inside the writing transaction, by every service
    that can change the answer; a supervisor's access follows these rows only."""
    now = timezone.now()
    for measure in measures:
        if measure.supervisor_id is None:
            continue
        active = list(measure.supervision_grants.filter(ended_at__isnull=True))
        if access.supervision_stays_open(order, measure):
            if not active:
                login = ensure_login(acting_user=acting_user, personnel=measure.supervisor)
                with audit.acting_as(acting_user):
                    SupervisionGrant.objects.create(
                        order=order,
                        measure=measure,
                        user=login,
                        reason=_record_text(granted_because),
                        granted_by=acting_user,
                        granted_at=now,
                    )
            continue
        for grant in active:
            _end_grant(grant, acting_user, ended_because or ENDED_COMPLETE, now)


def _end_grant(grant, acting_user, reason, now):
    grant.ended_at, grant.ended_by = now, acting_user
    grant.end_reason = grant._change_reason = _record_text(reason)
    with audit.acting_as(acting_user):
        grant.save()


def _supervised_measures(order):
    return list(
        order.measures.filter(supervisor__isnull=False)
        .select_related("supervisor", "course")
        .prefetch_related("sessions", "meetings")
    )


def acknowledge_plan(*, task, acting_user) -> Order:
    """The health personnel concerned has seen the plan and accepts it."""
    with _taking_step(task, acting_user, steps.ACKNOWLEDGE.name) as order:
        pass
    return order


def confirm_completion(
    *, task, acting_user, note, uploads=(), existing_documents=(), reasons=None
) -> CompletionConfirmation:
    """The municipality confirms the measures are carried out, with evidence attached.

    ``uploads`` are (file, kind) pairs stored as new documents; ``existing_documents`` are
    documents already on the order that also support this confirmation.
    """
    if not note.strip():
        raise ValidationError({"note": _("Write a note about how the measures were carried out.")})
    bounds.check_values(CompletionConfirmation, note=note)
    # A confirmation refused after some of its files were stored (a later file refused, a
    # measure closed without a reason) leaves none of them in storage.
    with (
        course_services.evidence_kept_only_if_recorded(),
        _taking_step(task, acting_user, steps.CONFIRM_COMPLETION.name) as order,
    ):
        documents = [
            course_services.store_evidence(
                order=order, uploaded_file=file, kind=kind, acting_user=acting_user
            )
            for file, kind in uploads
        ]
        documents += [d for d in existing_documents if d.order_id == order.pk]
        if not documents:
            raise ValidationError(_("Attach at least one document."))
        confirmation = CompletionConfirmation.objects.create(
            order=order, note=note, confirmed_by=acting_user
        )
        confirmation.documents.set(documents)
        course_services.close_measures(order=order, acting_user=acting_user, reasons=reasons)
        _keep_supervision(
            order, _supervised_measures(order), acting_user, GRANTED_AGAIN, ENDED_CONFIRMED
        )
    return confirmation


def sign_off(*, task, acting_user, outcome, reason="") -> Review:
    """The issuing authority closes the case as fulfilled or sends it back with a reason."""
    if outcome == Review.Outcome.RETURNED and not reason.strip():
        raise ValidationError({"reason": _("Give the municipality a reason for sending it back.")})
    with _taking_step(task, acting_user, steps.SIGN_OFF.name) as order:
        review = Review(order=order, outcome=outcome, reason=reason, decided_by=acting_user)
        review.full_clean()
        review.save()
        if outcome == Review.Outcome.RETURNED:
            # Work goes on: measures closed as not carried out open again, and their
            # supervisor gets a new grant (the old one ended when the measure closed).
            for measure in order.measures.filter(status=Measure.Status.NOT_COMPLETED):
                measure.status, measure.incomplete_reason = Measure.Status.PLANNED, ""
                measure.save()
            _keep_supervision(order, _supervised_measures(order), acting_user, REOPENED)
        else:
            # The flow closes the case right after this step; no supervisor keeps access.
            _end_supervision(order, acting_user, ENDED_FULFILLED)
    return review


def _end_supervision(order, acting_user, reason):
    """The case closes: every supervisor's active grant on it ends."""
    now = timezone.now()
    for grant in order.supervision_grants.filter(ended_at__isnull=True):
        _end_grant(grant, acting_user, reason, now)


def follow_up(*, task, acting_user, action, note) -> FollowUp:
    """The caseworker's follow-up of a step that stayed late past the grace period: what they
    did (contacted the municipality, extended the deadline, consider further reaction)."""
    if not note.strip():
        raise ValidationError({"note": _("Say what was done about the missed deadline.")})
    with _taking_step(task, acting_user, steps.FOLLOW_UP.name) as order:
        late = deadlines.watched_step(task)
        record = FollowUp(
            order=order,
            step=late.flow_task.name,
            due=deadlines.step_deadline(order, late.flow_task.name),
            action=action,
            note=note,
            decided_by=acting_user,
        )
        record.full_clean()
        record.save()
    return record


def extend_deadline(*, order, acting_user, new_deadline: date, reason) -> DeadlineExtension:
    if not reason.strip():
        raise ValidationError({"reason": _("Give a reason for the extension.")})
    bounds.check_values(DeadlineExtension, new_deadline=new_deadline, reason=reason)
    with _managing_case(order, acting_user) as order:
        if new_deadline <= order.deadline:
            raise ValidationError(
                {"new_deadline": _("The new deadline must be later than the current one.")}
            )
        if new_deadline > bounds.latest_deadline(order.decision_date):
            raise ValidationError({"new_deadline": bounds.deadline_too_late(order.decision_date)})
        extension = DeadlineExtension.objects.create(
            order=order,
            previous_deadline=order.deadline,
            new_deadline=new_deadline,
            reason=reason,
            extended_by=acting_user,
        )
        order.deadline = new_deadline
        order._change_reason = history_reason(reason)
        order.save()
        _rearm_deadline_timers(order)
        deadlines.refresh(order.pk)
    return extension


def _rearm_deadline_timers(order):
    """A moved deadline moves its reminder, overdue notice and follow-up: the open steps'
    timers that have not fired are cancelled, and all are armed again for the new date (a
    notice already given for the old date is not repeated; one for the new date will come)."""
    open_steps = order.task_set.filter(status__in=access.OPEN_TASK_STATUSES, flow_task_type="HUMAN")
    for host in open_steps:
        node = host.flow_task
        # Only the completion deadline moves; the planning deadline stays where it was.
        step = steps.of(host)
        if step is None or step.deadline != DeadlineKind.COMPLETION:
            continue
        for timer in Task.objects.filter(
            previous=host, flow_task_type="TIMER", status=STATUS.SCHEDULED
        ):
            timer.flow_task.activation_class(timer).cancel()
        host_activation = node.activation_class(host)
        for boundary in node._boundary_events:
            boundary._arm(host_activation)


# simple-history keeps a change reason in a CharField(max_length=100): PostgreSQL refuses a
# longer one (a 500 on an ordinary withdrawal reason); SQLite would silently keep it all.
HISTORY_REASON_LENGTH = 100


def history_reason(text: str) -> str:
    """The reason as the history row keeps it: shortened with an ellipsis if need be. The
    full text stays in its own field (withdrawal_reason, the extension's reason)."""
    text = " ".join(text.split())
    if len(text) <= HISTORY_REASON_LENGTH:
        return text
    return text[: HISTORY_REASON_LENGTH - 1] + "…"


def withdraw_order(*, order, acting_user, reason) -> Order:
    """Withdraw the order: every open step is cancelled and the case closes read-only."""
    if not reason.strip():
        raise ValidationError({"reason": _("Give a reason for the withdrawal.")})
    bounds.check_values(Order, {"withdrawal_reason": "reason"}, withdrawal_reason=reason)
    with _managing_case(order, acting_user) as order:
        _withdraw(order, reason, acting_user)
    return order


def _withdraw(order, reason, acting_user):
    order.withdrawal_reason = reason
    order._change_reason = history_reason(reason)
    _end_supervision(order, acting_user, ENDED_WITHDRAWN)
    if access.is_closed(order):
        # A fulfilled order annulled on appeal: the process is over, the record still changes.
        order.save()
    else:
        # viewflow records no one on a cancelled task; the owner field says who cancelled it.
        for task in order.task_set.filter(status__in=access.OPEN_TASK_STATUSES):
            task.owner = acting_user
            task.save(update_fields=["owner"])
        OrderFlow.instance.cancel(order)
    # A withdrawn order's duties lapse: it has no next deadline.
    deadlines.refresh(order.pk)


def register_appeal(*, order, acting_user, received_on: date, note="") -> Appeal:
    """Record that an appeal (klage) has been received; the order still stands meanwhile."""
    bounds.check_values(Appeal, received_on=received_on, note=note)
    with _managing_case(order, acting_user) as order:
        if order.appeals.filter(outcome=Appeal.Outcome.PENDING).exists():
            raise ValidationError(_("This order already has an appeal awaiting decision."))
        if received_on > timezone.localdate():
            raise ValidationError({"received_on": _("The date cannot be in the future.")})
        if received_on < order.decision_date:
            raise ValidationError(
                {"received_on": _("An appeal cannot be received before the decision date.")}
            )
        appeal = Appeal.objects.create(
            order=order, received_on=received_on, note=note, registered_by=acting_user
        )
        # An appeal received meets the appeal period.
        deadlines.refresh(order.pk)
        return appeal


def decide_appeal(*, appeal, acting_user, outcome, decided_by, decided_on: date, note="") -> Appeal:
    """Record the outcome of an appeal. A reversal withdraws the order.

    Allowed also on a closed case: the appeal goes on after a case is fulfilled or withdrawn.
    """
    if outcome not in (Appeal.Outcome.UPHELD, Appeal.Outcome.REVERSED):
        raise ValidationError({"outcome": _("Choose the outcome of the appeal.")})
    bounds.check_values(
        Appeal, {"decision_note": "note"}, decided_on=decided_on, decision_note=note
    )
    if outcome == Appeal.Outcome.UPHELD and decided_by != Appeal.DecidedBy.NEMND:
        # fvl. § 33: the first instance may reverse its decision; if it does not, the appeal
        # goes to the appeal body, which alone upholds it.
        raise ValidationError(
            {
                "decided_by": _(
                    "Only the appeal board can uphold the order; the issuing authority can only reverse it."
                )
            }
        )
    with _managing_case(appeal.order, acting_user, closed_too=True) as order:
        appeal = order.appeals.get(pk=appeal.pk)
        if appeal.outcome != Appeal.Outcome.PENDING:
            raise StepNotOpen
        if decided_on < appeal.received_on or decided_on > timezone.localdate():
            raise ValidationError(
                {
                    "decided_on": _(
                        "The decision date must be between the day the appeal was received "
                        "and today."
                    )
                }
            )
        appeal.outcome = outcome
        appeal.decided_by = decided_by
        appeal.decided_on = decided_on
        appeal.decision_note = note
        appeal.save()
        if outcome == Appeal.Outcome.REVERSED:
            # The case record is kept in the service's language, whoever's browser asked.
            with translation.override(settings.LANGUAGE_CODE):
                reason = _("Appeal reversed (%(body)s, %(date)s).") % {
                    "body": appeal.get_decided_by_display(),
                    "date": date_format(decided_on, "SHORT_DATE_FORMAT"),
                }
            _withdraw(order, f"{reason} {note}".strip(), acting_user)
        else:
            deadlines.refresh(order.pk)
    return appeal


# --- measures: the work between planning and confirmation -------------------------------


def act_on_measure(*, action, measure, acting_user, **arguments):
    """Record the measure action named ``action`` (a row of courses.actions) with the
    arguments its form gave. Files stored on the way are removed again if it fails."""
    row = MEASURE_ACTIONS[action]
    with course_services.evidence_kept_only_if_recorded():
        return _measure_action(row, measure, acting_user, **arguments)


def _measure_action(row, measure, acting_user, **arguments):
    """Run the row's courses service on ``measure`` if the row's who-token, asked of the
    user's grants as they are now, allows it and the order is open. The order is locked so a
    closing step and a measure change serialise."""
    with OrderFlow.lock(measure.order_id):
        order = Order.objects.select_related("municipality", "health_personnel").get(
            pk=measure.order_id
        )
        measure = order.measures.select_related("course", "supervisor").get(pk=measure.pk)
        if access.is_closed(order):
            raise StepNotOpen
        if not Capabilities.of(acting_user).may_act_on_measure(row.who, order, measure):
            raise PermissionDenied
        result = row.write(measure=measure, acting_user=acting_user, **arguments)
        # A session, the report or a changed agreement may complete the supervision (its
        # supervisor's access ends) or open it again.
        measure = order.measures.select_related("supervisor", "course").get(pk=measure.pk)
        _keep_supervision(order, [measure], acting_user, GRANTED_AGAIN, ENDED_COMPLETE)
        # An enrolment sets a terms deadline, accepting the terms meets it.
        deadlines.refresh(order.pk)
        return result


# The measure actions by name, for the tests and the demo.


def enrol_in_course(*, measure, acting_user, **details):
    return act_on_measure(action="enrol", measure=measure, acting_user=acting_user, **details)


def accept_course_terms(*, measure, acting_user):
    return act_on_measure(action="accept_terms", measure=measure, acting_user=acting_user)


def record_attendance(*, meeting, acting_user, **details):
    return act_on_measure(
        action="attendance",
        measure=meeting.measure,
        meeting=meeting,
        acting_user=acting_user,
        **details,
    )


def record_course_completion(*, measure, acting_user, completed_on):
    return act_on_measure(
        action="completion", measure=measure, acting_user=acting_user, completed_on=completed_on
    )


def arrange_supervision(*, measure, acting_user, **details):
    return act_on_measure(action="arrange", measure=measure, acting_user=acting_user, **details)


def record_supervision_session(*, measure, acting_user, **details):
    return act_on_measure(action="session", measure=measure, acting_user=acting_user, **details)


def submit_supervision_report(*, measure, acting_user, report):
    return act_on_measure(action="report", measure=measure, acting_user=acting_user, report=report)


def add_measure_document(*, measure, acting_user, uploaded_file, kind, **details):
    return act_on_measure(
        action="document",
        measure=measure,
        acting_user=acting_user,
        uploaded_file=uploaded_file,
        kind=kind,
        **details,
    )


def mark_notifications_read(*, acting_user, pk=None) -> int:
    """Mark the user's unread notices read: all of them ("Mark all as read"), or the one with
    pk. A change of the list only, never of a notice's content; someone else's notice is left
    alone. Returns how many were marked."""
    unread = Notification.objects.filter(recipient=acting_user, read_at__isnull=True)
    if pk is not None:
        unread = unread.filter(pk=pk)
    return unread.update(read_at=timezone.now())
