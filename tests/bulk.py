"""Many orders for list and query-count tests, written directly: copies of a template order
that was issued (and advanced) through the services, so every copy is in a state the services
really produce, at a fraction of their cost (no flow engine, permission checks, notices or
access log per copy).

The copies are for reading: their process rows, tasks (human, timer and end rows alike),
measures and next deadline are the template's, each copy with a case number of its own. They
carry no notices, no change history beyond their creation, and none of viewflow's
task-to-task links, so a test that takes a further step on an order uses the services, not a
copy. The next deadline is computed by the application's own code (orders.deadlines.refresh),
as after any save."""

import copy
from datetime import timedelta

from viewflow.workflow.models import Process, Task

from audit.actor import acting_as
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
