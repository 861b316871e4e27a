"""What can be recorded on a measure, as data: one row per action. The measure page
(orders.measure_views), its addresses (orders.urls), the locked write
(orders.services.act_on_measure) and the access log all read this table, so a new measure
action is a row here, its form, its service, its word in audit.actions and the template.

Who may is a token (Who), not a check: the checks need the order's grants, which live in
orders (orders.access.Capabilities.may_act_on_measure answers a token), and courses does
not import orders."""

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from audit import Action as Logged

from . import measure_forms as forms
from . import services
from .models import Measure


class Who(enum.Enum):
    """Who may take an action on a measure (each answered by orders.access)."""

    MUNICIPALITY = "municipality"  # the municipality responsible, on an open case
    CONCERNED = "concerned"  # the health personnel the order is about (course measures only)
    SUPERVISOR = "supervisor"  # the measure's named supervisor, under an active grant
    MUNICIPALITY_OR_SUPERVISOR = "municipality_or_supervisor"


def _open(measure) -> bool:
    return measure.status == Measure.Status.PLANNED


@dataclass(frozen=True)
class MeasureAction:
    """One thing recorded on a measure.

    ``segment`` is its address below the measure's; ``write`` is the courses service,
    called as ``write(measure=..., acting_user=..., **form.arguments())``; ``applies`` says
    whether the measure is in a state for it; ``form_options(allowed)`` gives the form
    extra options from what the user may (``allowed(Who)``)."""

    name: str
    segment: str
    form: type[forms.MeasureForm]
    write: Callable[..., Any]
    applies: Callable[[Measure], bool]
    who: Who
    done: Promise
    anchor: str
    logged_as: Logged
    per_meeting: bool = False
    form_options: Callable[[Callable[[Who], bool]], dict] = field(default=lambda allowed: {})


ROWS = (
    MeasureAction(
        name="enrol",
        segment="pamelding",
        form=forms.EnrolForm,
        write=services.enrol,
        applies=lambda m: m.is_course and _open(m),
        who=Who.MUNICIPALITY,
        done=_("The enrolment is saved."),
        anchor="pamelding",
        logged_as=Logged.MEASURE_ENROL,
    ),
    MeasureAction(
        name="accept_terms",
        segment="vilkar",
        form=forms.AcceptTermsForm,
        write=services.accept_terms,
        applies=lambda m: m.is_course and m.enrolled_on and not m.terms_accepted_at and _open(m),
        who=Who.CONCERNED,
        done=_("You have accepted the course terms."),
        anchor="vilkar",
        logged_as=Logged.MEASURE_ACCEPT_TERMS,
    ),
    MeasureAction(
        name="attendance",
        segment="moter/<id:meeting_pk>",
        form=forms.AttendanceForm,
        write=services.record_attendance_on,
        applies=lambda m: m.is_course and m.course.meeting_count and _open(m),
        who=Who.MUNICIPALITY,
        done=_("The attendance is recorded."),
        anchor="oppmote",
        logged_as=Logged.MEASURE_ATTENDANCE,
        per_meeting=True,
    ),
    MeasureAction(
        name="completion",
        segment="fullfort",
        form=forms.CompletionForm,
        write=services.record_course_completion,
        applies=lambda m: m.is_course and not m.course.meeting_count and _open(m),
        who=Who.MUNICIPALITY,
        done=_("The completion date is recorded."),
        anchor="fullfort",
        logged_as=Logged.MEASURE_COMPLETION,
    ),
    MeasureAction(
        name="arrange",
        segment="veiledningsavtale",
        form=forms.ArrangeSupervisionForm,
        write=services.arrange_supervision,
        applies=lambda m: not m.is_course and _open(m),
        who=Who.MUNICIPALITY,
        done=_("The supervision arrangement is saved."),
        anchor="avtale",
        logged_as=Logged.MEASURE_ARRANGE,
    ),
    MeasureAction(
        name="session",
        segment="timer",
        form=forms.SessionForm,
        write=services.record_session,
        applies=lambda m: not m.is_course and _open(m),
        who=Who.SUPERVISOR,
        done=_("The session is recorded."),
        anchor="ny-time",
        logged_as=Logged.MEASURE_SESSION,
    ),
    MeasureAction(
        name="report",
        segment="rapport",
        form=forms.ReportForm,
        write=services.submit_report,
        applies=lambda m: not m.is_course and _open(m),
        who=Who.SUPERVISOR,
        done=_("The final report is submitted."),
        anchor="rapport",
        logged_as=Logged.MEASURE_REPORT,
    ),
    MeasureAction(
        name="document",
        segment="dokumenter",
        form=forms.DocumentForm,
        write=services.store_measure_evidence,
        applies=lambda m: True,
        who=Who.MUNICIPALITY_OR_SUPERVISOR,
        done=_("The document is uploaded."),
        anchor="nytt-dokument",
        logged_as=Logged.MEASURE_DOCUMENT,
        # A supervisor uploads their reports only; the municipality any kind of evidence.
        form_options=lambda allowed: {"reports_only": not allowed(Who.MUNICIPALITY)},
    ),
)

MEASURE_ACTIONS: dict[str, MeasureAction] = {row.name: row for row in ROWS}
