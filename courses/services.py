"""Writes on measures and evidence. Callers (orders.services) hold the order's lock where the
workflow is involved and have asked orders.access who may act; these functions keep each
measure's own rules."""

import hashlib
import logging
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

import audit
from municipalities.bounds import check_values

from .models import Course, CourseMeeting, EvidenceDocument, Measure, SupervisionSession
from .validators import evidence_content_type, evidence_file_name

logger = logging.getLogger(__name__)


@transaction.atomic
def add_measures(*, order, measures, acting_user) -> list[Measure]:
    """Create the measures planned for ``order``: dicts with kind, course or supervisor (a
    HealthPersonnel), description and planned_completion, and optionally the supervision's
    agreed_sessions, period_start and period_end."""
    created = []
    for spec in measures:
        spec = dict(spec)
        supervisor = spec.get("supervisor")
        if supervisor is not None:
            spec["supervisor_name"] = supervisor.name
        measure = Measure(order=order, created_by=acting_user, **spec)
        measure.full_clean()
        measure.save()
        created.append(measure)
    return created


class AlreadyRecorded(Exception):
    """The same form came again (a double click, a reload of the POST): it was recorded the
    first time and is not recorded twice."""


def _once(model, submission_key, create):
    """``create()`` unless a row with ``submission_key`` exists. The caller holds the order's
    lock, so two copies of one form meet here one after the other; the unique key catches a
    writer that does not."""
    if submission_key is None:
        return create()
    if model.objects.filter(submission_key=submission_key).exists():
        raise AlreadyRecorded
    try:
        with transaction.atomic():
            return create()
    except IntegrityError:
        if model.objects.filter(submission_key=submission_key).exists():
            raise AlreadyRecorded from None
        raise


def _require_open(measure):
    if measure.status != Measure.Status.PLANNED:
        raise ValidationError(_("This measure is closed; its record can no longer change."))


@transaction.atomic
def enrol(*, measure, acting_user, enrolled_on, group_name="", group_leader="", meeting_dates=()):
    """Record the GP's enrolment in the course; a kvalitetspakke needs its three meeting dates.
    Meeting dates may be corrected until attendance has been recorded."""
    _require_open(measure)
    if not measure.is_course:
        raise ValidationError(_("Only a course has an enrolment."))
    count = measure.course.meeting_count
    if count:
        if len(meeting_dates) != count or not all(meeting_dates):
            raise ValidationError(
                {"meeting_dates": _("Give the dates of all %(n)s meetings.") % {"n": count}}
            )
        if not group_name.strip() or not group_leader.strip():
            raise ValidationError(_("Name the group and its group leader."))
        if list(meeting_dates) != sorted(meeting_dates):
            raise ValidationError({"meeting_dates": _("The meetings must be in date order.")})
        for day in meeting_dates:
            check_values(CourseMeeting, date=day)
    check_values(
        Measure,
        enrolled_on=enrolled_on,
        group_name=group_name.strip(),
        group_leader=group_leader.strip(),
    )
    with audit.acting_as(acting_user):
        measure.enrolled_on = enrolled_on
        measure.group_name, measure.group_leader = group_name.strip(), group_leader.strip()
        measure.save()
        existing = {m.number: m for m in measure.meetings.all()}
        for number, date in enumerate(meeting_dates, start=1):
            meeting = existing.get(number)
            if meeting is None:
                CourseMeeting.objects.create(measure=measure, number=number, date=date)
            elif meeting.date != date:
                if meeting.attendance != CourseMeeting.Attendance.UNKNOWN:
                    raise ValidationError(
                        _("Meeting %(n)s already has attendance recorded; its date stays.")
                        % {"n": number}
                    )
                meeting.date = date
                meeting.save()
    return measure


@transaction.atomic
def accept_terms(*, measure, acting_user):
    """The GP accepts the course terms (SKIL: within 14 days of enrolment; a late acceptance
    is recorded as such, what follows from it belongs to the deadlines)."""
    _require_open(measure)
    if not measure.is_course or measure.enrolled_on is None:
        raise ValidationError(_("There are no course terms to accept yet."))
    if measure.terms_accepted_at is not None:
        raise ValidationError(_("The course terms are already accepted."))
    with audit.acting_as(acting_user):
        measure.terms_accepted_at = timezone.now()
        measure.save()
    return measure


@transaction.atomic
def record_attendance(*, meeting, acting_user, attendance, absence_reason="", submission_key=None):
    _require_open(meeting.measure)
    reason = absence_reason.strip() if attendance == CourseMeeting.Attendance.ABSENT else ""
    if (submission_key is not None and meeting.attendance_key == submission_key) or (
        meeting.attendance == attendance and meeting.absence_reason == reason
    ):
        raise AlreadyRecorded
    if attendance == CourseMeeting.Attendance.ABSENT and not absence_reason.strip():
        raise ValidationError({"absence_reason": _("Give the reason for the absence.")})
    check_values(CourseMeeting, absence_reason=absence_reason.strip())
    if meeting.date > timezone.localdate():
        raise ValidationError(_("Attendance can be recorded once the meeting has taken place."))
    with audit.acting_as(acting_user):
        meeting.attendance = attendance
        meeting.absence_reason = reason
        meeting.attendance_key = submission_key
        meeting.save()
    return meeting


def record_attendance_on(*, measure, meeting, **details):
    """record_attendance, called as every measure action is (courses.actions): with the
    measure. The meeting is read again through the measure, so one of another measure is
    not found."""
    return record_attendance(meeting=measure.meetings.get(pk=meeting.pk), **details)


@transaction.atomic
def record_course_completion(*, measure, acting_user, completed_on):
    """For e-learning, seminars and other courses without meetings."""
    _require_open(measure)
    if not measure.is_course or measure.course.meeting_count:
        raise ValidationError(_("This course is completed through its meetings."))
    if completed_on > timezone.localdate():
        raise ValidationError({"completed_on": _("The date cannot be in the future.")})
    check_values(Measure, completed_on=completed_on)
    with audit.acting_as(acting_user):
        measure.completed_on = completed_on
        measure.save()
    return measure


@transaction.atomic
def arrange_supervision(*, measure, acting_user, agreed_sessions, period_start, period_end):
    _require_open(measure)
    if measure.is_course:
        raise ValidationError(_("Only supervision has sessions."))
    if period_end < period_start:
        raise ValidationError({"period_end": _("The period must end after it starts.")})
    check_values(Measure, period_start=period_start, period_end=period_end)
    with audit.acting_as(acting_user):
        measure.agreed_sessions = agreed_sessions
        measure.period_start, measure.period_end = period_start, period_end
        measure.save()
    return measure


@transaction.atomic
def record_session(
    *, measure, acting_user, date, duration_minutes, topic, status, submission_key=None
):
    _require_open(measure)
    if measure.is_course:
        raise ValidationError(_("Only supervision has sessions."))
    if status == SupervisionSession.Status.HELD and date > timezone.localdate():
        raise ValidationError(
            {"date": _("A session can be recorded as held once it has taken place.")}
        )
    check_values(SupervisionSession, date=date, topic=topic)
    with audit.acting_as(acting_user):
        return _once(
            SupervisionSession,
            submission_key,
            lambda: SupervisionSession.objects.create(
                measure=measure,
                date=date,
                duration_minutes=duration_minutes,
                topic=topic,
                status=status,
                recorded_by=acting_user,
                submission_key=submission_key,
            ),
        )


@transaction.atomic
def submit_report(*, measure, acting_user, report):
    _require_open(measure)
    if measure.is_course:
        raise ValidationError(_("Only supervision has a final report."))
    if not report.strip():
        raise ValidationError({"report": _("Write the report.")})
    check_values(Measure, {"final_report": "report"}, final_report=report)
    with audit.acting_as(acting_user):
        measure.final_report = report
        measure.report_submitted_at = timezone.now()
        measure.save()
    return measure


# The files stored inside the outermost evidence_kept_only_if_recorded() block now running.
_stored_files: ContextVar[list | None] = ContextVar("stored_evidence_files", default=None)


@contextmanager
def evidence_kept_only_if_recorded():
    """Files stored as evidence inside the block are deleted from storage again if the block
    fails: the rows naming them were rolled back, and a file no row names is nobody's
    evidence (and would sit in every backup). Wrap a service's whole transaction in it; an
    inner block joins the outermost, so a late failure also takes the earlier files."""
    if _stored_files.get() is not None:
        yield
        return
    token = _stored_files.set([])
    try:
        yield
    except BaseException:
        for storage, name in _stored_files.get():
            try:
                storage.delete(name)
            except Exception:
                logger.exception("Stored file %s of a failed upload could not be removed", name)
        raise
    finally:
        _stored_files.reset(token)


def _sha256(uploaded_file) -> str:
    digest = hashlib.sha256()
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    return digest.hexdigest()


@evidence_kept_only_if_recorded()
@transaction.atomic
def store_evidence(
    *, order, uploaded_file, kind, acting_user, measure=None, supersedes=None, submission_key=None
) -> EvidenceDocument:
    """Keep an uploaded file as evidence on ``order``. A document is never replaced in place:
    a new one may supersede an old one, which stays on record."""
    # Before the checks below: a resent replacement is "already recorded", not "already
    # replaced".
    if (
        submission_key is not None
        and EvidenceDocument.objects.filter(submission_key=submission_key).exists()
    ):
        raise AlreadyRecorded
    content_type = evidence_content_type(uploaded_file)
    if measure is not None and measure.order_id != order.pk:
        raise ValidationError(_("The measure belongs to another order."))
    if supersedes is not None:
        if supersedes.order_id != order.pk:
            raise ValidationError(_("The document to replace belongs to another order."))
        if EvidenceDocument.objects.filter(supersedes=supersedes).exists():
            raise ValidationError(_("That document has already been replaced."))
    document = EvidenceDocument(
        order=order,
        measure=measure,
        supersedes=supersedes,
        kind=kind,
        original_name=evidence_file_name(uploaded_file.name, content_type),
        content_type=content_type,
        size=uploaded_file.size,
        sha256=_sha256(uploaded_file),
        uploaded_by=acting_user,
        submission_key=submission_key,
    )

    def create():
        document.file.save(uploaded_file.name, uploaded_file, save=False)
        _stored_files.get().append((document.file.storage, document.file.name))
        document.save()
        return document

    with audit.acting_as(acting_user):
        return _once(EvidenceDocument, submission_key, create)


def store_measure_evidence(*, measure, **details) -> EvidenceDocument:
    """store_evidence on the measure's own order, called as every measure action is
    (courses.actions)."""
    return store_evidence(order=measure.order, measure=measure, **details)


@transaction.atomic
def close_measures(*, order, acting_user, reasons=None) -> list[Measure]:
    """At the municipality's confirmation: each measure is complete, or has a written reason
    why not. Raises ValidationError naming the measures that have neither."""
    reasons = reasons or {}
    measures = list(
        order.measures.filter(status=Measure.Status.PLANNED)
        .select_related("course")
        .prefetch_related("meetings", "sessions")
    )
    missing = [m for m in measures if not m.is_complete and not reasons.get(m.pk, "").strip()]
    if missing:
        raise ValidationError(
            _("Not carried out, and no reason given: %(measures)s.")
            % {"measures": ", ".join(str(m) for m in missing)}
        )
    for measure in measures:
        if not measure.is_complete:
            check_values(Measure, incomplete_reason=reasons[measure.pk].strip())
    with audit.acting_as(acting_user):
        for measure in measures:
            if measure.is_complete:
                measure.status = Measure.Status.COMPLETED
            else:
                measure.status = Measure.Status.NOT_COMPLETED
                measure.incomplete_reason = reasons[measure.pk].strip()
            measure.save()
    return measures


def save_course(*, acting_user, course=None, **fields) -> Course:
    """Create or edit a catalog course (authority administrators; the caller checks)."""
    course = course or Course()
    for name, value in fields.items():
        setattr(course, name, value)
    course.full_clean()
    with audit.acting_as(acting_user):
        course.save()
    return course
