"""Drive an order through its steps with the services, as the people concerned would.

Shared by the access, query-count and concurrency tests. Not a test module itself.
"""

from datetime import timedelta

from django.core.files.base import ContentFile
from django.utils import timezone
from viewflow.workflow.models import Task

from courses.models import EvidenceDocument, Measure
from orders import access, services
from orders.models import Review
from tests import factories

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]"
    b"/Count 1>>endobj 3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 144]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

# The stages an order passes through, in order; each names the step that is open then.
STAGES = ("plan_measures", "acknowledge", "confirm_completion", "sign_off")


def pdf(name="bevis.pdf"):
    return ContentFile(PDF, name=name)


def open_task(order, step=None):
    """The open human task of ``order`` (of the named step, if given)."""
    tasks = Task.objects.filter(
        process_id=order.pk, flow_task_type="HUMAN", status__in=access.OPEN_TASK_STATUSES
    )
    tasks = [t for t in tasks if step is None or t.flow_task.name == step]
    assert len(tasks) == 1, f"expected one open {step or 'human'} task, found {tasks}"
    return tasks[0]


def plan(order, leader, *, measures=1):
    today = timezone.localdate()
    specs = []
    for i in range(measures):
        if i % 2 == 0:
            specs.append(
                {
                    "kind": Measure.Kind.COURSE,
                    "course": factories.course(),
                    "supervisor_name": "",
                    "description": f"Kurs {i}",
                    "planned_completion": today + timedelta(days=30 + i),
                }
            )
        else:
            specs.append(
                {
                    "kind": Measure.Kind.SUPERVISION,
                    "course": None,
                    "supervisor_name": f"Veileder {i}",
                    "description": f"Veiledning {i}",
                    "planned_completion": today + timedelta(days=30 + i),
                }
            )
    services.plan_measures(
        task=open_task(order, "plan_measures"), acting_user=leader, measures=specs
    )


def acknowledge(order):
    services.acknowledge_plan(
        task=open_task(order, "acknowledge"), acting_user=order.health_personnel.user
    )


def confirm(order, leader, *, documents=1, note="Gjennomført."):
    uploads = [(pdf(f"bevis-{i}.pdf"), EvidenceDocument.Kind.CERTIFICATE) for i in range(documents)]
    return services.confirm_completion(
        task=open_task(order, "confirm_completion"),
        acting_user=leader,
        note=note,
        uploads=uploads,
    )


def sign_off(order, caseworker, *, outcome=Review.Outcome.FULFILLED, reason=""):
    return services.sign_off(
        task=open_task(order, "sign_off"), acting_user=caseworker, outcome=outcome, reason=reason
    )


def advance(order, leader, stage, *, measures=1, documents=1):
    """Take the steps that come before ``stage``, so that ``stage`` is the open step."""
    steps = STAGES[: STAGES.index(stage)]
    if "plan_measures" in steps:
        plan(order, leader, measures=measures)
    if "acknowledge" in steps:
        acknowledge(order)
    if "confirm_completion" in steps:
        confirm(order, leader, documents=documents)
    return order
