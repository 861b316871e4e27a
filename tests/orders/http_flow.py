"""Helpers that drive an order through its lifecycle over HTTP, posting the real forms as the
people in the ``world`` fixture would. Shared by test_lifecycle.py and test_history.py.

The helpers only build requests and look up which step is open; every assertion about what
the system did is left to the tests.
"""

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from courses.models import Course, EvidenceDocument, Measure
from orders import access
from orders.models import Appeal, CompletionConfirmation, DeadlineExtension, Order, Review

from . import lifecycle

# A tiny but real PDF: the upload check recognises files by content, not by name.
PDF_BYTES = (
    b"%PDF-1.4\n"
    b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    b"trailer << /Root 1 0 R >>\n"
    b"%%EOF\n"
)

OPEN = (STATUS.NEW, STATUS.ASSIGNED)


def today():
    return timezone.localdate()


def pdf(name="kursbevis.pdf"):
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def case_url(order):
    return f"/saker/{order.pk}/"


def step_url(order, task):
    return f"/saker/{order.pk}/steg/{task.pk}/"


def course(title="Vanedannende legemidler (VLM)"):
    return Course.objects.get_or_create(
        provider=Course.Provider.SKIL, title=title, defaults={"active": True}
    )[0]


def reload(order) -> Order:
    return Order.objects.get(pk=order.pk)


def tasks_of(order, name=None, statuses=None) -> list[Task]:
    tasks = Task.objects.filter(process_id=order.pk, flow_task_type="HUMAN").order_by("pk")
    if statuses is not None:
        tasks = tasks.filter(status__in=statuses)
    return [t for t in tasks if name is None or access.step_name(t) == name]


def open_step(order, name) -> Task:
    """The one open task of step ``name`` on ``order`` (looked up in the database)."""
    tasks = tasks_of(order, name, OPEN)
    assert len(tasks) == 1, f"expected one open {name} task, found {tasks}"
    return tasks[0]


def open_step_names(order) -> list[str]:
    return [access.step_name(t) for t in tasks_of(order, statuses=OPEN)]


def snapshot(order) -> dict:
    """Everything a refused request must leave untouched."""
    order = reload(order)
    return {
        "status": order.status,
        "deadline": order.deadline,
        "withdrawal_reason": order.withdrawal_reason,
        "tasks": sorted(
            Task.objects.filter(process_id=order.pk).values_list("pk", "status", "owner_id")
        ),
        "measures": sorted(
            Measure.objects.filter(order=order).values_list("pk", "status", "incomplete_reason")
        ),
        "documents": EvidenceDocument.objects.filter(order=order).count(),
        "confirmations": CompletionConfirmation.objects.filter(order=order).count(),
        "reviews": Review.objects.filter(order=order).count(),
        "extensions": DeadlineExtension.objects.filter(order=order).count(),
        "appeals": sorted(Appeal.objects.filter(order=order).values_list("pk", "outcome")),
        "order_history": Order.history.filter(process_ptr_id=order.pk).count(),
    }


def form_errors(response):
    """The errors of the forms a re-rendered page shows, for assertion messages."""
    context = getattr(response, "context", None)
    if not context:
        return response.status_code
    found = {}
    for name in ("form", "formset"):
        if name in context:
            found[name] = getattr(context[name], "errors", None)
            if name == "formset":
                found["formset_non_form"] = context[name].non_form_errors()
    return found


# ----------------------------------------------------------------------------- form data


def issue_data(world, *, number=4321, **overrides) -> dict:
    data = {
        "issuing_authority": world.authority.pk,
        "case_number": f"2026/{number}",
        "hpr_number": world.gp.hpr_number,
        "municipality_number": "",
        "caseworker": world.caseworker.pk,
        "legal_basis": "hpl-56",
        "decision_date": (today() - timedelta(days=14)).isoformat(),
        "grounds_summary": "Syntetisk begrunnelse: mangelfull forskrivning av vanedannende legemidler.",
        "requires_course": "on",
        "requirements": "Gjennomføre SKIL-kvalitetspakken om vanedannende legemidler.",
        "deadline": (today() + timedelta(days=180)).isoformat(),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def course_measure(course_obj, *, days=60, description=""):
    return {
        "kind": "course",
        "course": course_obj.pk,
        "planned_completion": (today() + timedelta(days=days)).isoformat(),
        "description": description,
    }


SUPERVISOR_HPR = "9000009"  # world.supervisor (tests/conftest.py)


def supervision_measure(
    supervisor_hpr=SUPERVISOR_HPR,
    *,
    days=90,
    description="",
    agreed_sessions="",
    period_start="",
    period_end="",
):
    def iso(value):
        return value.isoformat() if hasattr(value, "isoformat") else value

    return {
        "kind": "supervision",
        "supervisor_hpr": supervisor_hpr,
        "agreed_sessions": str(agreed_sessions),
        "period_start": iso(period_start),
        "period_end": iso(period_end),
        "planned_completion": (today() + timedelta(days=days)).isoformat(),
        "description": description,
    }


MEASURE_FIELDS = (
    "kind",
    "course",
    "supervisor_hpr",
    "agreed_sessions",
    "period_start",
    "period_end",
    "description",
    "planned_completion",
)


def plan_data(measures, *, received=True, extra_rows=1) -> dict:
    rows = list(measures) + [{}] * extra_rows
    data = {
        "tiltak-TOTAL_FORMS": str(len(rows)),
        "tiltak-INITIAL_FORMS": "0",
        "tiltak-MIN_NUM_FORMS": "0",
        "tiltak-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        for field in MEASURE_FIELDS:
            data[f"tiltak-{i}-{field}"] = row.get(field, "")
    if received:
        data["received"] = "on"
    return data


DEFAULT_REASON = "Ikke fullført – test"


def incomplete_measures(order) -> list[Measure]:
    """The order's planned measures that are not complete: the confirmation form asks a
    reason (``reason_<pk>``) for each."""
    return [
        m
        for m in Measure.objects.filter(order=order, status=Measure.Status.PLANNED)
        if not m.is_complete
    ]


def reason_data(order, reasons=True) -> dict:
    """``reason_<pk>`` fields for the incomplete measures of ``order``: ``True`` gives each the
    default reason, a string gives each that text, a dict ``{pk: text}`` gives exactly those,
    ``False``/``None`` gives none."""
    if not reasons or order is None:
        return {}
    if isinstance(reasons, dict):
        return {f"reason_{pk}": text for pk, text in reasons.items()}
    text = DEFAULT_REASON if reasons is True else reasons
    return {f"reason_{m.pk}": text for m in incomplete_measures(order)}


def confirm_data(
    *,
    note="Kurset er gjennomført, kursbevis vedlagt.",
    kind="certificate",
    files=None,
    existing=(),
    order=None,
    reasons=True,
) -> dict:
    """The confirmation form; given ``order``, with reasons for its incomplete measures
    (see reason_data; ``reasons=False`` leaves them out)."""
    data = {"note": note, "document_kind": kind}
    if files is not None:
        data["files"] = files
    if existing:
        data["existing_documents"] = [d.pk for d in existing]
    data.update(reason_data(order, reasons))
    return data


# ----------------------------------------------------------------------------- steps


class Driver:
    """Takes each step through the web pages, as the right person unless told otherwise."""

    def __init__(self, client_for, world):
        self.client_for = client_for
        self.world = world

    def issue(self, *, user=None, **overrides):
        client = self.client_for(user or self.world.caseworker)
        return client.post("/saker/ny/", issue_data(self.world, **overrides))

    def issued(self, **overrides) -> Order:
        response = self.issue(**overrides)
        assert response.status_code == 302, form_errors(response)
        order = Order.objects.get(case_number=issue_data(self.world, **overrides)["case_number"])
        assert response["Location"] == case_url(order)
        return order

    def step(self, order, name, data, *, user):
        task = open_step(order, name)
        return self.client_for(user).post(step_url(order, task), data)

    def plan(self, order, measures=None, *, user=None, **kwargs):
        measures = measures if measures is not None else [course_measure(course())]
        return self.step(
            order, "plan_measures", plan_data(measures, **kwargs), user=user or self.world.leader
        )

    def acknowledge(self, order, *, user=None, accepted=True):
        return self.step(
            order,
            "acknowledge",
            {"accepted": "on"} if accepted else {},
            user=user or self.world.gp_user,
        )

    def confirm(self, order, *, user=None, reasons=True, **kwargs):
        """Confirm completion; incomplete measures get a reason unless ``reasons=False``."""
        kwargs.setdefault("files", pdf())
        return self.step(
            order,
            "confirm_completion",
            confirm_data(order=order, reasons=reasons, **kwargs),
            user=user or self.world.leader,
        )

    def sign_off(self, order, outcome="fulfilled", reason="", *, user=None):
        return self.step(
            order,
            "sign_off",
            {"outcome": outcome, "reason": reason},
            user=user or self.world.caseworker,
        )

    def extend(self, order, new_deadline, reason="Sykemelding i kursperioden.", *, user=None):
        data = {"new_deadline": new_deadline.isoformat(), "reason": reason}
        return self.client_for(user or self.world.caseworker).post(
            f"/saker/{order.pk}/frist/", data
        )

    def withdraw(
        self, order, reason="Vedtaket er omgjort etter ny vurdering.", *, user=None, confirm=True
    ):
        data = {"reason": reason}
        if confirm:
            data["confirm"] = "on"
        return self.client_for(user or self.world.caseworker).post(
            f"/saker/{order.pk}/trekk-tilbake/", data
        )

    def appeal(self, order, received_on=None, note="Klage fra advokat.", *, user=None):
        data = {"received_on": (received_on or today()).isoformat(), "note": note}
        return self.client_for(user or self.world.caseworker).post(
            f"/saker/{order.pk}/klage/", data
        )

    def decide(
        self,
        order,
        appeal,
        outcome="upheld",
        decided_by="nemnd",
        decided_on=None,
        note="",
        *,
        user=None,
    ):
        data = {
            "outcome": outcome,
            "decided_by": decided_by,
            "decided_on": (decided_on or today()).isoformat(),
            "note": note,
        }
        return self.client_for(user or self.world.caseworker).post(
            f"/saker/{order.pk}/klage/{appeal.pk}/", data
        )

    def through_confirmation(self, order, *, complete=False):
        """Plan, acknowledge and confirm, each asserted to succeed; the case then awaits sign-off.
        With ``complete``, the measures are carried out (lifecycle.complete_measures) before the
        confirmation; otherwise they are confirmed as not carried out, with the default reason."""
        for response in (self.plan(order), self.acknowledge(order)):
            assert response.status_code == 302, form_errors(response)
        if complete:
            lifecycle.complete_measures(order, self.world.leader)
        response = self.confirm(order)
        assert response.status_code == 302, form_errors(response)
        return reload(order)
