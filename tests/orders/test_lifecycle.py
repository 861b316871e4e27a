"""The order's lifecycle driven through the web pages, as the caseworker, the municipal leader
and the GP in ``world`` would: issue → plan measures → acknowledge → confirm completion →
sign off (or send back), plus withdrawal, appeals, deadline extensions, validation and who
may take which step.

Assertions are on data (status codes, redirects, rows, viewflow task/process state), never
on translated text.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.formats import date_format
from viewflow.workflow.status import PROCESS, STATUS

from courses.models import EvidenceDocument, Measure
from orders.models import Appeal, CompletionConfirmation, DeadlineExtension, Order, Review

from .http_flow import (
    OPEN,
    PDF_BYTES,
    Driver,
    case_url,
    confirm_data,
    course,
    course_measure,
    form_errors,
    issue_data,
    open_step,
    open_step_names,
    pdf,
    plan_data,
    reload,
    snapshot,
    step_url,
    supervision_measure,
    tasks_of,
    today,
)
from .lifecycle import complete_measures

STEPS = ("plan_measures", "acknowledge", "confirm_completion", "sign_off")
CASE_ACTION_PATHS = ("frist/", "trekk-tilbake/", "klage/")


@pytest.fixture
def drive(client_for, world):
    return Driver(client_for, world)


@pytest.fixture
def order_at(order, drive):
    """The ``order`` fixture, taken over HTTP up to (not through) the named step."""

    def at(step):
        before = STEPS[: STEPS.index(step)]
        for name in before:
            response = getattr(drive, _DRIVER_METHOD[name])(order)
            assert response.status_code == 302, form_errors(response)
        assert open_step_names(order) == [step]
        return reload(order)

    return at


_DRIVER_METHOD = {
    "plan_measures": "plan",
    "acknowledge": "acknowledge",
    "confirm_completion": "confirm",
    "sign_off": "sign_off",
}

_STEP_DATA = {
    "plan_measures": lambda order: plan_data([course_measure(course())]),
    "acknowledge": lambda order: {"accepted": "on"},
    "confirm_completion": lambda order: confirm_data(files=pdf(), order=order),
    "sign_off": lambda order: {"outcome": "fulfilled", "reason": ""},
}


def _action_links(response, order):
    """The links to steps and case actions on a case page (URLs are not translated)."""
    html = response.content.decode()
    paths = [f"/saker/{order.pk}/steg/"] + [f"/saker/{order.pk}/{p}" for p in CASE_ACTION_PATHS]
    return [p for p in paths if p in html]


def _assert_read_only_case_page(client, order):
    page = client.get(case_url(order))
    assert page.status_code == 200
    assert page.context["closed"] is True
    assert page.context["may_manage"] is False
    assert [mine for _task, mine in page.context["open_tasks"]] == []
    assert _action_links(page, order) == []
    return page


def _refused(response):
    """A refusal: 403/404, or a redirect back to the case page (never a success page)."""
    return response.status_code in (403, 404) or (
        response.status_code == 302 and "/steg/" not in response["Location"]
    )


# ============================================================================ 1. happy path


def test_order_goes_from_issue_to_fulfilled_through_the_web_pages(world, client_for):
    vlm = course()
    caseworker, leader, gp = world.caseworker, world.leader, world.gp_user

    # The caseworker registers the order.
    client = client_for(caseworker)
    assert client.get("/saker/ny/").status_code == 200
    response = client.post("/saker/ny/", issue_data(world, number=4321))
    order = Order.objects.get(case_number="2026/4321")
    assert response.status_code == 302
    assert response["Location"] == case_url(order)
    assert order.status == PROCESS.NEW
    assert order.issuing_authority == world.authority
    assert order.caseworker == caseworker
    assert order.health_personnel == world.gp
    assert order.municipality == world.municipality  # blank number: where the GP practises
    assert order.requires_course and not order.requires_supervision
    assert open_step_names(order) == ["plan_measures"]

    # The leader finds the planning step in their task list and plans a course.
    client = client_for(leader)
    tasks = client.get("/oppgaver/")
    assert tasks.status_code == 200
    task = open_step(order, "plan_measures")
    assert [t.pk for t in tasks.context["page"].object_list] == [task.pk]
    assert client.get(step_url(order, task)).status_code == 200
    planned = (today() + timedelta(days=60)).isoformat()
    response = client.post(
        step_url(order, task),
        {
            "tiltak-TOTAL_FORMS": "2",
            "tiltak-INITIAL_FORMS": "0",
            "tiltak-MIN_NUM_FORMS": "0",
            "tiltak-MAX_NUM_FORMS": "1000",
            "tiltak-0-kind": "course",
            "tiltak-0-course": str(vlm.pk),
            "tiltak-0-planned_completion": planned,
            "received": "on",
        },
    )
    assert response.status_code == 302, form_errors(response)
    assert response["Location"] == case_url(order)
    measure = Measure.objects.get(order=order)
    assert (measure.kind, measure.course, measure.status) == ("course", vlm, "planned")
    assert measure.planned_completion.isoformat() == planned
    assert measure.created_by == leader
    task.refresh_from_db()
    assert (task.status, task.owner) == (STATUS.DONE, leader)

    # The GP sees the plan and accepts it.
    client = client_for(gp)
    task = open_step(order, "acknowledge")
    assert task.owner == gp  # assigned to the person concerned when it opens
    assert [t.pk for t in client.get("/oppgaver/").context["page"].object_list] == [task.pk]
    page = client.get(step_url(order, task))
    assert page.status_code == 200
    assert page.context["measures"] == [measure]
    response = client.post(step_url(order, task), {"accepted": "on"})
    assert response.status_code == 302, form_errors(response)
    assert open_step_names(order) == ["confirm_completion"]

    # The course is carried out: the leader enrols the GP and records every meeting, the GP
    # accepts the course terms (through the services; the measure pages are tested elsewhere).
    complete_measures(order, leader)

    # The leader confirms completion with a course certificate; no reason is asked for.
    client = client_for(leader)
    task = open_step(order, "confirm_completion")
    page = client.get(step_url(order, task))
    assert page.status_code == 200
    assert [f for f in page.context["form"].fields if f.startswith("reason_")] == []
    response = client.post(
        step_url(order, task),
        {
            "note": "Kurset er gjennomført.",
            "document_kind": "certificate",
            "files": pdf("kursbevis.pdf"),
        },
    )
    assert response.status_code == 302, form_errors(response)
    measure.refresh_from_db()
    assert (measure.status, measure.incomplete_reason) == (Measure.Status.COMPLETED, "")
    confirmation = CompletionConfirmation.objects.get(order=order)
    assert confirmation.confirmed_by == leader
    assert confirmation.note == "Kurset er gjennomført."
    document = confirmation.documents.get()
    assert document.order == order
    assert (document.kind, document.original_name) == ("certificate", "kursbevis.pdf")
    assert document.content_type == "application/pdf"
    assert document.size == len(PDF_BYTES)
    assert document.uploaded_by == leader
    with document.file.open("rb") as stored:
        assert stored.read() == PDF_BYTES
    assert open_step_names(order) == ["sign_off"]

    # The caseworker signs off.
    client = client_for(caseworker)
    task = open_step(order, "sign_off")
    assert [t.pk for t in client.get("/oppgaver/").context["page"].object_list] == [task.pk]
    assert client.get(step_url(order, task)).status_code == 200
    response = client.post(step_url(order, task), {"outcome": "fulfilled", "reason": ""})
    assert response.status_code == 302, form_errors(response)
    assert response["Location"] == case_url(order)

    order = reload(order)
    assert order.status == PROCESS.DONE
    assert order.finished is not None
    assert Review.objects.get(order=order).outcome == Review.Outcome.FULFILLED
    assert Review.objects.get(order=order).decided_by == caseworker
    assert tasks_of(order, statuses=OPEN) == []
    assert {t.status for t in tasks_of(order)} == {STATUS.DONE}
    assert set(Measure.objects.filter(order=order).values_list("status", flat=True)) == {
        "completed"
    }

    # Nobody has anything left to do; the case page is read-only for all three.
    for user in (caseworker, leader, gp):
        client = client_for(user)
        assert list(client.get("/oppgaver/").context["page"].object_list) == []
        _assert_read_only_case_page(client, order)


def test_plan_can_assign_course_and_supervision_together(order, drive, world):
    vlm = course()
    response = drive.plan(
        order,
        [
            course_measure(vlm, days=30),
            supervision_measure(
                world.supervisor.hpr_number,
                days=90,
                description="Ukentlig veiledning",
                agreed_sessions=6,
                period_start=today(),
                period_end=today() + timedelta(days=80),
            ),
        ],
    )
    assert response.status_code == 302, form_errors(response)
    measures = list(Measure.objects.filter(order=order).order_by("planned_completion"))
    assert [(m.kind, m.course, m.supervisor, m.supervisor_name) for m in measures] == [
        ("course", vlm, None, ""),
        ("supervision", None, world.supervisor, world.supervisor.name),
    ]
    supervision = measures[1]
    assert supervision.description == "Ukentlig veiledning"
    assert (supervision.agreed_sessions, supervision.period_start, supervision.period_end) == (
        6,
        today(),
        today() + timedelta(days=80),
    )
    assert {m.created_by for m in measures} == {world.leader}
    assert open_step_names(order) == ["acknowledge"]


def test_supervision_only_order_can_be_fulfilled(world, drive):
    order = drive.issued(number=77, requires_course=None, requires_supervision="on")
    assert (order.requires_course, order.requires_supervision) == (False, True)
    for response in (drive.plan(order, [supervision_measure()]), drive.acknowledge(order)):
        assert response.status_code == 302, form_errors(response)
    # The supervisor holds the sessions and reports; the leader arranged them.
    complete_measures(order, world.leader)
    for response in (
        drive.confirm(order, kind="report", files=pdf("veilederrapport.pdf"), reasons=False),
        drive.sign_off(order),
    ):
        assert response.status_code == 302, form_errors(response)
    assert reload(order).status == PROCESS.DONE
    measure = Measure.objects.get(order=order)
    assert (measure.kind, measure.supervisor, measure.status) == (
        "supervision",
        world.supervisor,
        "completed",
    )
    assert EvidenceDocument.objects.get(order=order).kind == "report"


def test_plan_without_any_measure_is_a_formset_error(order, drive):
    before = snapshot(order)
    response = drive.plan(order, [], extra_rows=3)
    assert response.status_code == 200
    assert response.context["formset"].non_form_errors()
    assert snapshot(order) == before


def test_plan_without_confirming_receipt_is_a_form_error(order, drive):
    before = snapshot(order)
    response = drive.plan(order, received=False)
    assert response.status_code == 200
    assert "received" in response.context["form"].errors
    assert snapshot(order) == before


@pytest.mark.parametrize(
    "row, field",
    [
        ({"kind": "course", "course": "", "planned_completion": "2030-01-01"}, "course"),
        (
            {"kind": "supervision", "supervisor_hpr": "", "planned_completion": "2030-01-01"},
            "supervisor_hpr",
        ),
        (
            {"kind": "supervision", "supervisor_hpr": "12ab", "planned_completion": "2030-01-01"},
            "supervisor_hpr",
        ),
        (  # well-formed, but nobody is registered with it
            {
                "kind": "supervision",
                "supervisor_hpr": "7654321",
                "planned_completion": "2030-01-01",
            },
            "supervisor_hpr",
        ),
        (
            {
                "kind": "supervision",
                "supervisor_hpr": "9000009",
                "period_start": "2030-02-01",
                "period_end": "2030-01-01",
                "planned_completion": "2030-03-01",
            },
            "period_end",
        ),
        (
            {
                "kind": "supervision",
                "supervisor_hpr": "9000009",
                "agreed_sessions": "0",
                "planned_completion": "2030-03-01",
            },
            "agreed_sessions",
        ),
        ({"kind": "supervision", "supervisor_hpr": "9000009"}, "planned_completion"),
        (
            {"kind": "", "supervisor_hpr": "9000009", "planned_completion": "2030-01-01"},
            "kind",
        ),
    ],
)
def test_incomplete_measure_row_is_a_formset_error(order, drive, row, field):
    before = snapshot(order)
    response = drive.plan(order, [row])
    assert response.status_code == 200
    assert field in response.context["formset"].errors[0]
    assert snapshot(order) == before


def test_inactive_course_cannot_be_planned(order, drive):
    retired = course("Utgått kurs")
    retired.active = False
    retired.save()
    before = snapshot(order)
    response = drive.plan(order, [course_measure(retired)])
    assert response.status_code == 200
    assert "course" in response.context["formset"].errors[0]
    assert snapshot(order) == before


def test_acknowledge_without_ticking_the_box_is_a_form_error(order_at, drive):
    order = order_at("acknowledge")
    before = snapshot(order)
    response = drive.acknowledge(order, accepted=False)
    assert response.status_code == 200
    assert "accepted" in response.context["form"].errors
    assert snapshot(order) == before


def test_confirm_without_any_document_is_a_form_error(order_at, drive):
    order = order_at("confirm_completion")
    before = snapshot(order)
    response = drive.confirm(order, files=None)
    assert response.status_code == 200
    assert "files" in response.context["form"].errors
    assert snapshot(order) == before


def test_confirm_without_a_note_is_a_form_error(order_at, drive):
    order = order_at("confirm_completion")
    before = snapshot(order)
    response = drive.confirm(order, note="   ")
    assert response.status_code == 200
    assert "note" in response.context["form"].errors
    assert snapshot(order) == before


@pytest.mark.parametrize(
    "name, content",
    [
        ("kursbevis.pdf", b"MZ\x90\x00\x03\x00\x00\x00 not a pdf at all"),
        ("kursbevis.pdf", b"<html><script>alert(1)</script></html>"),
        ("tom.pdf", b""),
    ],
    ids=["executable-named-pdf", "html-named-pdf", "empty-file"],
)
def test_confirm_refuses_an_upload_that_is_not_a_pdf_or_image(order_at, drive, name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    order = order_at("confirm_completion")
    before = snapshot(order)
    upload = SimpleUploadedFile(name, content, content_type="application/pdf")
    response = drive.confirm(order, files=upload)
    assert response.status_code == 200
    assert "files" in response.context["form"].errors
    assert snapshot(order) == before


def test_confirm_refuses_an_oversize_file_with_the_limit_in_the_message(order_at, drive, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.EVIDENCE_MAX_BYTES = 1024
    order = order_at("confirm_completion")
    before = snapshot(order)
    upload = SimpleUploadedFile("stor.pdf", b"%PDF-1.4\n" + b"0" * 2048, "application/pdf")
    response = drive.confirm(order, files=upload)
    assert response.status_code == 200
    (message,) = response.context["form"].errors["files"]
    assert "stor.pdf" in message and "1,0" in message  # names the file and the 1 KB limit
    assert snapshot(order) == before


def test_confirm_with_several_files_keeps_each_as_a_document(order_at, drive):
    order = order_at("confirm_completion")
    response = drive.confirm(
        order, kind="attendance", files=[pdf("deltakerliste.pdf"), pdf("kursbevis.pdf")]
    )
    assert response.status_code == 302, form_errors(response)
    confirmation = CompletionConfirmation.objects.get(order=order)
    assert sorted(d.original_name for d in confirmation.documents.all()) == [
        "deltakerliste.pdf",
        "kursbevis.pdf",
    ]
    assert EvidenceDocument.objects.filter(order=order).count() == 2


def test_same_step_posted_twice_is_taken_once(order, drive, client_for, world):
    task = open_step(order, "plan_measures")
    data = plan_data([course_measure(course())])
    client = client_for(world.leader)
    assert client.post(step_url(order, task), data).status_code == 302
    after_first = snapshot(order)
    second = client.post(step_url(order, task), plan_data([course_measure(course())]))
    assert _refused(second)
    assert snapshot(order) == after_first
    assert Measure.objects.filter(order=order).count() == 1


def test_order_for_another_municipality_goes_to_that_municipalitys_leader(world, drive, client_for):
    order = drive.issued(number=88, municipality_number=world.other_municipality.number)
    assert order.municipality == world.other_municipality
    task = open_step(order, "plan_measures")
    assert list(client_for(world.leader).get("/oppgaver/").context["page"].object_list) == []
    assert client_for(world.leader).get(step_url(order, task)).status_code == 404
    others = client_for(world.other_leader).get("/oppgaver/").context["page"].object_list
    assert [t.pk for t in others] == [task.pk]
    response = drive.plan(order, user=world.other_leader)
    assert response.status_code == 302, form_errors(response)
    assert Measure.objects.get(order=order).created_by == world.other_leader


def test_evidence_can_be_downloaded_by_the_parties_only(order_at, drive, client_for, world):
    order = order_at("confirm_completion")
    drive.confirm(order)
    document = EvidenceDocument.objects.get(order=order)
    url = f"/saker/{order.pk}/dokumenter/{document.pk}/"
    for user in (world.caseworker, world.leader, world.gp_user):
        response = client_for(user).get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PDF_BYTES
        assert response["X-Content-Type-Options"] == "nosniff"
    for user in (world.other_leader, world.other_caseworker, world.other_gp_user):
        assert client_for(user).get(url).status_code == 404


# ---------------------------------------------------------------- a closed case is read-only


def test_old_step_urls_of_a_fulfilled_case_refuse_posts_and_change_nothing(
    order, drive, client_for, world
):
    drive.through_confirmation(order)
    assert drive.sign_off(order).status_code == 302
    assert reload(order).status == PROCESS.DONE
    before = snapshot(order)
    party = {
        "plan_measures": world.leader,
        "acknowledge": world.gp_user,
        "confirm_completion": world.leader,
        "sign_off": world.caseworker,
    }
    for task in tasks_of(order):
        name = task.flow_task.name
        client = client_for(party[name])
        assert _refused(client.get(step_url(order, task)))
        response = client.post(step_url(order, task), _STEP_DATA[name](order))
        assert _refused(response), (name, response.status_code)
        assert snapshot(order) == before


def test_case_actions_on_a_fulfilled_case_are_refused(order, drive, client_for, world):
    drive.through_confirmation(order)
    drive.sign_off(order)
    before = snapshot(order)
    assert _refused(drive.extend(order, order.deadline + timedelta(days=30)))
    assert _refused(drive.withdraw(order))
    assert _refused(drive.appeal(order))
    assert snapshot(order) == before
    _assert_read_only_case_page(client_for(world.caseworker), order)


# ============================================================================ 2. send back


def test_sending_back_without_a_reason_is_a_form_error(order, drive):
    drive.through_confirmation(order)
    before = snapshot(order)
    response = drive.sign_off(order, "returned", reason="   ")
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    assert Review.objects.filter(order=order).count() == 0
    assert snapshot(order) == before
    assert open_step_names(order) == ["sign_off"]


def test_sent_back_case_is_confirmed_again_and_then_fulfilled(order, drive, client_for, world):
    drive.through_confirmation(order)
    first_document = EvidenceDocument.objects.get(order=order)

    response = drive.sign_off(order, "returned", reason="Kursbeviset mangler signatur.")
    assert response.status_code == 302, form_errors(response)
    review = Review.objects.get(order=order)
    assert (review.outcome, review.reason) == ("returned", "Kursbeviset mangler signatur.")
    assert reload(order).status == PROCESS.NEW
    assert open_step_names(order) == ["confirm_completion"]
    assert len(tasks_of(order, "confirm_completion")) == 2
    reopened = open_step(order, "confirm_completion")
    leader_tasks = client_for(world.leader).get("/oppgaver/").context["page"].object_list
    assert [t.pk for t in leader_tasks] == [reopened.pk]

    # The step page offers the document already on the case; the leader picks it again.
    page = client_for(world.leader).get(step_url(order, reopened))
    assert page.status_code == 200
    assert list(page.context["form"].fields["existing_documents"].queryset) == [first_document]
    assert page.context["reviews"] == [review]
    response = drive.confirm(
        order, files=None, existing=[first_document], note="Signert kursbevis ettersendt."
    )
    assert response.status_code == 302, form_errors(response)

    response = drive.sign_off(order, "fulfilled")
    assert response.status_code == 302, form_errors(response)

    order = reload(order)
    assert order.status == PROCESS.DONE
    reviews = list(Review.objects.filter(order=order).order_by("pk"))
    assert [r.outcome for r in reviews] == ["returned", "fulfilled"]
    confirmations = list(CompletionConfirmation.objects.filter(order=order).order_by("pk"))
    assert len(confirmations) == 2
    assert [list(c.documents.all()) for c in confirmations] == [[first_document]] * 2
    assert EvidenceDocument.objects.filter(order=order).count() == 1
    assert tasks_of(order, statuses=OPEN) == []


def test_reconfirmation_can_add_a_new_document_next_to_an_existing_one(order, drive):
    drive.through_confirmation(order)
    first = EvidenceDocument.objects.get(order=order)
    drive.sign_off(order, "returned", reason="Mangler veilederrapport.")
    response = drive.confirm(order, kind="report", files=pdf("rapport.pdf"), existing=[first])
    assert response.status_code == 302, form_errors(response)
    latest = CompletionConfirmation.objects.filter(order=order).order_by("pk").last()
    assert sorted(d.original_name for d in latest.documents.all()) == [
        "kursbevis.pdf",
        "rapport.pdf",
    ]
    assert open_step_names(order) == ["sign_off"]


def test_documents_of_another_order_cannot_be_attached(order, drive, world):
    other = drive.issued(number=99)
    drive.through_confirmation(other)
    foreign = EvidenceDocument.objects.get(order=other)
    drive.through_confirmation(order)
    drive.sign_off(order, "returned", reason="Ny dokumentasjon trengs.")
    before = snapshot(order)
    response = drive.confirm(order, files=None, existing=[foreign])
    assert response.status_code == 200
    assert "existing_documents" in response.context["form"].errors
    assert snapshot(order) == before


# ============================================================================ 3. withdrawal


@pytest.mark.parametrize("stage", STEPS)
def test_withdrawal_cancels_the_order_and_its_open_tasks(order_at, drive, stage):
    order = order_at(stage)
    open_before = [t.pk for t in tasks_of(order, statuses=OPEN)]
    response = drive.withdraw(order, reason="Vedtaket er opphevet.")
    assert response.status_code == 302, form_errors(response)
    assert response["Location"] == case_url(order)
    order = reload(order)
    assert order.status == PROCESS.CANCELED
    assert order.finished is not None
    assert order.withdrawal_reason == "Vedtaket er opphevet."
    assert tasks_of(order, statuses=OPEN) == []
    assert {t.status for t in tasks_of(order) if t.pk in open_before} == {STATUS.CANCELED}


@pytest.mark.parametrize(
    "data, field",
    [({"reason": "Opphevet."}, "confirm"), ({"reason": "  ", "confirm": "on"}, "reason")],
    ids=["unconfirmed", "no-reason"],
)
def test_withdrawal_needs_a_reason_and_a_confirmation(order, client_for, world, data, field):
    before = snapshot(order)
    response = client_for(world.caseworker).post(f"/saker/{order.pk}/trekk-tilbake/", data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert snapshot(order) == before


@pytest.mark.parametrize("stage", STEPS)
def test_withdrawn_case_refuses_every_step_and_case_action(
    order_at, drive, client_for, world, stage
):
    order = order_at(stage)
    appeal_response = drive.appeal(order)
    assert appeal_response.status_code == 302
    appeal = Appeal.objects.get(order=order)
    assert drive.withdraw(order, reason="Vedtaket er opphevet.").status_code == 302
    order = reload(order)
    before = snapshot(order)

    everyone = (world.caseworker, world.leader, world.gp_user)
    for task in tasks_of(order):
        name = task.flow_task.name
        for user in everyone:
            client = client_for(user)
            assert _refused(client.get(step_url(order, task)))
            assert _refused(client.post(step_url(order, task), _STEP_DATA[name](order)))
    for user in everyone:
        assert _refused(drive.extend(order, order.deadline + timedelta(days=10), user=user))
        assert _refused(drive.withdraw(order, reason="En gang til", user=user))
        assert _refused(drive.appeal(order, user=user))
    # The appeal goes on after the case closes; only the issuing side records its outcome.
    for user in (world.leader, world.gp_user):
        assert _refused(drive.decide(order, appeal, user=user))
    assert snapshot(order) == before

    for user in everyone:
        client = client_for(user)
        page = client.get(case_url(order))
        assert page.status_code == 200
        assert page.context["closed"] is True
        assert page.context["may_manage"] is False
        assert [mine for _task, mine in page.context["open_tasks"]] == []
        decide_link = f"/saker/{order.pk}/klage/{appeal.pk}/"
        assert (decide_link in page.content.decode()) == (user == world.caseworker)
        assert [p for p in _action_links(page, order) if p != f"/saker/{order.pk}/klage/"] == []
        assert page.context["order"].withdrawal_reason == "Vedtaket er opphevet."
        assert list(client.get("/oppgaver/").context["page"].object_list) == []


def test_case_action_pages_open_for_the_caseworker_of_an_open_case(order, drive, client_for, world):
    client = client_for(world.caseworker)
    page = client.get(case_url(order))
    assert page.context["may_manage"] is True
    assert sorted(_action_links(page, order)) == sorted(
        f"/saker/{order.pk}/{p}" for p in CASE_ACTION_PATHS
    )
    for path in CASE_ACTION_PATHS:
        assert client.get(f"/saker/{order.pk}/{path}").status_code == 200
    drive.appeal(order)
    appeal = Appeal.objects.get(order=order)
    assert client.get(f"/saker/{order.pk}/klage/{appeal.pk}/").status_code == 200


# ============================================================================ 4-5. appeals


def _under_appeal(client, order):
    return client.get(case_url(order)).context["order"].under_appeal


def test_registered_appeal_marks_the_order_under_appeal_while_it_continues(
    order, drive, client_for, world
):
    response = drive.appeal(order, received_on=today() - timedelta(days=2), note="Klage mottatt.")
    assert response.status_code == 302, form_errors(response)
    assert response["Location"] == case_url(order)
    appeal = Appeal.objects.get(order=order)
    assert (appeal.outcome, appeal.registered_by) == ("pending", world.caseworker)
    assert appeal.received_on == today() - timedelta(days=2)
    assert appeal.note == "Klage mottatt."
    assert _under_appeal(client_for(world.caseworker), order) is True
    listed = client_for(world.caseworker).get("/saker/", {"state": "appeal"})
    assert [o.pk for o in listed.context["page"].object_list] == [order.pk]

    # The order stands meanwhile: the municipality still plans, the GP still accepts.
    assert drive.plan(order).status_code == 302
    assert drive.acknowledge(order).status_code == 302
    order = reload(order)
    assert order.status == PROCESS.NEW
    assert open_step_names(order) == ["confirm_completion"]
    assert _under_appeal(client_for(world.leader), order) is True


def test_second_pending_appeal_is_a_form_error(order, drive):
    assert drive.appeal(order).status_code == 302
    before = snapshot(order)
    response = drive.appeal(order, note="Ny klage")
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()  # one pending appeal at a time
    assert Appeal.objects.filter(order=order).count() == 1
    assert snapshot(order) == before


@pytest.mark.parametrize(
    "days_from_decision, days_from_today",
    [(-1, None), (None, 1)],
    ids=["before-decision-date", "in-the-future"],
)
def test_appeal_received_outside_decision_date_and_today_is_a_form_error(
    order, drive, days_from_decision, days_from_today
):
    received = (
        order.decision_date + timedelta(days=days_from_decision)
        if days_from_decision is not None
        else today() + timedelta(days=days_from_today)
    )
    before = snapshot(order)
    response = drive.appeal(order, received_on=received)
    assert response.status_code == 200
    assert "received_on" in response.context["form"].errors
    assert snapshot(order) == before


def test_upheld_appeal_leaves_the_order_open_and_no_longer_under_appeal(
    order, drive, client_for, world
):
    drive.appeal(order, received_on=today() - timedelta(days=5))
    appeal = Appeal.objects.get(order=order)
    assert (
        client_for(world.caseworker).get(f"/saker/{order.pk}/klage/{appeal.pk}/").status_code == 200
    )
    response = drive.decide(
        order,
        appeal,
        "upheld",
        "nemnd",
        today() - timedelta(days=1),
        note="Nemnda opprettholder vedtaket.",
    )
    assert response.status_code == 302, form_errors(response)
    appeal.refresh_from_db()
    assert (appeal.outcome, appeal.decided_by) == ("upheld", "nemnd")
    assert appeal.decided_on == today() - timedelta(days=1)
    assert appeal.decision_note == "Nemnda opprettholder vedtaket."
    order = reload(order)
    assert order.status == PROCESS.NEW
    assert order.withdrawal_reason == ""
    assert open_step_names(order) == ["plan_measures"]
    assert _under_appeal(client_for(world.caseworker), order) is False
    # A decided appeal cannot be decided again (the page says so and goes back to the case),
    # and a new appeal may now be registered.
    again = client_for(world.caseworker).get(f"/saker/{order.pk}/klage/{appeal.pk}/")
    assert (again.status_code, again["Location"]) == (302, f"/saker/{order.pk}/")
    assert drive.appeal(order).status_code == 302
    assert Appeal.objects.filter(order=order, outcome="pending").count() == 1


@pytest.mark.parametrize("decided_by", ["authority", "nemnd"])
def test_reversed_appeal_withdraws_the_order(order_at, drive, client_for, world, decided_by):
    order = order_at("acknowledge")
    drive.appeal(order, received_on=today() - timedelta(days=3))
    appeal = Appeal.objects.get(order=order)
    decided_on = today() - timedelta(days=1)
    response = drive.decide(
        order, appeal, "reversed", decided_by, decided_on, note="Vilkårene var ikke oppfylt."
    )
    assert response.status_code == 302, form_errors(response)

    appeal.refresh_from_db()
    assert (appeal.outcome, appeal.decided_by) == ("reversed", decided_by)
    order = reload(order)
    assert order.status == PROCESS.CANCELED
    assert tasks_of(order, statuses=OPEN) == []
    assert {t.status for t in tasks_of(order, "acknowledge")} == {STATUS.CANCELED}
    # The reason names the appeal's decision: who decided, when, and the note.
    reason = order.withdrawal_reason
    assert "Vilkårene var ikke oppfylt." in reason
    with translation.override(settings.LANGUAGE_CODE):
        assert appeal.get_decided_by_display() in reason
        written = {
            decided_on.isoformat(),
            date_format(decided_on, "SHORT_DATE_FORMAT"),
            date_format(decided_on),
        }
    assert any(date in reason for date in written), reason
    assert _under_appeal(client_for(world.caseworker), order) is False
    _assert_read_only_case_page(client_for(world.caseworker), order)


def test_appeal_pending_when_the_case_is_fulfilled_can_still_be_decided(
    order, drive, client_for, world
):
    drive.appeal(order, received_on=today() - timedelta(days=1))
    appeal = Appeal.objects.get(order=order)
    drive.through_confirmation(order)  # the order stands while the appeal is pending
    assert drive.sign_off(order).status_code == 302
    assert reload(order).status == PROCESS.DONE

    response = drive.decide(order, appeal, "upheld", "nemnd", today())
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.outcome == Appeal.Outcome.UPHELD
    assert reload(order).status == PROCESS.DONE
    assert _under_appeal(client_for(world.caseworker), order) is False


def test_appeal_decision_date_before_receipt_is_a_form_error(order, drive):
    drive.appeal(order, received_on=today() - timedelta(days=2))
    appeal = Appeal.objects.get(order=order)
    before = snapshot(order)
    response = drive.decide(order, appeal, "reversed", "authority", today() - timedelta(days=3))
    assert response.status_code == 200
    assert "decided_on" in response.context["form"].errors
    assert snapshot(order) == before


def test_appeal_outcome_cannot_be_pending(order, drive):
    drive.appeal(order)
    appeal = Appeal.objects.get(order=order)
    before = snapshot(order)
    response = drive.decide(order, appeal, "pending", "nemnd")
    assert response.status_code == 200
    assert "outcome" in response.context["form"].errors
    assert snapshot(order) == before


# ============================================================================ 6. extension


def test_extension_moves_the_deadline(order, drive, world):
    old = order.deadline
    new = old + timedelta(days=60)
    response = drive.extend(order, new, reason="Kurset er utsatt av arrangøren.")
    assert response.status_code == 302, form_errors(response)
    assert response["Location"] == case_url(order)
    assert reload(order).deadline == new
    extension = DeadlineExtension.objects.get(order=order)
    assert (extension.previous_deadline, extension.new_deadline) == (old, new)
    assert extension.reason == "Kurset er utsatt av arrangøren."
    assert extension.extended_by == world.caseworker


def test_extension_is_allowed_at_a_later_stage_and_twice(order_at, drive):
    order = order_at("confirm_completion")
    first = order.deadline + timedelta(days=10)
    second = first + timedelta(days=10)
    assert drive.extend(order, first).status_code == 302
    assert drive.extend(order, second).status_code == 302
    assert reload(order).deadline == second
    assert list(
        DeadlineExtension.objects.filter(order=order)
        .order_by("pk")
        .values_list("previous_deadline", "new_deadline")
    ) == [(order.deadline, first), (first, second)]
    assert open_step_names(order) == ["confirm_completion"]


@pytest.mark.parametrize("days", [0, -1, -30], ids=["same-day", "day-before", "month-before"])
def test_extension_to_an_earlier_or_equal_date_is_a_form_error(order, drive, days):
    before = snapshot(order)
    response = drive.extend(order, order.deadline + timedelta(days=days))
    assert response.status_code == 200
    assert "new_deadline" in response.context["form"].errors
    assert snapshot(order) == before


def test_extension_without_a_reason_is_a_form_error(order, drive):
    before = snapshot(order)
    response = drive.extend(order, order.deadline + timedelta(days=30), reason="   ")
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    assert snapshot(order) == before


# ============================================================================ 7. issue validation


def _days(n, base=None):
    return ((base or today()) + timedelta(days=n)).isoformat()


@pytest.mark.parametrize(
    "overrides, field",
    [
        pytest.param({"hpr_number": "1234567"}, "hpr_number", id="unknown-hpr"),
        pytest.param({"hpr_number": "12ab"}, "hpr_number", id="malformed-hpr"),
        pytest.param(
            {"municipality_number": "9999"}, "municipality_number", id="unknown-municipality"
        ),
        pytest.param(
            {"municipality_number": "301"}, "municipality_number", id="malformed-municipality"
        ),
        pytest.param({"deadline": _days(-15)}, "deadline", id="deadline-before-decision"),
        pytest.param({"deadline": _days(-14)}, "deadline", id="deadline-on-decision-date"),
        pytest.param(
            {"decision_date": _days(1), "deadline": _days(200)},
            "decision_date",
            id="decision-in-future",
        ),
        pytest.param({"case_number": "1234"}, "case_number", id="case-number-without-year"),
        pytest.param({"case_number": "26/1234"}, "case_number", id="case-number-short-year"),
        pytest.param({"case_number": "2026/12345678"}, "case_number", id="case-number-too-long"),
        pytest.param(
            {"case_number": "2026/1234; DROP TABLE"}, "case_number", id="case-number-trailing-junk"
        ),
        pytest.param(
            {"requires_course": None, "requires_supervision": None},
            "requires_course",
            id="neither-course-nor-supervision",
        ),
        pytest.param({"legal_basis": "hpl-57"}, "legal_basis", id="unknown-legal-basis"),
        pytest.param({"decision_date": "2025-13-45"}, "decision_date", id="impossible-date"),
        pytest.param({"grounds_summary": "   "}, "grounds_summary", id="blank-grounds"),
        pytest.param({"requirements": None}, "requirements", id="missing-requirements"),
        pytest.param({"case_number": None}, "case_number", id="missing-case-number"),
        pytest.param({"hpr_number": None}, "hpr_number", id="missing-hpr"),
        pytest.param({"caseworker": None}, "caseworker", id="missing-caseworker"),
        pytest.param({"deadline": None}, "deadline", id="missing-deadline"),
        pytest.param({"decision_date": None}, "decision_date", id="missing-decision-date"),
        pytest.param({"issuing_authority": None}, "issuing_authority", id="missing-authority"),
    ],
)
def test_invalid_issue_form_is_shown_again_with_the_error_and_creates_nothing(
    world, drive, overrides, field
):
    response = drive.issue(**overrides)
    assert response.status_code == 200
    assert field in response.context["form"].errors, response.context["form"].errors
    assert Order.objects.count() == 0


def test_blank_issue_form_reports_every_required_field(world, client_for):
    # A browser posts every text field, empty ones included.
    blank = {name: "" for name in issue_data(world)}
    blank.pop("requires_course")
    response = client_for(world.caseworker).post("/saker/ny/", blank)
    assert response.status_code == 200
    errors = response.context["form"].errors
    for field in (
        "case_number",
        "hpr_number",
        "caseworker",
        "legal_basis",
        "decision_date",
        "grounds_summary",
        "requirements",
        "deadline",
    ):
        assert field in errors
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    "field, other", [("caseworker", "other_caseworker"), ("issuing_authority", "other_authority")]
)
def test_issue_form_offers_only_the_caseworkers_own_authority(world, drive, field, other):
    response = drive.issue(**{field: getattr(world, other).pk})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert Order.objects.count() == 0


def test_duplicate_case_number_is_a_form_error(world, drive):
    drive.issued(number=555)
    response = drive.issue(number=555)
    assert response.status_code == 200
    with translation.override("nb"):
        expected = translation.gettext(
            "The case number %(number)s is already used by this authority."
        ) % {"number": "2026/555"}
    assert response.context["form"].errors["case_number"] == [expected]
    assert Order.objects.count() == 1


def test_responsible_caseworker_must_work_for_the_issuing_authority(world, drive):
    from guardian.shortcuts import assign_perm

    from municipalities.models import ACT_FOR_AUTHORITY

    # A caseworker acting for both authorities issues for the other one, but names a
    # colleague who works only for the first.
    assign_perm(ACT_FOR_AUTHORITY, world.caseworker, world.other_authority)
    response = drive.issue(
        issuing_authority=world.other_authority.pk, caseworker=world.caseworker.pk
    )
    assert response.status_code == 302  # acting for both: fine
    response = drive.issue(
        number=4322, issuing_authority=world.other_authority.pk, caseworker=_colleague_of(world).pk
    )
    assert response.status_code == 200
    assert "caseworker" in response.context["form"].errors
    assert Order.objects.filter(case_number="2026/4322").count() == 0


def _colleague_of(world):
    from tests import factories

    return factories.caseworker_for(world.authority, username="kollega")


def test_caseworker_granted_through_a_group_can_issue_naming_themselves(world, client_for):
    from tests import factories

    user = factories.caseworker_via_group(world.authority, username="gruppe.saksbehandler")
    client = client_for(user)
    assert client.get("/saker/ny/").status_code == 200
    response = client.post("/saker/ny/", issue_data(world, number=777, caseworker=user.pk))
    assert response.status_code == 302, form_errors(response)
    assert Order.objects.get(case_number="2026/777").caseworker == user


@pytest.mark.parametrize("who", ["leader", "gp_user", "other_gp_user"])
def test_only_caseworkers_can_issue_orders(world, client_for, who):
    client = client_for(getattr(world, who))
    assert client.get("/saker/ny/").status_code == 404
    assert client.post("/saker/ny/", issue_data(world)).status_code == 404
    assert Order.objects.count() == 0


def test_anonymous_user_is_sent_to_login_from_the_issue_page(world, client):
    response = client.post("/saker/ny/", issue_data(world))
    assert response.status_code == 302
    assert response["Location"].startswith("/logg-inn/")
    assert Order.objects.count() == 0


# ============================================================================ 8. who may act

# For each step: the parties who can see the order but may not take the step (403), and the
# ones who cannot see the order at all (404).
SEES_BUT_MAY_NOT = {
    "plan_measures": ("gp_user", "caseworker"),
    "acknowledge": ("leader", "caseworker"),
    "confirm_completion": ("gp_user", "caseworker"),
    "sign_off": ("leader", "gp_user"),
}
CANNOT_SEE = ("other_leader", "other_caseworker", "other_gp_user")


def _step_cases(table):
    return [(step, who) for step in STEPS for who in table[step]]


@pytest.mark.parametrize("step, who", _step_cases(SEES_BUT_MAY_NOT))
def test_party_who_sees_the_order_gets_403_on_someone_elses_step(
    order_at, client_for, world, step, who
):
    order = order_at(step)
    task = open_step(order, step)
    before = snapshot(order)
    client = client_for(getattr(world, who))
    assert client.get(case_url(order)).status_code == 200
    assert client.get(step_url(order, task)).status_code == 403
    assert client.post(step_url(order, task), _STEP_DATA[step](order)).status_code == 403
    assert snapshot(order) == before
    assert task.pk not in [t.pk for t in client.get("/oppgaver/").context["page"].object_list]


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("who", CANNOT_SEE)
def test_user_who_cannot_see_the_order_gets_404_on_step(order_at, client_for, world, step, who):
    order = order_at(step)
    task = open_step(order, step)
    before = snapshot(order)
    client = client_for(getattr(world, who))
    assert client.get(case_url(order)).status_code == 404
    assert client.get(step_url(order, task)).status_code == 404
    assert client.post(step_url(order, task), _STEP_DATA[step](order)).status_code == 404
    assert snapshot(order) == before


@pytest.mark.parametrize("step", STEPS)
def test_anonymous_user_is_sent_to_login_from_step(order_at, client, step):
    order = order_at(step)
    client.logout()
    task = open_step(order, step)
    before = snapshot(order)
    response = client.post(step_url(order, task), _STEP_DATA[step](order))
    assert response.status_code == 302
    assert response["Location"].startswith("/logg-inn/?next=")
    assert snapshot(order) == before


def test_step_url_with_task_of_another_order_is_404(order, drive, client_for, world):
    other = drive.issued(number=42)
    other_task = open_step(other, "plan_measures")
    before = snapshot(other)
    response = client_for(world.leader).post(
        step_url(order, other_task), plan_data([course_measure(course())])
    )
    assert response.status_code == 404
    assert snapshot(other) == before
    assert Measure.objects.count() == 0


def test_stand_in_caseworker_granted_the_single_order_may_sign_off(order, drive, world):
    from guardian.shortcuts import assign_perm

    drive.through_confirmation(order)
    assign_perm("orders.act_as_caseworker", world.other_caseworker, order)
    response = drive.sign_off(order, user=world.other_caseworker)
    assert response.status_code == 302, form_errors(response)
    assert Review.objects.get(order=order).decided_by == world.other_caseworker
    assert reload(order).status == PROCESS.DONE


CASE_ACTIONS = {
    "extend": lambda drive, order, user: drive.extend(
        order, order.deadline + timedelta(days=30), user=user
    ),
    "withdraw": lambda drive, order, user: drive.withdraw(order, user=user),
    "appeal": lambda drive, order, user: drive.appeal(order, user=user),
}


@pytest.mark.parametrize("action", CASE_ACTIONS)
@pytest.mark.parametrize(
    "who, status",
    [
        ("leader", 403),
        ("gp_user", 403),
        ("other_leader", 404),
        ("other_caseworker", 404),
        ("other_gp_user", 404),
    ],
)
def test_case_actions_are_refused_to_all_but_the_issuing_authority(
    order, drive, world, action, who, status
):
    before = snapshot(order)
    response = CASE_ACTIONS[action](drive, order, getattr(world, who))
    assert response.status_code == status
    assert snapshot(order) == before


@pytest.mark.parametrize(
    "who, status",
    [("leader", 403), ("gp_user", 403), ("other_leader", 404), ("other_caseworker", 404)],
)
def test_appeal_decision_is_refused_to_all_but_the_issuing_authority(
    order, drive, world, who, status
):
    drive.appeal(order)
    appeal = Appeal.objects.get(order=order)
    before = snapshot(order)
    response = drive.decide(order, appeal, "reversed", "authority", user=getattr(world, who))
    assert response.status_code == status
    assert snapshot(order) == before


@pytest.mark.parametrize("path", ["frist/", "trekk-tilbake/", "klage/"])
def test_anonymous_user_is_sent_to_login_from_case_actions(order, client, path):
    before = snapshot(order)
    response = client.post(f"/saker/{order.pk}/{path}", {"reason": "x", "confirm": "on"})
    assert response.status_code == 302
    assert response["Location"].startswith("/logg-inn/?next=")
    assert snapshot(order) == before
