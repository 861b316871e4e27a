"""Many orders for list and query-count tests, written directly: copies of a template order
that was issued (and advanced) through the services, so every copy is in a state the services
really produce, at a fraction of their cost (no flow engine, permission checks, notices or
access log per copy).

The copies are for reading: their process rows, tasks (human, timer and end rows alike),
measures and next deadline are the template's, each copy with a case number of its own. They
carry no notices, no change history beyond their creation, and none of viewflow's
task-to-task links, so a test that takes a further step on an order uses the services, not a
copy. The next deadline is computed by the application's own code (orders.deadlines.refresh),
as after any save.

Many access events likewise: copies of events written through audit.record, appended as real
links of the hash chain (so ``verify_audit`` finds it whole), in one insert instead of a
locked round trip and a capacity look-up per event."""

import copy
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from viewflow.workflow.models import Process, Task

from audit import chain
from audit.actor import acting_as
from audit.models import AccessEvent, ChainHead
from courses.models import Measure
from orders import deadlines
from orders.models import Order


def _as_new(instance, *pk_names):
    for name in pk_names:
        setattr(instance, name, None)
    instance._state.adding = True
    return instance


def copy_orders(templates, count, *, start, deadline=None):
    """``count`` copies of ``templates`` in turn (orders, e.g. about different people), with
    case numbers ``year/start``, ``year/start + 1``, …; with ``deadline`` (a date), copy ``i``
    is due ``deadline + i`` days, like orders issued one by one with their own deadlines."""
    templates = [Order.objects.get(pk=t.pk) for t in templates]
    tasks = {t.pk: list(Task.objects.filter(process_id=t.pk).order_by("pk")) for t in templates}
    measures = {t.pk: list(Measure.objects.filter(order_id=t.pk).order_by("pk")) for t in templates}
    copies, new_tasks = [], []
    order_pk = (Order._meta.pk.attname, Process._meta.pk.attname)
    for i in range(count):
        template = templates[i % len(templates)]
        # The order as its caseworker registered it: their name on its history row.
        with acting_as(template.caseworker):
            order = _as_new(Order.objects.get(pk=template.pk), *order_pk)
            year = template.case_number.split("/", 1)[0]
            order.case_number = f"{year}/{start + i}"
            if deadline is not None:
                order.deadline = deadline + timedelta(days=i)
            order.save()
            for measure in measures[template.pk]:
                measure = _as_new(copy.copy(measure), Measure._meta.pk.attname)
                measure.order = order
                measure.save()
        for task in tasks[template.pk]:
            task = _as_new(copy.copy(task), Task._meta.pk.attname)
            task.process_id = order.pk
            new_tasks.append(task)
        copies.append(order)
    # Viewflow's Task has no history and no guard against bulk writes; its post_save receivers
    # (notices, the next deadline) are what the copies do without, or do below.
    Task.objects.bulk_create(new_tasks)
    for order in copies:
        deadlines.refresh(order.pk)
    return copies


# What a copied event takes from its template: all but its place in the chain and its time.
_CHAIN_FIELDS = {"id", "sequence", "at", "previous_hash", "hash"}


def more_events_like(templates, count):
    """``count`` access events with the content of ``templates`` (events audit.record wrote)
    in turn, appended as the next links of the chain as audit.chain.append writes each one:
    the head's sequence moved on first (taking its lock), each event linked to the one before
    and hashed, then the head moved to the last one's hash."""
    content = [
        {f.attname: getattr(t, f.attname) for f in AccessEvent._meta.concrete_fields}
        for t in templates
    ]
    for fields in content:
        for name in _CHAIN_FIELDS:
            fields.pop(name)
    with transaction.atomic():
        ChainHead.objects.get_or_create(pk=1)
        ChainHead.objects.filter(pk=1).update(sequence=F("sequence") + count)
        head = ChainHead.objects.get(pk=1)
        sequence, previous = head.sequence - count, head.hash
        events = []
        for i in range(count):
            sequence += 1
            event = AccessEvent(
                sequence=sequence,
                at=timezone.now(),
                previous_hash=previous,
                **content[i % len(content)],
            )
            event.hash = previous = chain.hash_of(event)
            events.append(event)
        AccessEvent.objects.bulk_create(events)
        ChainHead.objects.filter(pk=1).update(hash=previous)
    return events
