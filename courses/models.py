"""The measures an order is carried out through: the course catalog, the measures planned
for an order, and the evidence documents that show they were done.

Orders are referred to by the string "orders.Order" so this app never imports orders.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from audit.actor import history_records
from audit.guards import HistoryPreservingQuerySet


class Course(models.Model):
    """A course in the catalog, e.g. one of SKIL's kvalitetspakker."""

    class Provider(models.TextChoices):
        SKIL = "skil", "SKIL"
        NOKLUS = "noklus", "NOKLUS"
        OTHER = "other", _("Other")

    title = models.CharField(_("title"), max_length=200)
    provider = models.CharField(_("provider"), max_length=20, choices=Provider.choices)
    description = models.TextField(_("description"), blank=True)
    active = models.BooleanField(_("active"), default=True)
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


class Measure(models.Model):
    """Tiltak: a course or a supervision arrangement planned for one order."""

    class Kind(models.TextChoices):
        COURSE = "course", _("Course")
        SUPERVISION = "supervision", _("Supervision")

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        COMPLETED = "completed", _("Carried out")

    order = models.ForeignKey(
        "orders.Order", verbose_name=_("order"), on_delete=models.PROTECT, related_name="measures"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.PROTECT, null=True, blank=True
    )
    supervisor_name = models.CharField(_("supervisor"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    planned_completion = models.DateField(_("planned completion"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PLANNED
    )
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


def _evidence_path(instance, filename):
    # The stored name is random: the original name is user input and stays in the database only.
    return f"evidence/{instance.order_id}/{uuid.uuid4().hex}"


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
    kind = models.CharField(_("kind of document"), max_length=20, choices=Kind.choices)
    file = models.FileField(_("file"), upload_to=_evidence_path, max_length=200)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveIntegerField(_("size in bytes"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    objects = HistoryPreservingQuerySet.as_manager()
    history = history_records()

    class Meta:
        ordering = ["uploaded_at", "pk"]
        verbose_name = _("evidence document")
        verbose_name_plural = _("evidence documents")

    def __str__(self):
        return self.original_name
