"""Notices to the people who must act: a new task, a deadline approaching, a deadline passed, a
missed deadline to follow up. Each is a row (the in-app list) and an e-mail that says only that
there is something to do, with a link — no names, no grounds, no health information.

Every notice has a unique key, so the scheduled command and the workflow's timers can run any
number of times and nobody is told the same thing twice. E-mail is claimed before it is sent
and released again if sending fails, so it is retried on the next run, never lost.
"""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from courses.models import Measure
from municipalities.access import leaders_of

from . import deadlines, steps
from .access import stand_ins_of
from .models import Notification
from .steps import Actor

logger = logging.getLogger(__name__)

Kind = Notification.Kind
OPEN = ("NEW", "ASSIGNED")


def _active(users):
    return [user for user in users if user is not None and user.is_active and user.pk]


def _caseworkers_of(order) -> list:
    """The order's own caseworker and its stand-ins (single-order grants, also through a
    group): not every caseworker of the authority, who may take the step but do not work it."""
    stand_ins = [user for user in stand_ins_of(order) if user.pk != order.caseworker_id]
    return [order.caseworker, *stand_ins]


# Who is told, for each actor of orders.steps: those the access rule lets take the step.
RECIPIENTS = {
    Actor.MUNICIPALITY: lambda order: leaders_of(order.municipality),
    Actor.PERSONNEL: lambda order: [order.health_personnel.user],
    Actor.AUTHORITY: _caseworkers_of,
}


def responsible_for_step(order, step_name) -> list:
    """Who must act on a step: the municipality's leaders, the GP, or the caseworker and the
    order's stand-ins (orders.steps says which)."""
    step = steps.STEPS.get(step_name)
    if step is None:
        return []
    people = RECIPIENTS[step.actor](order)
    if step.actor != Actor.PERSONNEL:
        # Separation of duties (orders.access.Capabilities.is_concerned): the person the order
        # concerns is never asked to act on it for the municipality or the authority.
        people = [user for user in people if not order.concerns(user)]
    return _active(people)


def notify(recipients, *, kind, order, key, deadline_kind="", due=None, step="") -> int:
    """One notice per recipient; a notice with the same key already given is not repeated."""
    created = 0
    for recipient in recipients:
        try:
            with transaction.atomic():
                Notification.objects.create(
                    recipient=recipient,
                    kind=kind,
                    order=order,
                    deadline_kind=deadline_kind,
                    due=due,
                    step=step,
                    key=f"{key}:{recipient.pk}"[:200],
                )
            created += 1
        except IntegrityError:
            continue
    return created


def notify_new_task(task) -> int:
    """A step has opened: everyone who may take it is told (the flow calls this when the task
    is created and linked, OrderFlow.opened, in the same transaction: a step rolled back leaves
    no notice). A follow-up names the missed deadline it is about."""
    order = task.process.coerced
    step = steps.of(task)
    details = {"step": step.name}
    if step.notice == Kind.ESCALATION:
        late = steps.of(deadlines.watched_step(task))
        details = {
            "deadline_kind": late.deadline,
            "due": deadlines.step_deadline(order, late.name),
            "step": late.name,
        }
    return notify(
        responsible_for_step(order, step.name),
        kind=step.notice,
        order=order,
        key=f"task:{task.pk}",
        **details,
    )


def deadline_notice(host_task, kind) -> int:
    """A reminder or overdue notice for a step, to whoever must act on it, once per deadline."""
    if host_task.status not in OPEN:
        return 0
    order = host_task.process.coerced
    step = host_task.flow_task.name
    due = deadlines.step_deadline(order, step)
    today = timezone.localdate()
    if kind == Kind.OVERDUE and today <= due:
        # The deadline moved after the timer was armed; the re-armed timer will tell.
        return 0
    return notify(
        responsible_for_step(order, step),
        kind=kind,
        order=order,
        key=f"{kind}:{host_task.pk}:{due}",
        deadline_kind=steps.STEPS[step].deadline,
        due=due,
        step=step,
    )


def still_late(host_task) -> bool:
    if host_task.status not in OPEN:
        return False
    order = host_task.process.coerced
    due = deadlines.step_deadline(order, host_task.flow_task.name)
    return timezone.now() >= deadlines.escalation_at(due)


def course_terms_notices(today=None) -> int:
    """Reminders before, and overdue notices after, the deadline for accepting course terms.

    Terms belong to a measure, not to a step of the flow, so they are swept here rather than by
    a workflow timer; the keys make the sweep safe to repeat.
    """
    today = today or timezone.localdate()
    measures = Measure.objects.filter(
        enrolled_on__isnull=False,
        terms_accepted_at__isnull=True,
        order__status="NEW",
    ).select_related("order__health_personnel__user", "order__municipality")
    sent = 0
    for measure in measures:
        due = measure.terms_deadline
        order = measure.order
        gp = _active([order.health_personnel.user])
        if today > due:
            recipients = gp + [u for u in leaders_of(order.municipality) if u not in gp]
            sent += notify(
                _active(recipients),
                kind=Kind.OVERDUE,
                order=order,
                key=f"terms-overdue:{measure.pk}:{due}",
                deadline_kind=deadlines.Kind.TERMS,
                due=due,
            )
        elif (due - today).days <= settings.REMINDER_DAYS_BEFORE:
            sent += notify(
                gp,
                kind=Kind.REMINDER,
                order=order,
                key=f"terms-reminder:{measure.pk}:{due}",
                deadline_kind=deadlines.Kind.TERMS,
                due=due,
            )
    return sent


# Marked for translation here, translated when the mail is written (in bokmål).
SUBJECTS = {
    Kind.NEW_TASK: gettext_noop("You have a new task in Pålegg"),
    Kind.REMINDER: gettext_noop("A deadline in Pålegg is approaching"),
    Kind.OVERDUE: gettext_noop("A deadline in Pålegg has passed"),
    Kind.ESCALATION: gettext_noop("A missed deadline in Pålegg needs your follow-up"),
}


def _message(notification):
    link = settings.SITE_URL + reverse("orders:notification", args=[notification.pk])
    with translation.override(notification.recipient.preferred_language):
        subject = _(SUBJECTS[notification.kind])
        body = _(
            "There is something for you to do in Pålegg.\n\n"
            "Log in to see what it is:\n%(link)s\n\n"
            "This e-mail has no details on purpose. Do not reply to it."
        ) % {"link": link}
    return subject, body


def send_pending() -> int:
    """E-mail every notice not yet e-mailed. Safe to run concurrently and repeatedly."""
    sent = 0
    pending = Notification.objects.filter(emailed_at__isnull=True).select_related("recipient")
    for notification in pending.order_by("pk"):
        recipient = notification.recipient
        if not recipient.email:
            continue
        # Claim first: another run that got here too finds it taken and moves on.
        claimed = Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True).update(
            emailed_at=timezone.now()
        )
        if not claimed:
            continue
        subject, body = _message(notification)
        try:
            send_mail(subject, body, None, [recipient.email])
        except Exception as error:
            # The kind of failure, not its text: an SMTP refusal names the recipient's address.
            failure = f"{type(error).__name__} {getattr(error, 'smtp_code', '')}".strip()
            logger.error(
                "Notice %s could not be e-mailed (%s); will retry", notification.pk, failure
            )
            Notification.objects.filter(pk=notification.pk).update(emailed_at=None)
            continue
        sent += 1
    return sent
