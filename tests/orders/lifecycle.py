"""Drive an order through its steps with the services, as the people concerned would.

Shared by the access, query-count and concurrency tests. Not a test module itself.
"""

from datetime import timedelta

from django.core.files.base import ContentFile
from django.utils import timezone
from viewflow.workflow.models import Task

from courses.models import CourseMeeting, EvidenceDocument, Measure, SupervisionSession
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


def supervisor_for(order):
    """A registered health personnel, without a login, to supervise on ``order``."""
    return factories.HealthPersonnelFactory(user=None, municipality=order.municipality)


def plan(order, leader, *, measures=1, supervisor=None):
    """Plan ``measures`` measures: courses and supervision in turn. Supervision is by
    ``supervisor`` (a HealthPersonnel), or one made for the order when there is any."""
    today = timezone.localdate()
    specs = []
    for i in range(measures):
        if i % 2 == 0:
            specs.append(
                {
                    "kind": Measure.Kind.COURSE,
                    "course": factories.course(),
                    "description": f"Kurs {i}",
                    "planned_completion": today + timedelta(days=30 + i),
                }
            )
        else:
            supervisor = supervisor or supervisor_for(order)
            specs.append(
                {
                    "kind": Measure.Kind.SUPERVISION,
                    "course": None,
                    "supervisor": supervisor,
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


INCOMPLETE_REASON = "Ikke fullført – test"


def incomplete_reasons(order, text=INCOMPLETE_REASON) -> dict:
    """``{pk: text}`` for every planned measure of ``order`` that is not complete."""
    return {
        m.pk: text
        for m in Measure.objects.filter(order=order, status=Measure.Status.PLANNED)
        if not m.is_complete
    }


def confirm(order, leader, *, documents=1, note="Gjennomført.", reasons=True):
    """Confirm completion. Incomplete measures get the default reason; ``reasons`` may also be
    a dict ``{pk: text}`` (exactly those) or False (none: the service refuses if any is
    incomplete)."""
    uploads = [(pdf(f"bevis-{i}.pdf"), EvidenceDocument.Kind.CERTIFICATE) for i in range(documents)]
    if reasons is True:
        reasons = incomplete_reasons(order)
    return services.confirm_completion(
        task=open_task(order, "confirm_completion"),
        acting_user=leader,
        note=note,
        uploads=uploads,
        reasons=reasons or None,
    )


def complete_measures(order, leader, *, only=None, sessions=2):
    """Carry out every planned measure of ``order`` (or those in ``only``) through
    orders.services, as the people concerned would: the leader enrols the GP and records
    attendance (or completion), the GP accepts the course terms; the leader arranges
    supervision (``sessions`` sessions unless the plan agreed a number) and the supervisor
    logs every session as held and reports."""
    today = timezone.localdate()
    gp_user = order.health_personnel.user
    measures = Measure.objects.filter(order=order, status=Measure.Status.PLANNED)
    if only is not None:
        measures = measures.filter(pk__in=[m.pk for m in only])
    for measure in measures.select_related("course", "supervisor__user"):
        if measure.is_course:
            count = measure.course.meeting_count
            services.enrol_in_course(
                measure=measure,
                acting_user=leader,
                enrolled_on=today - timedelta(days=7 * (count + 1)),
                group_name="Kollegagruppe Test" if count else "",
                group_leader="Gruppeleder Test" if count else "",
                meeting_dates=[today - timedelta(days=7 * (count - n)) for n in range(count)],
            )
            services.accept_course_terms(measure=measure, acting_user=gp_user)
            if count:
                for meeting in measure.meetings.order_by("number"):
                    services.record_attendance(
                        meeting=meeting,
                        acting_user=leader,
                        attendance=CourseMeeting.Attendance.ATTENDED,
                    )
            else:
                services.record_course_completion(
                    measure=measure, acting_user=leader, completed_on=today - timedelta(days=1)
                )
        else:
            agreed = measure.agreed_sessions or sessions
            start = measure.period_start or today - timedelta(days=7 * (agreed + 1))
            services.arrange_supervision(
                measure=measure,
                acting_user=leader,
                agreed_sessions=agreed,
                period_start=start,
                period_end=max(measure.period_end or today, start),
            )
            supervisor = measure.supervisor.user
            for n in range(agreed):
                services.record_supervision_session(
                    measure=measure,
                    acting_user=supervisor,
                    date=today - timedelta(days=agreed - n),
                    duration_minutes=60,
                    topic=f"Veiledningstime {n + 1}",
                    status=SupervisionSession.Status.HELD,
                )
            services.submit_supervision_report(
                measure=measure, acting_user=supervisor, report="Veiledningen er gjennomført."
            )
    for measure in measures.prefetch_related("meetings", "sessions"):
        assert measure.is_complete, f"complete_measures left {measure} incomplete"
    return order


def sign_off(order, caseworker, *, outcome=Review.Outcome.FULFILLED, reason=""):
    return services.sign_off(
        task=open_task(order, "sign_off"), acting_user=caseworker, outcome=outcome, reason=reason
    )


def advance(order, leader, stage, *, measures=1, documents=1, complete=False):
    """Take the steps that come before ``stage``, so that ``stage`` is the open step. The
    measures are confirmed as not carried out (with a reason), or with ``complete`` carried out
    first."""
    steps = STAGES[: STAGES.index(stage)]
    if "plan_measures" in steps:
        plan(order, leader, measures=measures)
    if "acknowledge" in steps:
        acknowledge(order)
    if "confirm_completion" in steps:
        if complete:
            complete_measures(order, leader)
        confirm(order, leader, documents=documents)
    return order
