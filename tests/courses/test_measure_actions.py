"""The measure's action table (courses.actions) and everything that reads it: the addresses
(orders.urls), the access log's vocabulary (audit.actions), the forms, the who-tokens'
checks (orders.access) agree with it (a drift test), and every row is reachable over HTTP
for the role it names and refused, and logged as refused, for another."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import get_resolver, resolve, reverse
from django.utils import timezone, translation

from audit.actions import REFUSED, Action
from audit.models import AccessEvent
from courses import measure_forms
from courses import services as course_services
from courses.actions import MEASURE_ACTIONS, ROWS, Who
from courses.models import CourseMeeting, EvidenceDocument
from orders import measure_views
from orders.access import MEASURE_RULES, Capabilities
from tests.orders.test_measure_pages import enrol_data, pdf, plan
from tests.snapshots import snapshot_fixture

TODAY = timezone.localdate

# The addresses as they were before the table: names and paths are part of the product.
ADDRESSES = {
    "enrol": "pamelding/",
    "accept_terms": "vilkar/",
    "attendance": "moter/3/",
    "completion": "fullfort/",
    "arrange": "veiledningsavtale/",
    "session": "timer/",
    "report": "rapport/",
    "document": "dokumenter/",
}


# ----------------------------------------------------------------------------- the drift test


def test_every_row_has_a_unique_name_segment_anchor_and_log_word():
    assert len(MEASURE_ACTIONS) == len(ROWS)
    for attribute in ("segment", "anchor", "logged_as"):
        values = [getattr(row, attribute) for row in ROWS]
        assert len(set(values)) == len(values), attribute


@pytest.mark.parametrize("name", list(ADDRESSES))
def test_the_address_of_every_row_is_as_before_and_reaches_the_measure_action_view(name):
    assert set(ADDRESSES) == set(MEASURE_ACTIONS)
    row = MEASURE_ACTIONS[name]
    kwargs = {"pk": 1, "measure_pk": 2, **({"meeting_pk": 3} if row.per_meeting else {})}

    url = reverse(f"orders:measure_{name}", kwargs=kwargs)

    assert url == f"/saker/1/tiltak/2/{ADDRESSES[name]}"
    match = resolve(url)
    assert match.func is measure_views.measure_action
    assert match.url_name == f"measure_{name}"
    assert match.kwargs["action"] == name


def test_no_measure_action_address_without_a_row():
    (orders,) = [p for p in get_resolver().url_patterns if getattr(p, "namespace", "") == "orders"]
    actions = {p.name for p in orders.url_patterns if p.callback is measure_views.measure_action}
    assert actions == {f"measure_{name}" for name in MEASURE_ACTIONS}


@pytest.mark.parametrize("name", list(MEASURE_ACTIONS))
def test_every_row_has_a_log_word_and_a_refused_label(name):
    row = MEASURE_ACTIONS[name]

    assert row.logged_as is Action(f"measure_{name}")
    assert row.logged_as in REFUSED
    with translation.override("en"):
        assert str(row.logged_as.label) != str(REFUSED[row.logged_as])


def test_every_measure_word_in_the_vocabulary_has_a_row():
    measure_words = {a for a in Action if a.value.startswith("measure_")}
    assert measure_words == {row.logged_as for row in ROWS}


@pytest.mark.parametrize("name", list(MEASURE_ACTIONS))
def test_every_row_has_a_measure_form_and_a_courses_service(name):
    row = MEASURE_ACTIONS[name]

    assert issubclass(row.form, measure_forms.MeasureForm)
    assert row.form.__module__ == "courses.measure_forms"
    assert row.write.__module__ == "courses.services"
    assert getattr(course_services, row.write.__name__) is row.write
    assert row.done and row.anchor


def test_every_who_token_is_answered_by_one_capabilities_check():
    assert set(MEASURE_RULES) == set(Who)
    assert {row.who for row in ROWS} <= set(Who)
    for who, rule in MEASURE_RULES.items():
        assert getattr(Capabilities, rule.__name__) is rule, who


@snapshot_fixture
def measures(world, order):
    course, supervision, online = plan(order, world.leader, world.supervisor)
    world.supervisor.refresh_from_db()
    return course, supervision, online


def test_a_who_token_answers_as_the_check_it_stands_for(world, order, measures):
    """For everyone around the case and every measure, the token gives the check's answer."""
    users = [
        world.caseworker,
        world.leader,
        world.other_leader,
        world.gp_user,
        world.other_gp_user,
        world.supervisor.user,
    ]
    checks = {
        Who.MUNICIPALITY: "may_manage_measure",
        Who.CONCERNED: "may_accept_terms",
        Who.SUPERVISOR: "may_log_supervision",
        Who.MUNICIPALITY_OR_SUPERVISOR: "may_add_measure_document",
    }
    seen = set()
    for user in users:
        capabilities = Capabilities.of(user)
        for measure in measures:
            for who, check in checks.items():
                answer = capabilities.may_act_on_measure(who, order, measure)
                assert answer == getattr(capabilities, check)(order, measure), (user, who)
                seen.add((who, answer))
    # Each token is both granted and refused to someone here: the comparison means something.
    assert seen == {(who, answer) for who in Who for answer in (True, False)}


# ----------------------------------------------------------------------------- over HTTP


def _course(world, measures):
    return measures[0]


def _enrolled_course(world, measures):
    course = measures[0]
    dates = [TODAY() - timedelta(days=d) for d in (21, 14, 7)]
    course_services.enrol(
        measure=course,
        acting_user=world.leader,
        enrolled_on=TODAY() - timedelta(days=40),
        group_name="Kollegagruppe Bergen sentrum",
        group_leader="Gruppeleder Hansen",
        meeting_dates=dates,
    )
    return course


def _online(world, measures):
    return measures[2]


def _supervision(world, measures):
    return measures[1]


def _attendance_data(measure):
    return {
        "meeting-1-attendance": CourseMeeting.Attendance.ATTENDED,
        "meeting-1-submission_key": str(uuid.uuid4()),
    }


def _session_data(measure):
    return {
        "session-date": (TODAY() - timedelta(days=1)).isoformat(),
        "session-duration_minutes": "60",
        "session-topic": "Forskrivning av vanedannende legemidler",
        "session-status": "held",
        "session-submission_key": str(uuid.uuid4()),
    }


# Per row: the measure it acts on, who may (right) and someone who sees the measure but may
# not (wrong), the data a valid form posts, and what shows it was recorded.
CASES = {
    "enrol": (
        _course,
        "leader",
        "gp_user",
        lambda m: enrol_data(),
        lambda m: m.enrolled_on is not None,
    ),
    "accept_terms": (
        _enrolled_course,
        "gp_user",
        "leader",
        lambda m: {"accept_terms-accepted": "on"},
        lambda m: m.terms_accepted_at is not None,
    ),
    "attendance": (
        _enrolled_course,
        "leader",
        "gp_user",
        _attendance_data,
        lambda m: m.meetings.get(number=1).attendance == CourseMeeting.Attendance.ATTENDED,
    ),
    "completion": (
        _online,
        "leader",
        "gp_user",
        lambda m: {"completion-completed_on": (TODAY() - timedelta(days=2)).isoformat()},
        lambda m: m.completed_on == TODAY() - timedelta(days=2),
    ),
    "arrange": (
        _supervision,
        "leader",
        "gp_user",
        lambda m: {
            "arrange-agreed_sessions": "6",
            "arrange-period_start": TODAY().isoformat(),
            "arrange-period_end": (TODAY() + timedelta(days=90)).isoformat(),
        },
        lambda m: m.agreed_sessions == 6,
    ),
    "session": (
        _supervision,
        "supervisor",
        "leader",
        _session_data,
        lambda m: m.sessions.count() == 1,
    ),
    "report": (
        _supervision,
        "supervisor",
        "leader",
        lambda m: {"report-report": "Veiledningen gikk etter planen."},
        lambda m: m.final_report == "Veiledningen gikk etter planen.",
    ),
    "document": (
        _course,
        "leader",
        "gp_user",
        lambda m: {
            "document-kind": EvidenceDocument.Kind.CERTIFICATE,
            "document-file": pdf(),
            "document-submission_key": str(uuid.uuid4()),
        },
        lambda m: m.documents.count() == 1,
    ),
}


def _user(world, who):
    return world.supervisor.user if who == "supervisor" else getattr(world, who)


def _action_url(name, measure):
    row = MEASURE_ACTIONS[name]
    kwargs = {"pk": measure.order_id, "measure_pk": measure.pk}
    if row.per_meeting:
        kwargs["meeting_pk"] = measure.meetings.get(number=1).pk
    return reverse(f"orders:measure_{name}", kwargs=kwargs)


def _post_as(client_for, user, name, measure, data):
    """POST the row's valid form as ``user``: the response and the access events it wrote."""
    client = client_for(user)
    last = AccessEvent.objects.order_by("-sequence").first()
    response = client.post(_action_url(name, measure), data(measure))
    events = AccessEvent.objects.filter(sequence__gt=last.sequence if last else 0)
    return response, list(events.order_by("sequence"))


def test_every_row_has_an_http_case():
    assert set(CASES) == set(MEASURE_ACTIONS)


@pytest.mark.parametrize("name", list(CASES))
def test_the_right_role_is_offered_the_form_and_records_the_action(
    name, world, measures, client_for
):
    pick, right, _wrong, data, recorded = CASES[name]
    measure = pick(world, measures)
    client = client_for(_user(world, right))
    page = reverse("orders:measure_detail", args=[measure.order_id, measure.pk])

    shown = client.get(page)
    if MEASURE_ACTIONS[name].per_meeting:
        offered = [form for _meeting, form in shown.context["meetings"] if form is not None]
    else:
        offered = [shown.context["forms"].get(name)]
    assert shown.status_code == 200
    assert offered and all(isinstance(f, MEASURE_ACTIONS[name].form) for f in offered)

    response = client.post(_action_url(name, measure), data(measure))

    assert response.status_code == 302, response.context and response.context["bound"].errors
    assert response.url == page
    with translation.override("nb"):
        done = str(MEASURE_ACTIONS[name].done)
        assert done in [str(m) for m in get_messages(response.wsgi_request)]
    measure.refresh_from_db()
    assert recorded(measure)


@pytest.mark.parametrize("name", list(CASES))
def test_a_wrong_role_that_sees_the_measure_is_refused_with_403_and_logged(
    name, world, measures, client_for
):
    pick, _right, wrong, data, recorded = CASES[name]
    measure = pick(world, measures)

    response, events = _post_as(client_for, _user(world, wrong), name, measure, data)

    assert response.status_code == 403
    assert [(e.action, e.outcome, e.target_type, e.target_id) for e in events] == [
        (MEASURE_ACTIONS[name].logged_as, "refused", "courses.measure", str(measure.pk))
    ]
    measure.refresh_from_db()
    assert not recorded(measure)


@pytest.mark.parametrize("name", list(CASES))
def test_someone_outside_the_case_finds_nothing_and_is_logged(name, world, measures, client_for):
    pick, _right, _wrong, data, recorded = CASES[name]
    measure = pick(world, measures)

    response, events = _post_as(client_for, world.other_leader, name, measure, data)

    assert response.status_code == 404
    assert [(e.action, e.outcome) for e in events] == [(MEASURE_ACTIONS[name].logged_as, "refused")]
    measure.refresh_from_db()
    assert not recorded(measure)
