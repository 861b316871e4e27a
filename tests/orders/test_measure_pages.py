"""The measure page (/saker/<pk>/tiltak/<measure_pk>/), its action forms and "Mine kurs og
veiledning" (/mine-tiltak/), over HTTP as the leader, the GP, the supervisor and others."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import formats, timezone, translation

from audit.models import AccessEvent
from courses import services as course_services
from courses.models import Course, CourseMeeting, EvidenceDocument, Measure, SupervisionSession
from orders import services
from tests import factories
from tests.orders import lifecycle
from tests.orders.http_flow import PDF_BYTES, case_url
from tests.snapshots import snapshot_fixture

TODAY = timezone.localdate


def nb(msgid, **values):
    """A UI text as the (Norwegian) page shows it, translated or not yet."""
    with translation.override("nb"):
        return translation.gettext(msgid) % values if values else translation.gettext(msgid)


def nb_plural(singular, plural, count, **values):
    with translation.override("nb"):
        return translation.ngettext(singular, plural, count) % {"counter": count, **values}


def nb_date(value):
    with translation.override("nb"):
        return formats.date_format(value)


def meetings_text(done, required):
    return nb_plural(
        "%(done)s of %(counter)s meeting", "%(done)s of %(counter)s meetings", required, done=done
    )


def sessions_text(done, required):
    return nb_plural(
        "%(done)s of %(counter)s supervision session",
        "%(done)s of %(counter)s supervision sessions",
        required,
        done=done,
    )


def pdf(name="oppmote.pdf"):
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def measure_url(measure, suffix=""):
    return f"/saker/{measure.order_id}/tiltak/{measure.pk}/{suffix}"


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


# ----------------------------------------------------------------------------- the plan


def quality_package():
    return Course.objects.get_or_create(
        provider=Course.Provider.SKIL,
        title="Test: kvalitetspakke",
        defaults={"format": Course.Format.QUALITY_PACKAGE, "theme": "Vanedannende legemidler"},
    )[0]


def elearning():
    return Course.objects.get_or_create(
        provider=Course.Provider.NOKLUS,
        title="Test: e-læring",
        defaults={"format": Course.Format.ELEARNING},
    )[0]


def plan(order, leader, supervisor, *, agreed_sessions=2):
    """A kvalitetspakke, supervision by ``supervisor`` and an e-learning course, through the
    planning service; returns the three measures."""
    later = TODAY() + timedelta(days=60)
    specs = [
        {"kind": Measure.Kind.COURSE, "course": quality_package(), "planned_completion": later},
        {
            "kind": Measure.Kind.SUPERVISION,
            "supervisor": supervisor,
            "agreed_sessions": agreed_sessions,
            "period_start": TODAY() - timedelta(days=30),
            "period_end": later,
            "planned_completion": later,
        },
        {"kind": Measure.Kind.COURSE, "course": elearning(), "planned_completion": later},
    ]
    services.plan_measures(
        task=lifecycle.open_task(order, "plan_measures"), acting_user=leader, measures=specs
    )
    course, supervision, online = order.measures.order_by("pk")
    return course, supervision, online


@snapshot_fixture
def measures(world, order):
    course, supervision, online = plan(order, world.leader, world.supervisor)
    world.supervisor.refresh_from_db()
    return course, supervision, online


@pytest.fixture
def supervisor_user(world, measures):
    return world.supervisor.user


def enrol_data(*, enrolled_on=None, dates=None, group="Kollegagruppe Bergen sentrum"):
    enrolled_on = enrolled_on or TODAY() - timedelta(days=40)
    dates = dates or [TODAY() - timedelta(days=d) for d in (21, 14, 7)]
    data = {
        "enrol-enrolled_on": enrolled_on.isoformat(),
        "enrol-group_name": group,
        "enrol-group_leader": "Gruppeleder Hansen",
    }
    for n, day in enumerate(dates, start=1):
        data[f"enrol-meeting_{n}"] = day.isoformat() if day else ""
    return data


def attendance_data(meeting, attendance="attended", reason=""):
    prefix = f"meeting-{meeting.number}"
    return {f"{prefix}-attendance": attendance, f"{prefix}-absence_reason": reason}


def session_data(*, day=None, minutes="60", topic="Forskrivning av B-preparater", status="held"):
    return {
        "session-date": (day or TODAY() - timedelta(days=3)).isoformat(),
        "session-duration_minutes": minutes,
        "session-topic": topic,
        "session-status": status,
    }


# ----------------------------------------------------------------------------- courses


def test_enrol_accept_terms_and_three_meetings_complete_the_course(client_for, world, measures):
    course = measures[0]
    leader = client_for(world.leader)
    page = leader.get(measure_url(course))
    assert page.status_code == 200
    assert set(page.context["forms"]) == {"enrol", "document"}
    assert measure_url(course, "pamelding/") in page.content.decode()

    response = leader.post(measure_url(course, "pamelding/"), enrol_data())
    assert response.status_code == 302, response.context and response.context["bound"].errors
    assert response["Location"] == measure_url(course)
    course.refresh_from_db()
    assert course.group_name == "Kollegagruppe Bergen sentrum"
    assert course.meetings.count() == 3

    gp = client_for(world.gp_user)
    page = gp.get(measure_url(course))
    assert set(page.context["forms"]) == {"accept_terms"}
    assert nb_date(course.terms_deadline) in page.content.decode()
    assert gp.post(measure_url(course, "vilkar/"), {}).status_code == 200  # box not ticked
    response = gp.post(measure_url(course, "vilkar/"), {"accept_terms-accepted": "on"})
    assert response.status_code == 302
    course.refresh_from_db()
    assert course.terms_accepted_at is not None

    leader = client_for(world.leader)
    for meeting in course.meetings.order_by("number"):
        url = measure_url(course, f"moter/{meeting.pk}/")
        response = leader.post(url, attendance_data(meeting))
        assert response.status_code == 302, url
    assert all(m.attendance == "attended" for m in course.meetings.all())

    page = leader.get(case_url(course.order))
    html = page.content.decode()
    listed = {m.pk: m for m in page.context["measures"]}
    assert (listed[course.pk].progress_done, listed[course.pk].progress_required) == (3, 3)
    assert listed[course.pk].complete is True
    assert meetings_text(3, 3) in html
    assert nb("Requirements met") in html
    assert f'href="{measure_url(course)}"' in html
    assert nb("course terms accepted %(date)s", date=nb_date(TODAY())) in html


def test_absence_is_recorded_with_its_reason(client_for, world, measures):
    course = measures[0]
    services.enrol_in_course(
        measure=course,
        acting_user=world.leader,
        enrolled_on=TODAY() - timedelta(days=30),
        group_name="G",
        group_leader="L",
        meeting_dates=[TODAY() - timedelta(days=d) for d in (20, 10, 1)],
    )
    meeting = course.meetings.get(number=2)
    response = client_for(world.leader).post(
        measure_url(course, f"moter/{meeting.pk}/"),
        attendance_data(meeting, "absent", "Syk, legeerklæring levert."),
    )
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert (meeting.attendance, meeting.absence_reason) == ("absent", "Syk, legeerklæring levert.")
    page = client_for(world.gp_user).get(measure_url(course))
    assert "Syk, legeerklæring levert." in page.content.decode()
    assert meetings_text(0, 3) in page.content.decode()


def test_elearning_is_completed_with_a_date(client_for, world, measures):
    online = measures[2]
    leader = client_for(world.leader)
    page = leader.get(measure_url(online))
    assert {"enrol", "completion", "document"} <= set(page.context["forms"])
    response = leader.post(
        measure_url(online, "pamelding/"), {"enrol-enrolled_on": TODAY().isoformat()}
    )
    assert response.status_code == 302
    done = TODAY() - timedelta(days=1)
    response = leader.post(
        measure_url(online, "fullfort/"), {"completion-completed_on": done.isoformat()}
    )
    assert response.status_code == 302
    online.refresh_from_db()
    assert online.completed_on == done
    page = leader.get(measure_url(online))
    assert nb("Completed %(date)s", date=nb_date(done)) in page.content.decode()


def test_terms_not_accepted_in_time_are_shown_everywhere(client_for, world, measures):
    course = measures[0]
    services.enrol_in_course(
        measure=course,
        acting_user=world.leader,
        # Long enough ago that the deadline has passed even if it moved off a weekend or holiday.
        enrolled_on=TODAY() - timedelta(days=Measure.TERMS_DAYS + 10),
        group_name="G",
        group_leader="L",
        meeting_dates=[TODAY() + timedelta(days=d) for d in (10, 20, 30)],
    )
    overdue = nb("Course terms not accepted in time")
    gp = client_for(world.gp_user)
    for url in (measure_url(course), case_url(course.order), "/mine-tiltak/"):
        assert overdue in gp.get(url).content.decode(), url
    # Late acceptance is still possible, and recorded.
    response = gp.post(measure_url(course, "vilkar/"), {"accept_terms-accepted": "on"})
    assert response.status_code == 302
    html = gp.get(measure_url(course)).content.decode()
    assert overdue not in html
    late = nb("course terms accepted %(date)s, after the deadline", date=nb_date(TODAY()))
    assert late in html


def test_attendance_waits_for_the_meeting(client_for, world, measures):
    course = measures[0]
    services.enrol_in_course(
        measure=course,
        acting_user=world.leader,
        enrolled_on=TODAY(),
        group_name="G",
        group_leader="L",
        meeting_dates=[TODAY() + timedelta(days=d) for d in (10, 20, 30)],
    )
    leader = client_for(world.leader)
    page = leader.get(measure_url(course))
    assert not page.context["may_record_attendance"]
    meeting = course.meetings.get(number=1)
    response = leader.post(measure_url(course, f"moter/{meeting.pk}/"), attendance_data(meeting))
    assert response.status_code == 200
    assert response.context["bound"].errors
    meeting.refresh_from_db()
    assert meeting.attendance == CourseMeeting.Attendance.UNKNOWN


# ----------------------------------------------------------------------------- supervision


def test_supervision_with_sessions_and_a_report(client_for, world, measures, supervisor_user):
    supervision = measures[1]
    leader = client_for(world.leader)
    page = leader.get(measure_url(supervision))
    assert set(page.context["forms"]) == {"arrange", "document"}
    response = leader.post(
        measure_url(supervision, "veiledningsavtale/"),
        {
            "arrange-agreed_sessions": "3",
            "arrange-period_start": (TODAY() - timedelta(days=20)).isoformat(),
            "arrange-period_end": (TODAY() + timedelta(days=40)).isoformat(),
        },
    )
    assert response.status_code == 302
    supervision.refresh_from_db()
    assert supervision.agreed_sessions == 3

    supervisor = client_for(supervisor_user)
    page = supervisor.get(measure_url(supervision))
    assert set(page.context["forms"]) == {"session", "report", "document"}
    assert page.context["forms"]["document"].fields["kind"].choices == [
        ("report", EvidenceDocument.Kind.SUPERVISOR_REPORT.label)
    ]
    for n, status in enumerate(["held", "cancelled", "held", "held"]):
        day = TODAY() - timedelta(days=10 - n)
        response = supervisor.post(
            measure_url(supervision, "timer/"),
            session_data(day=day, topic=f"Time {n + 1}", status=status),
        )
        assert response.status_code == 302
    assert supervision.sessions.filter(status="held").count() == 3
    response = supervisor.post(
        measure_url(supervision, "dokumenter/"),
        {"document-kind": "report", "document-file": pdf("sluttrapport.pdf")},
    )
    assert response.status_code == 302
    document = EvidenceDocument.objects.get(measure=supervision)
    assert (document.kind, document.uploaded_by) == ("report", supervisor_user)
    # The report completes the supervision: the supervisor's access to the case ends.
    response = supervisor.post(
        measure_url(supervision, "rapport/"), {"report-report": "Målene er nådd."}
    )
    assert response.status_code == 302 and response["Location"] == "/mine-tiltak/"
    assert supervisor.get(measure_url(supervision)).status_code == 404

    page = client_for(world.gp_user).get(measure_url(supervision))
    html = page.content.decode()
    assert sessions_text(3, 3) in html
    assert "Målene er nådd." in html
    assert "Time 2" in html
    assert f"/saker/{supervision.order_id}/dokumenter/{document.pk}/" in html
    page = client_for(world.caseworker).get(case_url(supervision.order))
    listed = {m.pk: m for m in page.context["measures"]}
    assert listed[supervision.pk].complete is True
    assert sessions_text(3, 3) in page.content.decode()


def test_a_supervisor_sees_and_writes_only_their_own_arrangements(
    client_for, world, measures, supervisor_user
):
    course, supervision, _online = measures
    other_order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.other_gp
    )
    other_supervisor = factories.HealthPersonnelFactory(user=None, municipality=world.municipality)
    _c, elsewhere, _o = plan(other_order, world.leader, other_supervisor)
    client = client_for(supervisor_user)

    assert client.get(measure_url(supervision)).status_code == 200
    assert client.get(measure_url(elsewhere)).status_code == 404
    assert client.post(measure_url(elsewhere, "timer/"), session_data()).status_code == 404
    # Another order's measure under the supervisor's own order: also not found.
    wrong = f"/saker/{supervision.order_id}/tiltak/{elsewhere.pk}/timer/"
    assert client.post(wrong, session_data()).status_code == 404
    # The course on the same order is not theirs: a supervisor sees only their own measure.
    assert client.get(measure_url(course)).status_code == 404
    assert client.post(measure_url(course, "timer/"), session_data()).status_code == 404
    assert client.post(measure_url(course, "pamelding/"), enrol_data()).status_code == 404
    assert not SupervisionSession.objects.exists()
    assert AccessEvent.objects.filter(
        user=supervisor_user, outcome="refused", target_id=str(elsewhere.order_id)
    ).exists()

    listed = client.get("/mine-tiltak/").context["page"].object_list
    assert [m.pk for m in listed] == [supervision.pk]


@pytest.mark.parametrize(
    "who, expected",
    [
        ("caseworker", 403),
        ("gp", 403),
        ("supervisor", 404),  # the course is not the supervisor's measure
        ("other_leader", 404),
        ("other_gp", 404),
        ("other_caseworker", 404),
    ],
)
def test_only_the_leader_records_attendance(client_for, world, measures, who, expected):
    course = measures[0]
    services.enrol_in_course(
        measure=course,
        acting_user=world.leader,
        enrolled_on=TODAY() - timedelta(days=30),
        group_name="G",
        group_leader="L",
        meeting_dates=[TODAY() - timedelta(days=d) for d in (20, 10, 1)],
    )
    meeting = course.meetings.get(number=1)
    user = world.supervisor.user if who == "supervisor" else getattr(world, who)
    user = getattr(user, "user", user)  # the GPs are HealthPersonnel
    client = client_for(user)
    response = client.post(measure_url(course, f"moter/{meeting.pk}/"), attendance_data(meeting))
    assert response.status_code == expected
    meeting.refresh_from_db()
    assert meeting.attendance == CourseMeeting.Attendance.UNKNOWN
    if expected == 403:
        page = client.get(measure_url(course))
        assert not page.context["may_record_attendance"]
        assert f"moter/{meeting.pk}/" not in page.content.decode()


@pytest.mark.parametrize(
    "who, expected",
    [("leader", 403), ("caseworker", 403), ("gp", 403), ("other_leader", 404), ("other_gp", 404)],
)
def test_only_the_supervisor_records_sessions(client_for, world, measures, who, expected):
    supervision = measures[1]
    user = getattr(world, who)
    client = client_for(getattr(user, "user", user))
    assert client.post(measure_url(supervision, "timer/"), session_data()).status_code == expected
    response = client.post(measure_url(supervision, "rapport/"), {"report-report": "Rapport."})
    assert response.status_code == expected
    assert not SupervisionSession.objects.exists()
    supervision.refresh_from_db()
    assert supervision.final_report == ""
    if expected == 403:
        page = client.get(measure_url(supervision))
        assert not {"session", "report"} & set(page.context["forms"])
        assert measure_url(supervision, "timer/") not in page.content.decode()


def test_the_gp_may_only_accept_terms_and_the_leader_may_not(client_for, world, measures):
    course = measures[0]
    services.enrol_in_course(
        measure=course,
        acting_user=world.leader,
        enrolled_on=TODAY(),
        group_name="G",
        group_leader="L",
        meeting_dates=[TODAY() + timedelta(days=d) for d in (10, 20, 30)],
    )
    gp = client_for(world.gp_user)
    assert gp.post(measure_url(course, "pamelding/"), enrol_data()).status_code == 403
    assert gp.post(measure_url(measures[2], "fullfort/"), {}).status_code == 403
    assert gp.post(measure_url(course, "dokumenter/"), {}).status_code == 403
    leader = client_for(world.leader)
    response = leader.post(measure_url(course, "vilkar/"), {"accept_terms-accepted": "on"})
    assert response.status_code == 403
    course.refresh_from_db()
    assert course.terms_accepted_at is None


# ----------------------------------------------------------------------------- visibility


def test_a_measure_of_another_order_is_not_found_and_logged(client_for, world, measures):
    other_order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.other_gp
    )
    lifecycle.plan(other_order, world.leader)
    foreign = other_order.measures.get()
    own_order_id = measures[0].order_id
    response = client_for(world.leader).get(f"/saker/{own_order_id}/tiltak/{foreign.pk}/")
    assert response.status_code == 404
    assert AccessEvent.objects.filter(
        user=world.leader, outcome="refused", target_id=str(foreign.pk), case_id=str(own_order_id)
    ).exists()
    # Someone who may not see the order gets the same answer as for a missing one.
    response = client_for(world.other_leader).get(measure_url(measures[0]))
    assert response.status_code == 404
    assert client_for(world.leader).get(f"/saker/{own_order_id}/tiltak/999999/").status_code == 404


def test_everyone_who_sees_the_order_sees_the_measure_but_no_buttons(client_for, world, measures):
    response = client_for(world.caseworker).get(measure_url(measures[0]))
    assert response.status_code == 200
    assert response.context["forms"] == {}
    assert 'method="post"' not in response.content.decode().split('id="main"')[1]
    assert AccessEvent.objects.filter(
        user=world.caseworker, action="view_measure", target_id=str(measures[0].pk)
    ).exists()


def test_the_case_page_links_each_measure_to_its_page(client_for, world, measures):
    html = client_for(world.gp_user).get(case_url(measures[0].order)).content.decode()
    for measure in measures:
        assert f'href="{measure_url(measure)}"' in html


def test_a_meeting_of_another_measure_is_not_found(client_for, world, measures):
    course = measures[0]
    services.enrol_in_course(
        measure=course,
        acting_user=world.leader,
        enrolled_on=TODAY() - timedelta(days=30),
        group_name="G",
        group_leader="L",
        meeting_dates=[TODAY() - timedelta(days=d) for d in (20, 10, 1)],
    )
    meeting = course.meetings.get(number=1)
    url = measure_url(measures[2], f"moter/{meeting.pk}/")
    assert client_for(world.leader).post(url, attendance_data(meeting)).status_code == 404


# ----------------------------------------------------------------------------- closed cases


def test_a_closed_case_hides_the_actions_and_refuses_posts_with_a_message(
    client_for, world, measures
):
    course = measures[0]
    services.withdraw_order(order=course.order, acting_user=world.caseworker, reason="Omgjort.")
    leader = client_for(world.leader)
    page = leader.get(measure_url(course))
    assert page.context["closed"] and page.context["forms"] == {}
    response = leader.post(measure_url(course, "pamelding/"), enrol_data())
    assert response.status_code == 302
    assert response["Location"] == measure_url(course)
    assert messages_of(response) == [nb("The case is closed; nothing was changed.")]
    course.refresh_from_db()
    assert course.enrolled_on is None


def test_a_get_on_an_action_url_goes_back_to_the_measure_page(client_for, world, measures):
    response = client_for(world.leader).get(measure_url(measures[0], "pamelding/"))
    assert response.status_code == 302
    assert response["Location"] == measure_url(measures[0])


# ----------------------------------------------------------------------------- bad input


BAD_INPUT = [
    ("leader", 0, "pamelding/", {}),
    ("leader", 0, "pamelding/", {"enrol-enrolled_on": "i går"}),
    (
        "leader",
        0,
        "pamelding/",
        enrol_data(dates=[TODAY() - timedelta(days=d) for d in (7, 14, 21)]),
    ),
    ("leader", 0, "pamelding/", enrol_data(dates=[TODAY(), None, TODAY()])),
    ("leader", 0, "pamelding/", enrol_data(group="")),
    ("leader", 1, "veiledningsavtale/", {"arrange-agreed_sessions": "-1"}),
    (
        "leader",
        1,
        "veiledningsavtale/",
        {
            "arrange-agreed_sessions": "2",
            "arrange-period_start": "2026-05-01",
            "arrange-period_end": "2026-04-01",
        },
    ),
    ("leader", 2, "fullfort/", {"completion-completed_on": "2999-01-01"}),
    ("leader", 2, "fullfort/", {"completion-completed_on": "31.02.2026"}),
    ("leader", 0, "dokumenter/", {"document-kind": "certificate"}),
    (
        "leader",
        0,
        "dokumenter/",
        {"document-kind": "x", "document-file": SimpleUploadedFile("a.exe", b"MZ\x90\x00")},
    ),
    ("leader", 0, "dokumenter/", {"document-kind": "certificate", "document-supersedes": "abc"}),
    ("supervisor", 1, "timer/", {}),
    ("supervisor", 1, "timer/", session_data(minutes="-5")),
    ("supervisor", 1, "timer/", session_data(minutes="lang")),
    ("supervisor", 1, "timer/", session_data(day=TODAY() + timedelta(days=3))),
    ("supervisor", 1, "timer/", session_data(status="maybe")),
    ("supervisor", 1, "timer/", session_data(topic="x" * 301)),
    ("supervisor", 1, "rapport/", {"report-report": "   "}),
    ("supervisor", 1, "dokumenter/", {"document-kind": "certificate", "document-file": "x"}),
]


@pytest.mark.parametrize("who, index, suffix, data", BAD_INPUT)
def test_bad_input_gives_form_errors_and_changes_nothing(
    client_for, world, measures, supervisor_user, who, index, suffix, data
):
    measure = measures[index]
    user = supervisor_user if who == "supervisor" else world.leader
    before = measure_snapshot(measure)
    for value in data.values():
        if hasattr(value, "seek"):
            value.seek(0)
    response = client_for(user).post(measure_url(measure, suffix), data)
    assert response.status_code == 200
    bound = response.context["bound"]
    assert bound.errors, bound
    html = response.content.decode()
    assert 'id="error-summary"' in html
    assert 'aria-invalid="true"' in html or bound.non_field_errors()
    assert measure_snapshot(measure) == before


def test_attendance_absent_without_a_reason_is_a_form_error(client_for, world, measures):
    course = measures[0]
    services.enrol_in_course(
        measure=course,
        acting_user=world.leader,
        enrolled_on=TODAY() - timedelta(days=30),
        group_name="G",
        group_leader="L",
        meeting_dates=[TODAY() - timedelta(days=d) for d in (20, 10, 1)],
    )
    meeting = course.meetings.get(number=1)
    url = measure_url(course, f"moter/{meeting.pk}/")
    leader = client_for(world.leader)
    for data in (attendance_data(meeting, "absent"), attendance_data(meeting, "kanskje"), {}):
        response = leader.post(url, data)
        assert response.status_code == 200
        assert response.context["bound"].errors
        html = response.content.decode()
        assert f'id="id_meeting-{meeting.number}-' in html
    meeting.refresh_from_db()
    assert meeting.attendance == CourseMeeting.Attendance.UNKNOWN


def measure_snapshot(measure):
    measure = Measure.objects.get(pk=measure.pk)
    return {
        "measure": Measure.history.filter(id=measure.pk).count(),
        "meetings": list(measure.meetings.values_list("date", "attendance")),
        "sessions": measure.sessions.count(),
        "documents": EvidenceDocument.objects.filter(measure=measure).count(),
    }


# ----------------------------------------------------------------------------- documents


def test_a_replaced_document_is_marked_and_links_to_its_replacement(client_for, world, measures):
    course = measures[0]
    leader = client_for(world.leader)
    url = measure_url(course, "dokumenter/")
    response = leader.post(url, {"document-kind": "attendance", "document-file": pdf("v1.pdf")})
    assert response.status_code == 302
    first = EvidenceDocument.objects.get(measure=course)
    response = leader.post(
        url,
        {
            "document-kind": "attendance",
            "document-file": pdf("v2.pdf"),
            "document-supersedes": str(first.pk),
        },
    )
    assert response.status_code == 302
    second = EvidenceDocument.objects.get(supersedes=first)
    page = leader.get(measure_url(course))
    html = page.content.decode()
    assert f'<li id="dokument-{first.pk}" class="replaced">' in html
    assert f'href="#dokument-{second.pk}">v2.pdf</a>' in html
    assert f"/saker/{course.order_id}/dokumenter/{first.pk}/" in html
    # A replaced document cannot be replaced again.
    choices = [c for c, _label in page.context["forms"]["document"].fields["supersedes"].choices]
    assert first.pk not in [getattr(c, "value", c) for c in choices]
    again = leader.post(
        url,
        {
            "document-kind": "attendance",
            "document-file": pdf("v3.pdf"),
            "document-supersedes": str(first.pk),
        },
    )
    assert again.status_code == 200
    assert EvidenceDocument.objects.filter(measure=course).count() == 2


# ----------------------------------------------------------------------------- my measures


def test_my_measures_lists_the_gps_measures_with_an_accept_terms_link(client_for, world, measures):
    course = measures[0]
    services.enrol_in_course(
        measure=course,
        acting_user=world.leader,
        enrolled_on=TODAY(),
        group_name="G",
        group_leader="L",
        meeting_dates=[TODAY() + timedelta(days=d) for d in (10, 20, 30)],
    )
    course.refresh_from_db()
    response = client_for(world.gp_user).get("/mine-tiltak/")
    assert response.status_code == 200
    assert [m.pk for m in response.context["own"]] == [m.pk for m in measures]
    html = response.content.decode()
    assert f'href="{measure_url(course)}#vilkar"' in html
    assert nb_date(course.terms_deadline) in html
    assert 'href="/mine-tiltak/" aria-current="page"' in html
    assert not response.context["page"].object_list


def test_my_measures_for_the_supervisor_links_to_record_sessions(
    client_for, world, measures, supervisor_user
):
    response = client_for(supervisor_user).get("/mine-tiltak/")
    assert response.status_code == 200
    assert response.context["own"] == []
    assert [m.pk for m in response.context["page"].object_list] == [measures[1].pk]
    html = response.content.decode()
    assert f'href="{measure_url(measures[1])}#ny-time"' in html
    assert 'href="/mine-tiltak/"' in html


def test_the_nav_link_is_only_for_gps_with_orders_and_supervisors(client_for, world, measures):
    for user, shown in (
        (world.gp_user, True),
        (world.supervisor.user, True),
        (world.leader, False),
        (world.caseworker, False),
        (world.other_gp_user, False),
    ):
        html = client_for(user).get("/oppgaver/").content.decode()
        assert ('href="/mine-tiltak/"' in html) is shown, user
    # The page itself answers anyone logged in, with nothing to show.
    response = client_for(world.other_gp_user).get("/mine-tiltak/")
    assert response.status_code == 200
    assert response.context["own"] == [] and not response.context["page"].object_list


def test_my_measures_needs_a_login(client):
    response = client.get("/mine-tiltak/")
    assert response.status_code == 302
    assert "/login" in response["Location"] or "logg-inn" in response["Location"]


# ----------------------------------------------------------------------------- query counts


def _count(client, url):
    client.get(url)  # warm up: session, language
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


def _log_sessions(measure, user, count, record=services.record_supervision_session):
    for n in range(count):
        record(
            measure=measure,
            acting_user=user,
            date=TODAY() - timedelta(days=n + 1),
            duration_minutes=45,
            topic=f"Time {n}",
            status="held" if n % 3 else "cancelled",
        )


def _upload(measure, user, count):
    for n in range(count):
        services.add_measure_document(
            measure=measure,
            acting_user=user,
            uploaded_file=pdf(f"dok-{n}.pdf"),
            kind=EvidenceDocument.Kind.SUPERVISOR_REPORT,
        )


def test_the_measure_page_runs_a_fixed_number_of_queries(
    client_for, world, measures, supervisor_user, django_assert_max_num_queries
):
    course, supervision, _online = measures
    _log_sessions(supervision, supervisor_user, 1)
    _upload(supervision, supervisor_user, 1)
    services.enrol_in_course(
        measure=course,
        acting_user=world.leader,
        enrolled_on=TODAY() - timedelta(days=30),
        group_name="G",
        group_leader="L",
        meeting_dates=[TODAY() - timedelta(days=d) for d in (20, 10, 1)],
    )
    for user, measure in ((supervisor_user, supervision), (world.leader, course)):
        client = client_for(user)
        small = _count(client, measure_url(measure))
        if measure is supervision:
            _log_sessions(supervision, supervisor_user, 30)
            _upload(supervision, supervisor_user, 10)
        else:
            for meeting in course.meetings.all():
                services.record_attendance(
                    meeting=meeting, acting_user=world.leader, attendance="attended"
                )
            _upload(course, world.leader, 10)
        with django_assert_max_num_queries(small):
            response = client.get(measure_url(measure))
        assert response.status_code == 200


def test_my_measures_runs_a_fixed_number_of_queries(
    client_for, world, measures, supervisor_user, django_assert_max_num_queries
):
    small_gp = _count(client_for(world.gp_user), "/mine-tiltak/")
    small_supervisor = _count(client_for(supervisor_user), "/mine-tiltak/")
    for _n in range(4):
        order = factories.issue_order(
            caseworker=world.caseworker, authority=world.authority, personnel=world.gp
        )
        _c, supervision, _o = plan(order, world.leader, world.supervisor)
        _log_sessions(supervision, supervisor_user, 3)
    _log_sessions(measures[1], supervisor_user, 5)
    client = client_for(supervisor_user)
    with django_assert_max_num_queries(small_supervisor):
        response = client.get("/mine-tiltak/")
    assert len(response.context["page"].object_list) == 5
    client = client_for(world.gp_user)
    with django_assert_max_num_queries(small_gp):
        response = client.get("/mine-tiltak/")
    assert len(response.context["own"]) == 15


def test_the_case_page_does_not_grow_with_measures_meetings_and_sessions(
    client_for, world, measures, supervisor_user, django_assert_max_num_queries
):
    course, supervision, _online = measures
    client = client_for(world.leader)
    small = _count(client, case_url(course.order))
    services.enrol_in_course(
        measure=course,
        acting_user=world.leader,
        enrolled_on=TODAY() - timedelta(days=30),
        group_name="G",
        group_leader="L",
        meeting_dates=[TODAY() - timedelta(days=d) for d in (20, 10, 1)],
    )
    _log_sessions(supervision, supervisor_user, 20)
    later = TODAY() + timedelta(days=90)
    course_services.add_measures(
        order=course.order,
        acting_user=world.leader,
        measures=[
            {"kind": Measure.Kind.COURSE, "course": quality_package(), "planned_completion": later}
            for _n in range(5)
        ]
        + [
            {
                "kind": Measure.Kind.SUPERVISION,
                "supervisor": world.supervisor,
                "agreed_sessions": 4,
                "planned_completion": later,
            }
            for _n in range(5)
        ],
    )
    # Added without planning (no supervision grant): sessions through the courses service.
    for measure in course.order.measures.filter(kind="supervision"):
        _log_sessions(measure, supervisor_user, 2, record=course_services.record_session)
    with django_assert_max_num_queries(small):
        response = client.get(case_url(course.order))
    assert response.status_code == 200
    assert len(response.context["measures"]) == 13


def test_meeting_id_zero_is_not_found_rather_than_a_server_error(client_for, world, measures):
    """Found by tests/test_every_url.py: id 0 was taken for "no meeting", and the attendance
    form was built without one (500)."""
    course = measures[0]
    url = measure_url(course, "moter/0/")
    before = CourseMeeting.objects.count()
    response = client_for(world.leader).post(url, {"attendance": "attended"})
    assert response.status_code == 404
    assert CourseMeeting.objects.count() == before


def test_the_gp_reads_the_course_terms_from_the_catalog_before_accepting(
    client_for, world, measures
):
    """The terms (text and link, kept in the catalog) are on the page above the tick box;
    without them in the catalog, the page says where they come from."""
    course = measures[0]
    client_for(world.leader).post(measure_url(course, "pamelding/"), enrol_data())
    gp = client_for(world.gp_user)
    html = gp.get(measure_url(course)).content.decode()
    box = html.index('name="accept_terms-accepted"')
    assert (
        html.index(
            nb(
                "The terms are not in the course catalog. %(provider)s sends them "
                "when you are enrolled; ask the municipality if you have not "
                "received them.",
                provider="SKIL",
            )
        )
        < box
    )

    course.course.terms = "Du deltar på alle tre møtene."
    course.course.terms_url = "https://kurs.example/vilkar"
    course.course.save(update_fields=["terms", "terms_url"])
    html = gp.get(measure_url(course)).content.decode()
    box = html.index('name="accept_terms-accepted"')
    assert html.index("Du deltar på alle tre møtene.") < box
    assert html.index('href="https://kurs.example/vilkar"') < box
