"""The order (faglig pålegg, helsepersonelloven § 56) and the decisions recorded on it.

``Order`` is a concrete subclass of viewflow's Process, so the workflow engine, guardian and
simple-history all see the same row. Its state (which step is open, finished, cancelled) is
viewflow's; this module adds the case facts and the decisions that steer the flow.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from viewflow.workflow.managers import ProcessQuerySet
from viewflow.workflow.models import Process

from audit.actor import history_records
from audit.guards import HistoryPreservingMixin, HistoryPreservingQuerySet
from courses.models import EvidenceDocument, Measure
from municipalities import bounds
from municipalities.bounds import stored_date, text_validators
from municipalities.models import Authority, HealthPersonnel, Municipality
from municipalities.workdays import DueDate

GROUNDS, REASON = bounds.GROUNDS_LENGTH, bounds.REASON_LENGTH

ACT_AS_CASEWORKER = "orders.act_as_caseworker"
VIEW_ORDER = "orders.view_order"


class OrderQuerySet(HistoryPreservingMixin, ProcessQuerySet):
    pass


class Order(Process):
    """Faglig pålegg: a duty to take a course or receive supervision."""

    class LegalBasis(models.TextChoices):
        HPL_56 = "hpl-56", _("The Health Personnel Act § 56 (professional order)")

    case_number = models.CharField(
        _("case number"),
        max_length=20,
        validators=[
            RegexValidator(
                r"^\d{4}/\d{1,7}$", _("Write the case number as year/number, e.g. 2026/1234.")
            )
        ],
    )
    issuing_authority = models.ForeignKey(
        Authority,
        verbose_name=_("issuing authority"),
        on_delete=models.PROTECT,
        related_name="orders",
    )
    caseworker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible caseworker"),
        on_delete=models.PROTECT,
        related_name="orders_as_caseworker",
    )
    health_personnel = models.ForeignKey(
        HealthPersonnel,
        verbose_name=_("health personnel"),
        on_delete=models.PROTECT,
        related_name="orders",
    )
    municipality = models.ForeignKey(
        Municipality,
        verbose_name=_("responsible municipality"),
        on_delete=models.PROTECT,
        related_name="orders",
    )
    legal_basis = models.CharField(
        _("legal basis"), max_length=20, choices=LegalBasis.choices, default=LegalBasis.HPL_56
    )
    decision_date = models.DateField(_("decision date"), validators=[stored_date])
    grounds_summary = models.TextField(
        _("summary of the grounds"), max_length=GROUNDS, validators=text_validators(GROUNDS)
    )
    requires_course = models.BooleanField(_("course"), default=False)
    requires_supervision = models.BooleanField(_("supervision"), default=False)
    requirements = models.TextField(
        _("what the order requires"), max_length=GROUNDS, validators=text_validators(GROUNDS)
    )
    deadline = models.DateField(_("completion deadline"), validators=[stored_date])
    # fvl. § 29: the appeal period runs from receipt; unknown until recorded, then the decision
    # date is assumed (electronic delivery the same day).
    decision_received_on = models.DateField(
        _("decision received by the health personnel"),
        null=True,
        blank=True,
        validators=[stored_date],
    )
    withdrawal_reason = models.TextField(
        _("reason for withdrawal"),
        blank=True,
        max_length=bounds.WITHDRAWAL_LENGTH,
        validators=text_validators(bounds.WITHDRAWAL_LENGTH),
    )
    objects = OrderQuerySet.as_manager()
    history = history_records()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["deadline", "pk"]
        permissions = [("act_as_caseworker", _("Can act as caseworker on this order"))]
        constraints = [
            models.UniqueConstraint(
                fields=["issuing_authority", "case_number"], name="order_unique_case_number"
            ),
            models.CheckConstraint(
                condition=models.Q(deadline__gt=models.F("decision_date")),
                name="order_deadline_after_decision",
            ),
            models.CheckConstraint(
                condition=models.Q(requires_course=True) | models.Q(requires_supervision=True),
                name="order_requires_a_measure",
            ),
        ]

    def __str__(self):
        return f"{self.case_number} – {self.health_personnel.name}"

    def clean(self):
        """The dates of a new order (issue: a year-9999 deadline broke a case for good)."""
        super().clean()
        errors = {}
        decision, deadline = self.decision_date, self.deadline
        if decision and decision > bounds.today():
            errors["decision_date"] = _("The decision date cannot be in the future.")
        if decision and deadline and deadline > bounds.latest_deadline(decision):
            errors["deadline"] = bounds.deadline_too_late(decision)
        received = self.decision_received_on
        if decision and received and received < decision:
            errors["decision_received_on"] = _(
                "The decision cannot be received before it was made."
            )
        if errors:
            raise ValidationError(errors)

    def concerns(self, user) -> bool:
        """Is ``user`` the health personnel this order is about? (The steps' own permission
        check asks; orders.access.Capabilities.is_concerned is the same rule, read from the
        user's own health-personnel records.)"""
        return user is not None and user.pk is not None and self.health_personnel.user_id == user.pk

    @property
    def completion(self) -> DueDate:
        """The completion deadline (as extended) as it falls (moved off a day off) and as set:
        every page, list, notice and step reads it from here, so they name the same day."""
        return DueDate(self.deadline)

    @property
    def required_measures_label(self):
        if self.requires_course and self.requires_supervision:
            return _("Course and supervision")
        return _("Course") if self.requires_course else _("Supervision")


class OrderUserObjectPermission(UserObjectPermissionBase):
    """An individual grant on one order (a stand-in caseworker, a supervisor)."""

    content_object = models.ForeignKey(Order, on_delete=models.CASCADE)


class OrderGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Order, on_delete=models.CASCADE)


class SupervisionGrant(models.Model):
    """A supervisor's (veileder's) access to the case of the measure they supervise: who was
    granted it, by whom, when and why, and when it ended and why.

    This table is the one source of a supervisor's access (orders.access reads the active
    rows; no guardian permission is involved). orders.services opens a grant when a
    supervisor is named and ends it, in the same transaction, when the supervision is
    complete, the measure is closed or the case closes; a measure opened again by a send-back
    gets a new grant. Rows are never deleted.
    """

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="supervision_grants", verbose_name=_("order")
    )
    measure = models.ForeignKey(
        Measure,
        on_delete=models.PROTECT,
        related_name="supervision_grants",
        verbose_name=_("measure"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("supervisor"),
        on_delete=models.PROTECT,
        related_name="supervision_grants",
    )
    reason = models.CharField(_("reason for the access"), max_length=300)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("granted by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    granted_at = models.DateTimeField(_("granted"))
    ended_at = models.DateTimeField(_("access ended"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("ended by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    end_reason = models.CharField(_("why the access ended"), max_length=300, blank=True)
    objects = HistoryPreservingQuerySet.as_manager()
    history = history_records()

    class Meta:
        ordering = ["granted_at", "pk"]
        verbose_name = _("supervisor's access")
        verbose_name_plural = _("supervisors' access")
        constraints = [
            models.UniqueConstraint(
                fields=["measure", "user"],
                condition=models.Q(ended_at__isnull=True),
                name="supervision_grant_one_active",
            ),
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True, end_reason="")
                | models.Q(ended_at__isnull=False) & ~models.Q(end_reason=""),
                name="supervision_grant_end_has_reason",
            ),
        ]
        indexes = [models.Index(fields=["user", "ended_at"])]

    def __str__(self):
        return f"{self.order_id}/{self.measure_id}: {self.user_id}"

    @property
    def is_active(self):
        return self.ended_at is None


class CompletionConfirmation(models.Model):
    """The municipality's statement that the measures are carried out."""

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="confirmations", verbose_name=_("order")
    )
    note = models.TextField(_("note"), max_length=REASON, validators=text_validators(REASON))
    documents = models.ManyToManyField(
        EvidenceDocument, verbose_name=_("documents"), related_name="confirmations"
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("confirmed"), auto_now_add=True)
    objects = HistoryPreservingQuerySet.as_manager()
    history = history_records()

    class Meta:
        ordering = ["confirmed_at", "pk"]
        verbose_name = _("completion confirmation")
        verbose_name_plural = _("completion confirmations")

    def __str__(self):
        return f"{self.order_id}: {self.confirmed_at:%Y-%m-%d}"


class Review(models.Model):
    """The authority's decision on a completion confirmation: fulfilled, or sent back."""

    class Outcome(models.TextChoices):
        FULFILLED = "fulfilled", _("Fulfilled – close the case")
        RETURNED = "returned", _("Sent back to the municipality")

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="reviews", verbose_name=_("order")
    )
    outcome = models.CharField(_("decision"), max_length=20, choices=Outcome.choices)
    reason = models.TextField(
        _("reason"), blank=True, max_length=REASON, validators=text_validators(REASON)
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), auto_now_add=True)
    objects = HistoryPreservingQuerySet.as_manager()
    history = history_records()

    class Meta:
        ordering = ["decided_at", "pk"]
        get_latest_by = ["decided_at", "pk"]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(outcome="returned", reason=""),
                name="review_return_has_reason",
            )
        ]

    def __str__(self):
        return f"{self.order_id}: {self.outcome}"

    @property
    def outcome_label(self):
        """The decision as it reads afterwards (the choice labels are phrased as options)."""
        if self.outcome == self.Outcome.FULFILLED:
            return _("Fulfilled – case closed")
        return _("Sent back to the municipality")


class DeadlineExtension(models.Model):
    """A change of the completion deadline, with the reason the authority gave."""

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="extensions", verbose_name=_("order")
    )
    previous_deadline = models.DateField(_("previous deadline"))
    new_deadline = models.DateField(_("new deadline"), validators=[stored_date])
    reason = models.TextField(_("reason"), max_length=REASON, validators=text_validators(REASON))
    extended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("extended by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    extended_at = models.DateTimeField(_("extended"), auto_now_add=True)
    objects = HistoryPreservingQuerySet.as_manager()
    history = history_records()

    class Meta:
        ordering = ["extended_at", "pk"]
        verbose_name = _("deadline extension")
        verbose_name_plural = _("deadline extensions")

    def __str__(self):
        return f"{self.order_id}: {self.previous_deadline} → {self.new_deadline}"


class Appeal(models.Model):
    """Klage to Statens helsepersonellnemnd, lodged through the issuing authority
    (forvaltningsloven § 32). The order stands while the appeal is pending."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Pending")
        UPHELD = "upheld", _("Upheld – the order stands")
        REVERSED = "reversed", _("Reversed – the order is withdrawn")

    class DecidedBy(models.TextChoices):
        AUTHORITY = "authority", _("The issuing authority itself")
        NEMND = "nemnd", _("Norwegian Appeal Board for Health Personnel")

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="appeals", verbose_name=_("order")
    )
    received_on = models.DateField(_("appeal received"), validators=[stored_date])
    note = models.TextField(
        _("note"), blank=True, max_length=REASON, validators=text_validators(REASON)
    )
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=Outcome.choices, default=Outcome.PENDING
    )
    decided_by = models.CharField(
        _("decided by"), max_length=20, choices=DecidedBy.choices, blank=True
    )
    decided_on = models.DateField(_("decided on"), null=True, blank=True, validators=[stored_date])
    decision_note = models.TextField(
        _("about the decision"), blank=True, max_length=REASON, validators=text_validators(REASON)
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("registered by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    registered_at = models.DateTimeField(_("registered"), auto_now_add=True)
    objects = HistoryPreservingQuerySet.as_manager()
    history = history_records()

    class Meta:
        ordering = ["received_on", "pk"]
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=models.Q(outcome="pending"),
                name="appeal_one_pending_per_order",
            )
        ]

    def __str__(self):
        return f"{self.order_id}: {self.received_on} ({self.outcome})"


class FollowUp(models.Model):
    """The authority's follow-up of a missed deadline: what the caseworker did about it."""

    class Action(models.TextChoices):
        CONTACTED = "contacted", _("Contacted the municipality")
        EXTENDED = "extended", _("Extended the deadline")
        FURTHER_REACTION = "further_reaction", _("Considering further reaction")

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="follow_ups", verbose_name=_("order")
    )
    step = models.CharField(_("late step"), max_length=50)
    due = models.DateField(_("missed deadline"))
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    note = models.TextField(_("note"), max_length=REASON, validators=text_validators(REASON))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("followed up by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("followed up"), auto_now_add=True)
    objects = HistoryPreservingQuerySet.as_manager()
    history = history_records()

    class Meta:
        ordering = ["decided_at", "pk"]
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")

    def __str__(self):
        return f"{self.order_id}: {self.step} ({self.action})"


class Notification(models.Model):
    """Something a person must know to act: shown in the app, and sent by e-mail that says only
    that there is something to do. ``key`` makes each notice unique, so the scheduled command
    can run any number of times without telling anyone twice."""

    class Kind(models.TextChoices):
        NEW_TASK = "new_task", _("New task")
        REMINDER = "reminder", _("Deadline approaching")
        OVERDUE = "overdue", _("Deadline passed")
        ESCALATION = "escalation", _("Missed deadline to follow up")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.PROTECT,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="notifications", verbose_name=_("order")
    )
    deadline_kind = models.CharField(_("deadline"), max_length=20, blank=True)
    due = models.DateField(_("due"), null=True, blank=True)
    # The step it is about (orders.steps: the new task's, or the late one's), so the notice
    # names the task (selectors.notice_title); empty for course terms, which are no step.
    step = models.CharField(_("step"), max_length=40, blank=True)
    key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self):
        return f"{self.recipient_id}: {self.kind} {self.order_id}"


class NextDeadline(models.Model):
    """The earliest deadline of an open order that someone still has to meet, kept beside the
    order so lists can sort, filter and count by it in SQL. Derived data (no history): it is
    recomputed from the order, its steps and measures (orders.deadlines.refresh).

    Every order has one (the order's first step writes it), so it also carries what the access
    rules ask of an order, under the order's own names, and whether it is open. The deadline
    overview and the case list's count are counted from these rows and their indexes
    (selectors.deadline_overview, selectors.case_list), with the order's access filter applied
    to them unchanged (access.visible_orders_q: its other term, ``pk``, is the order's id here
    too), instead of joining every visible order to its process and deadline on every list
    page (47 ms and 28 ms for a statsforvalter at 100,000 orders)."""

    order = models.OneToOneField(
        Order, on_delete=models.CASCADE, primary_key=True, related_name="next_deadline"
    )
    due = models.DateField(_("next deadline"), null=True, blank=True, db_index=True)
    kind = models.CharField(_("deadline"), max_length=20, blank=True)
    # Copies of the order's, written with the deadline (deadlines.refresh). Null only until
    # the migration that added them had filled them in.
    issuing_authority = models.ForeignKey(
        Authority, on_delete=models.PROTECT, null=True, related_name="+", db_index=False
    )
    municipality = models.ForeignKey(
        Municipality, on_delete=models.PROTECT, null=True, related_name="+", db_index=False
    )
    health_personnel = models.ForeignKey(
        HealthPersonnel, on_delete=models.PROTECT, null=True, related_name="+"
    )
    is_open = models.BooleanField(default=True)
    # The order's own deadline: lists sort orders with the same next deadline by it.
    order_deadline = models.DateField(null=True)

    class Meta:
        verbose_name = _("next deadline")
        verbose_name_plural = _("next deadlines")
        indexes = [
            models.Index(
                fields=["issuing_authority", "is_open", "due"], name="orders_next_by_authority"
            ),
            models.Index(
                fields=["municipality", "is_open", "due"], name="orders_next_by_municipality"
            ),
        ]

    def __str__(self):
        return f"{self.order_id}: {self.kind} {self.due}"
