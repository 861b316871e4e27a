"""The confirmation rule: at confirm_completion every planned measure is carried out, or the
municipality writes why not (``reason_<pk>``). Measures close as "completed" or
"not_completed" with the reason; a send-back reopens the latter. And the supervisor named by
HPR number in the plan: a login of their own that shows that one order.

Assertions are on data (status codes, form error keys, rows), never on translated text.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from viewflow.workflow.status import PROCESS

from courses.models import Course, CourseMeeting, EvidenceDocument, Measure, SupervisionSession
from orders import services
from orders.models import CompletionConfirmation
from tests.snapshots import client_for_builders, snapshot_fixture

from . import lifecycle
from .http_flow import (
    DEFAULT_REASON,
    Driver,
    case_url,
    course,
    course_measure,
    form_errors,
    open_step,
    open_step_names,
    reload,
    snapshot,
    step_url,
    supervision_measure,
    today,
)


@pytest.fixture
def drive(client_for, world):
    return Driver(client_for, world)


@snapshot_fixture
def at_confirmation(world, order):
    """The order planned over HTTP with a kvalitetspakke and two sessions of supervision by
    ``world.supervisor``, and accepted by the GP: confirmation is the open step."""
    drive = Driver(client_for_builders(), world)
    measures = [course_measure(course(), days=30), supervision_measure(agreed_sessions=2)]
    for response in (drive.plan(order, measures), drive.acknowledge(order)):
        assert response.status_code == 302, form_errors(response)
    assert open_step_names(order) == ["confirm_completion"]
    return reload(order)


def measures_of(order):
    """(the course, the supervision) of an order planned by ``at_confirmation``."""
    course_measure_, supervision = Measure.objects.filter(order=order).order_by(
        "planned_completion"
    )
    assert (course_measure_.kind, supervision.kind) == ("course", "supervision")
    return course_measure_, supervision


def reason_fields(response):
    return sorted(name for name in response.context["form"].fields if name.startswith("reason_"))


def confirm_page(client_for, world, order):
    response = client_for(world.leader).get(step_url(order, open_step(order, "confirm_completion")))
    assert response.status_code == 200
    return response


def state(measure):
    measure.refresh_from_db()
    return measure.status, measure.incomplete_reason


# ------------------------------------------------------------------------ refused: no reason


def test_confirmation_is_refused_while_measures_are_incomplete_and_no_reason_is_given(
    at_confirmation, drive, client_for, world
):
    order = at_confirmation
    course_m, supervision = measures_of(order)
    page = confirm_page(client_for, world, order)
    assert reason_fields(page) == sorted([f"reason_{course_m.pk}", f"reason_{supervision.pk}"])
    before = snapshot(order)

    response = drive.confirm(order, reasons=False)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert f"reason_{course_m.pk}" in errors
    assert f"reason_{supervision.pk}" in errors
    assert snapshot(order) == before
    assert open_step_names(order) == ["confirm_completion"]
    assert EvidenceDocument.objects.filter(order=order).count() == 0


def test_a_blank_reason_is_no_reason(at_confirmation, drive):
    order = at_confirmation
    before = snapshot(order)
    response = drive.confirm(order, reasons="   \n ")
    assert response.status_code == 200
    assert {k for k in response.context["form"].errors if k.startswith("reason_")} == {
        f"reason_{m.pk}" for m in measures_of(order)
    }
    assert snapshot(order) == before


def test_a_reason_for_one_measure_does_not_cover_the_other(at_confirmation, drive):
    order = at_confirmation
    course_m, supervision = measures_of(order)
    before = snapshot(order)
    response = drive.confirm(order, reasons={course_m.pk: "Kurset ble avlyst."})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert f"reason_{supervision.pk}" in errors
    assert f"reason_{course_m.pk}" not in errors
    assert snapshot(order) == before


def test_the_service_refuses_too_and_keeps_nothing_of_the_attempt(at_confirmation, world, settings):
    """Behind the form: confirm_completion without reasons stores no document, no
    confirmation, and leaves the step and the measures as they were. The files it had
    stored before the refusal are gone from storage too."""
    order = at_confirmation
    before = snapshot(order)
    with pytest.raises(ValidationError):
        lifecycle.confirm(order, world.leader, documents=2, reasons=False)
    assert snapshot(order) == before
    assert CompletionConfirmation.objects.filter(order=order).count() == 0
    assert EvidenceDocument.objects.filter(order=order).count() == 0
    assert [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()] == []
    assert open_step_names(order) == ["confirm_completion"]


# ------------------------------------------------------------------------ accepted


def test_confirmation_with_reasons_closes_the_measures_as_not_carried_out(
    at_confirmation, drive, world
):
    order = at_confirmation
    course_m, supervision = measures_of(order)
    response = drive.confirm(
        order,
        reasons={
            course_m.pk: "  Kurset ble avlyst av arrangøren.  ",
            supervision.pk: "Veilederen ble sykmeldt.",
        },
    )
    assert response.status_code == 302, form_errors(response)
    assert response["Location"] == case_url(order)
    assert state(course_m) == ("not_completed", "Kurset ble avlyst av arrangøren.")
    assert state(supervision) == ("not_completed", "Veilederen ble sykmeldt.")
    closing = Measure.history.filter(id=supervision.pk).order_by("history_date").last()
    assert (closing.status, closing.history_user) == ("not_completed", world.leader)
    assert CompletionConfirmation.objects.get(order=order).confirmed_by == world.leader
    assert open_step_names(order) == ["sign_off"]


def test_completed_measures_are_confirmed_without_any_reason(
    at_confirmation, drive, client_for, world
):
    order = at_confirmation
    lifecycle.complete_measures(order, world.leader)
    assert reason_fields(confirm_page(client_for, world, order)) == []

    response = drive.confirm(order, reasons=False)

    assert response.status_code == 302, form_errors(response)
    assert {state(m) for m in measures_of(order)} == {("completed", "")}
    assert open_step_names(order) == ["sign_off"]


def test_only_the_incomplete_measure_needs_a_reason(at_confirmation, drive, client_for, world):
    order = at_confirmation
    course_m, supervision = measures_of(order)
    lifecycle.complete_measures(order, world.leader, only=[course_m])
    assert reason_fields(confirm_page(client_for, world, order)) == [f"reason_{supervision.pk}"]

    response = drive.confirm(order, reasons={supervision.pk: "Bare én time ble holdt."})

    assert response.status_code == 302, form_errors(response)
    assert state(course_m) == ("completed", "")
    assert state(supervision) == ("not_completed", "Bare én time ble holdt.")


# ------------------------------------------------------------------------ what "complete" is


def _enrol(measure, world, *, accept=True):
    count = measure.course.meeting_count
    services.enrol_in_course(
        measure=measure,
        acting_user=world.leader,
        enrolled_on=today() - timedelta(days=40),
        group_name="Gruppe" if count else "",
        group_leader="Leder" if count else "",
        meeting_dates=[today() - timedelta(days=30 - 10 * n) for n in range(count)],
    )
    if accept:
        services.accept_course_terms(measure=measure, acting_user=world.gp_user)


def _attend(measure, world, *attendance):
    for meeting, value in zip(measure.meetings.order_by("number"), attendance, strict=False):
        services.record_attendance(
            meeting=meeting,
            acting_user=world.leader,
            attendance=value,
            absence_reason="Syk" if value == CourseMeeting.Attendance.ABSENT else "",
        )


def _sessions(measure, world, *statuses, report=True):
    services.arrange_supervision(
        measure=measure,
        acting_user=world.leader,
        agreed_sessions=2,
        period_start=today() - timedelta(days=30),
        period_end=today() + timedelta(days=30),
    )
    user = measure.supervisor.user
    for n, status in enumerate(statuses):
        services.record_supervision_session(
            measure=measure,
            acting_user=user,
            date=today() - timedelta(days=10 - n),
            duration_minutes=45,
            topic="Forskrivning",
            status=status,
        )
    if report:
        services.submit_supervision_report(measure=measure, acting_user=user, report="Rapport.")


ATTENDED, ABSENT = CourseMeeting.Attendance.ATTENDED, CourseMeeting.Attendance.ABSENT
HELD, CANCELLED = SupervisionSession.Status.HELD, SupervisionSession.Status.CANCELLED

PARTLY_DONE = {
    "two-of-three-meetings": (
        "course",
        lambda m, w: (_enrol(m, w), _attend(m, w, *[ATTENDED] * 2)),
    ),
    "one-meeting-missed": (
        "course",
        lambda m, w: (_enrol(m, w), _attend(m, w, ATTENDED, ABSENT, ATTENDED)),
    ),
    "terms-not-accepted": (
        "course",
        lambda m, w: (_enrol(m, w, accept=False), _attend(m, w, *[ATTENDED] * 3)),
    ),
    "sessions-held-no-report": (
        "supervision",
        lambda m, w: _sessions(m, w, HELD, HELD, report=False),
    ),
    "a-session-cancelled": ("supervision", lambda m, w: _sessions(m, w, HELD, CANCELLED)),
    "nothing-recorded": ("supervision", lambda m, w: None),
}


@pytest.mark.parametrize("case", PARTLY_DONE)
def test_a_measure_partly_carried_out_still_needs_a_reason(
    at_confirmation, drive, client_for, world, case
):
    order = at_confirmation
    kind, work = PARTLY_DONE[case]
    course_m, supervision = measures_of(order)
    lifecycle.complete_measures(
        order, world.leader, only=[supervision if kind == "course" else course_m]
    )
    measure = course_m if kind == "course" else supervision
    work(reload_measure(measure), world)

    assert reason_fields(confirm_page(client_for, world, order)) == [f"reason_{measure.pk}"]
    before = snapshot(order)
    response = drive.confirm(order, reasons=False)
    assert response.status_code == 200
    assert f"reason_{measure.pk}" in response.context["form"].errors
    assert snapshot(order) == before

    assert drive.confirm(order).status_code == 302
    assert state(measure) == ("not_completed", DEFAULT_REASON)


def reload_measure(measure):
    return Measure.objects.select_related("course", "supervisor__user").get(pk=measure.pk)


def test_an_e_learning_course_is_complete_once_its_completion_is_recorded(drive, world):
    elearning = Course.objects.create(
        provider=Course.Provider.OTHER, title="E-læring i forskrivning", format="elaering"
    )
    order = drive.issued(number=31)
    for response in (drive.plan(order, [course_measure(elearning)]), drive.acknowledge(order)):
        assert response.status_code == 302, form_errors(response)
    measure = reload_measure(Measure.objects.get(order=order))
    _enrol(measure, world)
    assert lifecycle.incomplete_reasons(order) == {measure.pk: lifecycle.INCOMPLETE_REASON}
    services.record_course_completion(
        measure=measure, acting_user=world.leader, completed_on=today() - timedelta(days=2)
    )
    response = drive.confirm(order, reasons=False)
    assert response.status_code == 302, form_errors(response)
    assert state(measure) == ("completed", "")


# ------------------------------------------------------------------------ after the confirmation


def test_send_back_reopens_the_measures_not_carried_out(at_confirmation, drive, client_for, world):
    order = at_confirmation
    course_m, supervision = measures_of(order)
    lifecycle.complete_measures(order, world.leader, only=[course_m])
    assert drive.confirm(order, reasons={supervision.pk: "Veileder sykmeldt."}).status_code == 302

    response = drive.sign_off(order, "returned", reason="Veiledningen må fullføres.")
    assert response.status_code == 302, form_errors(response)
    assert state(supervision) == ("planned", "")
    assert state(course_m) == ("completed", "")  # what was carried out stays so
    assert open_step_names(order) == ["confirm_completion"]

    # The reopened confirmation asks again, for the supervision only, until it is done.
    assert reason_fields(confirm_page(client_for, world, order)) == [f"reason_{supervision.pk}"]
    lifecycle.complete_measures(order, world.leader)
    assert reason_fields(confirm_page(client_for, world, order)) == []
    response = drive.confirm(
        order, files=None, existing=list(EvidenceDocument.objects.filter(order=order))
    )
    assert response.status_code == 302, form_errors(response)
    assert {state(m) for m in (course_m, supervision)} == {("completed", "")}
    assert drive.sign_off(order).status_code == 302
    assert reload(order).status == PROCESS.DONE


def test_fulfilled_sign_off_keeps_the_measures_not_carried_out_and_their_reasons(
    at_confirmation, drive
):
    order = at_confirmation
    assert drive.confirm(order, reasons="Avtalt med Statsforvalteren.").status_code == 302
    assert drive.sign_off(order).status_code == 302
    assert reload(order).status == PROCESS.DONE
    assert {state(m) for m in measures_of(order)} == {
        ("not_completed", "Avtalt med Statsforvalteren.")
    }


def test_a_closed_measure_takes_no_more_work(at_confirmation, drive, world):
    order = at_confirmation
    _course, supervision = measures_of(order)
    assert drive.confirm(order).status_code == 302
    with pytest.raises(ValidationError):
        services.arrange_supervision(
            measure=supervision,
            acting_user=world.leader,
            agreed_sessions=2,
            period_start=today(),
            period_end=today(),
        )
    assert state(supervision) == ("not_completed", DEFAULT_REASON)


# ------------------------------------------------------------------------ the supervisor


def test_the_supervisor_named_in_the_plan_gets_a_login_and_sees_that_order_only(
    order, drive, client_for, world
):
    other = drive.issued(number=98)  # same GP, same municipality, same authority
    assert world.supervisor.user is None
    assert drive.plan(order, [supervision_measure(world.supervisor.hpr_number)]).status_code == 302

    world.supervisor.refresh_from_db()
    login = world.supervisor.user
    assert login is not None
    assert login.username == f"hpr{world.supervisor.hpr_number}"
    assert login.is_active and not login.has_usable_password()  # HelseID, not a password
    assert Measure.objects.get(order=order).supervisor == world.supervisor

    client = client_for(login)
    assert client.get(case_url(order)).status_code == 200
    assert client.get(case_url(other)).status_code == 404
    assert [o.pk for o in client.get("/saker/").context["page"].object_list] == [order.pk]
    # Seeing is not acting: no tasks, and the open step is someone else's.
    assert list(client.get("/oppgaver/").context["page"].object_list) == []
    task = open_step(order, "acknowledge")
    assert client.get(step_url(order, task)).status_code == 403


def test_a_supervisor_with_a_login_keeps_it_and_a_second_order_adds_to_what_they_see(
    drive, client_for, world
):
    first, second, third = (drive.issued(number=n) for n in (61, 62, 63))
    supervisor = world.other_gp  # a GP with a login of their own, who cannot see these orders
    own_login = supervisor.user
    assert client_for(own_login).get(case_url(first)).status_code == 404

    for order in (first, second):
        response = drive.plan(order, [supervision_measure(supervisor.hpr_number)])
        assert response.status_code == 302, form_errors(response)

    supervisor.refresh_from_db()
    assert supervisor.user == own_login
    client = client_for(own_login)  # the one test client; drive logged it in as the leader
    assert [client.get(case_url(o)).status_code for o in (first, second, third)] == [200, 200, 404]


def test_the_gp_cannot_be_named_as_their_own_supervisor(order, drive, world):
    before = snapshot(order)
    response = drive.plan(order, [supervision_measure(world.gp.hpr_number)])
    assert response.status_code == 200
    assert snapshot(order) == before
    assert not Measure.objects.filter(order=order).exists()


def test_planning_survives_a_login_that_already_has_the_supervisors_username(order, drive, world):
    from tests import factories

    factories.UserFactory(username=f"hpr{world.supervisor.hpr_number}")  # not linked to anyone
    response = drive.plan(order, [supervision_measure()])
    assert response.status_code in (200, 302)


@pytest.mark.parametrize("document_id", [str(10**30), "-1", "abc"])
def test_an_impossible_document_id_is_a_form_error_not_a_server_error(
    at_confirmation, drive, world, document_id
):
    """Found by tests/test_form_fuzz.py: an id too large for the column went to the
    database's ``IN`` lookup and answered 500."""
    course_measure_, _supervision = measures_of(at_confirmation)
    services.add_measure_document(
        measure=course_measure_,
        acting_user=world.leader,
        uploaded_file=lifecycle.pdf("kursbevis.pdf"),
        kind=EvidenceDocument.Kind.CERTIFICATE,
    )
    response = drive.step(
        at_confirmation,
        "confirm_completion",
        {"note": "Gjennomført.", "document_kind": "certificate", "existing_documents": document_id},
        user=world.leader,
    )
    assert response.status_code == 200
    assert "existing_documents" in response.context["form"].errors
    assert not CompletionConfirmation.objects.filter(order=at_confirmation).exists()
