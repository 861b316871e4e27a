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

from . import deadlines
from .models import Notification

logger = logging.getLogger(__name__)

Kind = Notification.Kind
OPEN = ("NEW", "ASSIGNED")


def _active(users):
    return [user for user in users if user is not None and user.is_active and user.pk]


def responsible_for_step(order, step_name) -> list:
    """Who must act on a step: the municipality's leaders, the GP, or the caseworker."""
    from .flows import AUTHORITY_STEPS, MUNICIPAL_STEPS, PERSONNEL_STEPS

    if step_name in MUNICIPAL_STEPS:
        others = leaders_of(order.municipality)
    elif step_name in PERSONNEL_STEPS:
        return _active([order.health_personnel.user])
    elif step_name in AUTHORITY_STEPS:
        others = [order.caseworker]
    else:
        return []
    # Separation of duties (orders.access.is_concerned_person): the person the order concerns
    # is never asked to act on it for the municipality or the authority.
    return _active([user for user in others if not order.concerns(user)])


def notify(recipients, *, kind, order, key, deadline_kind="", due=None) -> int:
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
                    key=f"{key}:{recipient.pk}"[:200],
                )
            created += 1
        except IntegrityError:
            continue
    return created


def late_step_of(follow_up_task):
    """The step a follow-up task is about: back through the branch to the watched step."""
    from viewflow.workflow.models import Task

    from .flows import OrderFlow

    task = follow_up_task.previous.first()
    if task is None:
        # viewflow saves a new task before linking it to the one before, so post_save (the
        # new-task notice) sees no previous yet: it is the gate that is creating it now, the
        # process's latest (the process is locked while a timer fires).
        task = Task.objects.filter(
            process_id=follow_up_task.process_id, flow_task=OrderFlow.consider_follow_up
        ).latest("pk")
    while task.flow_task_type != "HUMAN":
        task = task.previous.get()
    return task


def notify_new_task(task) -> int:
    from .flows import DEADLINE_OF_STEP

    order = task.process.coerced
    step = task.flow_task.name
    if step != "follow_up":
        return notify(
            responsible_for_step(order, step),
            kind=Kind.NEW_TASK,
            order=order,
            key=f"task:{task.pk}",
        )
    late = late_step_of(task)
    return notify(
        responsible_for_step(order, step),
        kind=Kind.ESCALATION,
        order=order,
        key=f"task:{task.pk}",
        deadline_kind=DEADLINE_OF_STEP[late.flow_task.name],
        due=deadlines.step_deadline(order, late.flow_task.name),
    )


def tell_who_must_act(sender, instance, created, raw=False, **kwargs):
    """post_save of a workflow task: every step that opens is a notice to whoever must take
    it, in the same transaction (a step rolled back leaves no notice)."""
    if created and not raw and instance.flow_task_type == "HUMAN":
        notify_new_task(instance)


def deadline_notice(host_task, kind) -> int:
    """A reminder or overdue notice for a step, to whoever must act on it, once per deadline."""
    if host_task.status not in OPEN:
        return 0
    order = host_task.process.coerced
    step = host_task.flow_task.name
    from .flows import DEADLINE_OF_STEP

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
        deadline_kind=DEADLINE_OF_STEP[step],
        due=due,
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
    with translation.override(settings.LANGUAGE_CODE):
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
            logger.error("Notice %s could not be e-mailed (%s); will retry", notification.pk, failure)
            Notification.objects.filter(pk=notification.pk).update(emailed_at=None)
            continue
        sent += 1
    return sent
