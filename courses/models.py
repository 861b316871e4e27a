"""The measures an order is carried out through: the course catalog, the measures planned
for an order, and the evidence documents that show they were done.

Orders are referred to by the string "orders.Order" so this app never imports orders.
"""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.actor import history_records
from audit.guards import HistoryPreservingQuerySet
from municipalities import bounds
from municipalities.bounds import stored_date, text_validators
from municipalities.workdays import deadline_after

from .validators import evidence_file_name

REASON = bounds.REASON_LENGTH


class Course(models.Model):
    """A course in the catalog, e.g. one of SKIL's kvalitetspakker."""

    class Provider(models.TextChoices):
        SKIL = "skil", "SKIL"
        NOKLUS = "noklus", "NOKLUS"
        OTHER = "other", _("Other")

    class Format(models.TextChoices):
        QUALITY_PACKAGE = "kvalitetspakke", _("Quality package (three peer-group meetings)")
        ELEARNING = "elaering", _("E-learning")
        SEMINAR = "seminar", _("Seminar")
        OTHER = "other", _("Other")

    title = models.CharField(_("title"), max_length=200)
    provider = models.CharField(_("provider"), max_length=20, choices=Provider.choices)
    format = models.CharField(
        _("format"), max_length=20, choices=Format.choices, default=Format.OTHER
    )
    theme = models.CharField(_("theme"), max_length=200, blank=True)
    description = models.TextField(
        _("description"),
        blank=True,
        max_length=bounds.GROUNDS_LENGTH,
        validators=text_validators(bounds.GROUNDS_LENGTH),
    )
    expected_duration = models.CharField(
        _("expected duration"),
        max_length=100,
        blank=True,
        help_text=_("E.g. 7–8 months, counted as an 18-hour course."),
    )
    # The provider's terms for taking part (SKIL: accepted by each doctor within 14 days of
    # enrolment), shown to the health personnel before they accept them: as text, a link to
    # where the provider publishes them, or both.
    terms = models.TextField(
        _("course terms"),
        blank=True,
        max_length=bounds.GROUNDS_LENGTH,
        validators=text_validators(bounds.GROUNDS_LENGTH),
    )
    terms_url = models.URLField(_("link to the course terms"), blank=True)
    active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_(
            "An inactive course cannot be chosen for new plans; orders that use it keep it."
        ),
    )
    objects = HistoryPreservingQuerySet.as_manager()
    history = history_records()

    class Meta:
        ordering = ["provider", "title"]
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        constraints = [
            models.UniqueConstraint(fields=["provider", "title"], name="course_unique_title")
        ]

    def __str__(self):
        return f"{self.get_provider_display()}: {self.title}"

    @property
    def meeting_count(self):
        """SKIL's kvalitetspakke is three kollegagruppemøter; other formats have no meetings."""
        return 3 if self.format == self.Format.QUALITY_PACKAGE else 0


class Measure(models.Model):
    """Tiltak: a course or a supervision arrangement planned for one order."""

    class Kind(models.TextChoices):
        COURSE = "course", _("Course")
        SUPERVISION = "supervision", _("Supervision")

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        COMPLETED = "completed", _("Carried out")
        NOT_COMPLETED = "not_completed", _("Not carried out (reason given)")

    # SKIL: each doctor accepts the course terms within 14 days of enrolment.
    TERMS_DAYS = 14

    order = models.ForeignKey(
        "orders.Order", verbose_name=_("order"), on_delete=models.PROTECT, related_name="measures"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.PROTECT, null=True, blank=True
    )
    supervisor_name = models.CharField(_("supervisor"), max_length=200, blank=True)
    supervisor = models.ForeignKey(
        "municipalities.HealthPersonnel",
        verbose_name=_("supervisor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="supervisions",
    )
    description = models.TextField(
        _("description"), blank=True, max_length=REASON, validators=text_validators(REASON)
    )
    planned_completion = models.DateField(_("planned completion"), validators=[stored_date])
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PLANNED
    )
    incomplete_reason = models.TextField(
        _("why it was not carried out"),
        blank=True,
        max_length=REASON,
        validators=text_validators(REASON),
    )
    # Course enrolment
    enrolled_on = models.DateField(_("enrolled"), null=True, blank=True, validators=[stored_date])
    group_name = models.CharField(_("group"), max_length=200, blank=True)
    group_leader = models.CharField(_("group leader"), max_length=200, blank=True)
    terms_accepted_at = models.DateTimeField(_("course terms accepted"), null=True, blank=True)
    completed_on = models.DateField(_("completed"), null=True, blank=True, validators=[stored_date])
    # Supervision arrangement
    agreed_sessions = models.PositiveSmallIntegerField(_("agreed sessions"), null=True, blank=True)
    period_start = models.DateField(
        _("period from"), null=True, blank=True, validators=[stored_date]
    )
    period_end = models.DateField(_("period to"), null=True, blank=True, validators=[stored_date])
    final_report = models.TextField(
        _("supervisor's final report"),
        blank=True,
        max_length=bounds.REPORT_LENGTH,
        validators=text_validators(bounds.REPORT_LENGTH),
    )
    report_submitted_at = models.DateTimeField(_("report submitted"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    objects = HistoryPreservingQuerySet.as_manager()
    history = history_records()

    class Meta:
        ordering = ["planned_completion", "pk"]
        verbose_name = _("measure")
        verbose_name_plural = _("measures")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="course", course__isnull=False)
                    | models.Q(kind="supervision") & ~models.Q(supervisor_name="")
                ),
                name="measure_has_course_or_supervisor",
            )
        ]

    def __str__(self):
        if self.kind == self.Kind.COURSE:
            return str(self.course)
        return _("Supervision by %(name)s") % {"name": self.supervisor_name}

    def clean(self):
        if (
            self.supervisor_id is not None
            and self.order_id is not None
            and self.supervisor_id == self.order.health_personnel_id
        ):
            raise ValidationError(
                {"supervisor": _("The person under the order cannot be their own supervisor.")}
            )

    @property
    def is_course(self):
        return self.kind == self.Kind.COURSE

    @property
    def terms_deadline(self):
        if self.enrolled_on is None:
            return None
        # 14 days from enrolment, moved to the next working day like every deadline here.
        return deadline_after(self.enrolled_on, self.TERMS_DAYS)

    def terms_overdue(self, today=None):
        """Terms not accepted by the end of the deadline day (Norwegian time)."""
        deadline = self.terms_deadline
        today = today or timezone.localdate()
        return deadline is not None and self.terms_accepted_at is None and today > deadline

    def progress(self, meetings=None, sessions=None):
        """(done, required) for the measure; ``meetings``/``sessions`` may be prefetched lists."""
        if self.is_course:
            count = self.course.meeting_count
            if count:
                meetings = self.meetings.all() if meetings is None else meetings
                return sum(
                    m.attendance == CourseMeeting.Attendance.ATTENDED for m in meetings
                ), count
            return int(self.completed_on is not None), 1
        sessions = self.sessions.all() if sessions is None else sessions
        held = sum(s.status == SupervisionSession.Status.HELD for s in sessions)
        return held, self.agreed_sessions or 0

    @property
    def is_complete(self):
        """Its requirements are met: terms accepted and every meeting attended (or the course
        completed); for supervision, the agreed sessions held and the final report given."""
        done, required = self.progress()
        if self.is_course:
            return self.terms_accepted_at is not None and required > 0 and done >= required
        return required > 0 and done >= required and self.report_submitted_at is not None


class CourseMeeting(models.Model):
    """Kollegagruppemøte in a kvalitetspakke, and whether the GP attended."""

    class Attendance(models.TextChoices):
        UNKNOWN = "unknown", _("Not recorded")
        ATTENDED = "attended", _("Attended")
        ABSENT = "absent", _("Absent")

    measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="meetings")
    number = models.PositiveSmallIntegerField(_("meeting"))
    date = models.DateField(_("date"), validators=[stored_date])
    attendance = models.CharField(
        _("attendance"), max_length=10, choices=Attendance.choices, default=Attendance.UNKNOWN
    )
    absence_reason = models.TextField(
        _("reason for absence"), blank=True, max_length=REASON, validators=text_validators(REASON)
    )
    # The one-time key of the form that last recorded the attendance: the same form sent again
    # changes nothing (a correction comes from a new form).
    attendance_key = models.UUIDField(null=True, blank=True, editable=False)
    objects = HistoryPreservingQuerySet.as_manager()
    history = history_records()

    class Meta:
        ordering = ["number"]
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        constraints = [
            models.UniqueConstraint(fields=["measure", "number"], name="meeting_unique_number"),
            models.CheckConstraint(
                condition=~models.Q(attendance="absent", absence_reason=""),
                name="meeting_absence_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.measure_id} #{self.number} {self.date}"


class SupervisionSession(models.Model):
    """One supervision session (veiledningstime) as logged by the supervisor."""

    class Status(models.TextChoices):
        HELD = "held", _("Held")
        CANCELLED = "cancelled", _("Cancelled")

    measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="sessions")
    date = models.DateField(_("date"), validators=[stored_date])
    duration_minutes = models.PositiveSmallIntegerField(_("duration (minutes)"))
    topic = models.CharField(_("topic"), max_length=bounds.TOPIC_LENGTH)
    status = models.CharField(_("held or cancelled"), max_length=10, choices=Status.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    # The one-time key of the form that recorded it (made when the form was shown): the same
    # form sent twice, by a double click or a reload, is recognised and recorded once.
    submission_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    objects = HistoryPreservingQuerySet.as_manager()
    history = history_records()

    class Meta:
        ordering = ["date", "pk"]
        verbose_name = _("supervision session")
        verbose_name_plural = _("supervision sessions")

    def __str__(self):
        return f"{self.measure_id} {self.date} {self.status}"


# Every evidence document is stored under this prefix (what a backup takes from storage).
EVIDENCE_PREFIX = "evidence/"


def _evidence_path(instance, filename):
    # The stored name is random: the original name is user input and stays in the database only.
    return f"{EVIDENCE_PREFIX}{instance.order_id}/{uuid.uuid4().hex}"


class EvidenceDocument(models.Model):
    """A file that shows a measure was carried out. Never overwritten or deleted."""

    class Kind(models.TextChoices):
        ATTENDANCE_LIST = "attendance", _("Attendance list")
        CERTIFICATE = "certificate", _("Course certificate")
        SUPERVISOR_REPORT = "report", _("Supervisor's report")
        OTHER = "other", _("Other")

    order = models.ForeignKey(
        "orders.Order", verbose_name=_("order"), on_delete=models.PROTECT, related_name="documents"
    )
    measure = models.ForeignKey(
        Measure,
        verbose_name=_("measure"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="documents",
    )
    supersedes = models.OneToOneField(
        "self",
        verbose_name=_("replaces"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
    )
    kind = models.CharField(_("kind of document"), max_length=20, choices=Kind.choices)
    file = models.FileField(_("file"), upload_to=_evidence_path, max_length=200)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveIntegerField(_("size in bytes"))
    # Of the bytes as stored, taken at upload: what a copy restored from a backup is checked
    # against (backup_drill). Empty only for a document stored before checksums were kept
    # whose file could not be read when they were added (migration 0010).
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    # The one-time key of the form that recorded it (made when the form was shown): the same
    # form sent twice, by a double click or a reload, is recognised and recorded once.
    submission_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    objects = HistoryPreservingQuerySet.as_manager()
    history = history_records()

    class Meta:
        ordering = ["uploaded_at", "pk"]
        verbose_name = _("evidence document")
        verbose_name_plural = _("evidence documents")

    def __str__(self):
        return self.original_name

    @property
    def download_name(self):
        """The name the file is downloaded under; also right for rows kept before names
        were made to follow the content."""
        return evidence_file_name(self.original_name, self.content_type)
