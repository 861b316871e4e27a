"""A supervisor (veileder) sees what supervision needs and only while it lasts (issue 10,
point 3): the case page's supervisor view, their own measure and its documents, a recorded
grant that ends when the supervision is complete or the case closes, and 404 afterwards."""

import importlib
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from guardian.shortcuts import assign_perm, get_perms

from audit.models import AccessEvent
from courses import services as course_services
from courses.models import EvidenceDocument, Measure
from municipalities.appointments import ensure_login
from orders import access, services
from orders.models import VIEW_ORDER, Review, SupervisionGrant
from tests import factories
from tests.orders import lifecycle
from tests.orders.http_flow import PDF_BYTES
from tests.snapshots import snapshot_fixture

TODAY = timezone.localdate
GROUNDS = "Begrunnelsen: forskrivning av B-preparater uten journalføring."
REQUIREMENTS = "Motta veiledning fra erfaren allmennlege, minst to timer."
APPEAL_NOTE = "Klagen gjelder fristens lengde."


def pdf(name):
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


@snapshot_fixture
def case(world):
    order = factories.issue_order(
        caseworker=world.caseworker,
        authority=world.authority,
        personnel=world.gp,
        number=4321,
        grounds_summary=GROUNDS,
        requirements=REQUIREMENTS,
        requires_supervision=True,
    )
    later = TODAY() + timedelta(days=60)
    other_supervisor = factories.HealthPersonnelFactory(
        user=None, municipality=world.municipality, name="Ola Annenveileder"
    )
    services.plan_measures(
        task=lifecycle.open_task(order, "plan_measures"),
        acting_user=world.leader,
        measures=[
            {
                "kind": Measure.Kind.SUPERVISION,
                "supervisor": world.supervisor,
                "agreed_sessions": 2,
                "period_start": TODAY() - timedelta(days=30),
                "period_end": later,
                "planned_completion": later,
            },
            {
                "kind": Measure.Kind.SUPERVISION,
                "supervisor": other_supervisor,
                "agreed_sessions": 2,
                "planned_completion": later,
            },
            {
                "kind": Measure.Kind.COURSE,
                "course": factories.course(),
                "planned_completion": later,
            },
        ],
    )
    own, others, course = order.measures.order_by("pk")
    world.supervisor.refresh_from_db()
    supervisor = world.supervisor.user
    own_document = services.add_measure_document(
        measure=own,
        acting_user=supervisor,
        uploaded_file=pdf("veiledningsavtale.pdf"),
        kind=EvidenceDocument.Kind.SUPERVISOR_REPORT,
    )
    course_document = services.add_measure_document(
        measure=course,
        acting_user=world.leader,
        uploaded_file=pdf("kursbevis-annet-tiltak.pdf"),
        kind=EvidenceDocument.Kind.CERTIFICATE,
    )
    services.register_appeal(
        order=order, acting_user=world.caseworker, received_on=TODAY(), note=APPEAL_NOTE
    )
    return {
        "order": order,
        "own": own,
        "others": others,
        "course": course,
        "supervisor": supervisor,
        "own_document": own_document,
        "course_document": course_document,
    }


def case_url(order):
    return f"/saker/{order.pk}/"


def measure_url(measure, suffix=""):
    return f"/saker/{measure.order_id}/tiltak/{measure.pk}/{suffix}"


def document_url(document):
    return f"/saker/{document.order_id}/dokumenter/{document.pk}/"


def complete_own_supervision(client, measure):
    for n in range(2):
        response = client.post(
            measure_url(measure, "timer/"),
            {
                "session-date": (TODAY() - timedelta(days=5 - n)).isoformat(),
                "session-duration_minutes": "60",
                "session-topic": f"Time {n + 1}",
                "session-status": "held",
            },
        )
        assert response.status_code == 302
    return client.post(measure_url(measure, "rapport/"), {"report-report": "Målene er nådd."})


def decide_the_appeal(world, order, outcome="upheld", decided_by="nemnd"):
    """Decide the case's pending appeal (the fixture registers one)."""
    services.decide_appeal(
        appeal=order.appeals.get(),
        acting_user=world.caseworker,
        outcome=outcome,
        decided_by=decided_by,
        decided_on=TODAY(),
    )


def assert_shut_out(client, case, action="view_case"):
    order = case["order"]
    assert client.get(case_url(order)).status_code == 404
    assert client.get(measure_url(case["own"])).status_code == 404
    assert client.get(document_url(case["own_document"])).status_code == 404
    refused = AccessEvent.objects.filter(
        user=case["supervisor"], outcome=AccessEvent.Outcome.REFUSED, case_id=str(order.pk)
    )
    assert refused.filter(action=action, target_id=str(order.pk)).exists()
    assert refused.filter(action="view_measure").exists()
    assert refused.filter(action="download_document").exists()


# --- what the supervisor sees while supervising ------------------------------------------


def test_the_supervisor_sees_who_what_the_deadline_and_their_own_measure(client_for, world, case):
    order = case["order"]
    response = client_for(case["supervisor"]).get(case_url(order))
    assert response.status_code == 200
    html = response.content.decode()
    assert REQUIREMENTS in html
    assert world.gp.name in html and world.gp.hpr_number in html
    assert world.municipality.name in html
    assert order.deadline.strftime("%Y-%m-%d") in html
    assert f'href="{measure_url(case["own"])}"' in html
    assert [m.pk for m in response.context["measures"]] == [case["own"].pk]
    # Not the grounds, the appeal, other measures, their documents, the timeline.
    assert GROUNDS not in html
    assert APPEAL_NOTE not in html
    assert measure_url(case["others"]) not in html
    assert measure_url(case["course"]) not in html
    assert "kursbevis-annet-tiltak.pdf" not in html
    assert "Ola Annenveileder" not in html
    assert 'id="tidslinje"' not in html and "timeline" not in response.context
    assert AccessEvent.objects.filter(
        user=case["supervisor"], action="view_case", outcome="shown", case_id=str(order.pk)
    ).exists()


def test_the_others_on_the_case_still_see_all_of_it(client_for, world, case):
    for user in (world.caseworker, world.leader, world.gp_user):
        html = client_for(user).get(case_url(case["order"])).content.decode()
        assert GROUNDS in html and APPEAL_NOTE in html and 'id="tidslinje"' in html
        assert measure_url(case["others"]) in html


def test_the_supervisor_opens_only_their_own_measure_and_its_documents(client_for, case):
    client = client_for(case["supervisor"])
    page = client.get(measure_url(case["own"]))
    assert page.status_code == 200
    assert "veiledningsavtale.pdf" in page.content.decode()
    assert client.get(document_url(case["own_document"])).status_code == 200

    for other in (case["others"], case["course"]):
        assert client.get(measure_url(other)).status_code == 404
        assert client.post(measure_url(other, "timer/"), {}).status_code == 404
    assert client.get(document_url(case["course_document"])).status_code == 404
    refused = AccessEvent.objects.filter(user=case["supervisor"], outcome="refused")
    assert refused.filter(action="view_measure", target_id=str(case["others"].pk)).exists()
    assert refused.filter(
        action="download_document", target_id=str(case["course_document"].pk)
    ).exists()


def test_a_confirmation_document_is_not_the_supervisors(client_for, world, case):
    """Documents attached at the municipality's confirmation belong to no measure."""
    order = case["order"]
    confirmation_doc = course_services.store_evidence(
        order=order,
        uploaded_file=pdf("bekreftelse.pdf"),
        kind=EvidenceDocument.Kind.OTHER,
        acting_user=world.leader,
    )
    assert client_for(case["supervisor"]).get(document_url(confirmation_doc)).status_code == 404
    assert client_for(world.caseworker).get(document_url(confirmation_doc)).status_code == 200


def test_the_supervisor_takes_no_step_and_manages_nothing(client_for, case):
    client = client_for(case["supervisor"])
    order = case["order"]
    assert client.get(f"/saker/{order.pk}/innsyn/").status_code == 404
    assert client.get(f"/saker/{order.pk}/frist/").status_code == 403
    assert client.get(f"/saker/{order.pk}/klage/").status_code == 403
    assert not access.Capabilities.of(case["supervisor"]).may_see_full_case(order)
    assert not access.Capabilities.of(case["supervisor"]).may_see_access_events(order)


def test_the_grant_is_recorded_with_who_when_why_and_history(world, case):
    grant = SupervisionGrant.objects.get(measure=case["own"])
    assert grant.user == case["supervisor"]
    assert grant.order == case["order"]
    assert grant.granted_by == world.leader
    assert grant.granted_at is not None and grant.ended_at is None
    assert grant.reason == "Utnevnt som veileder i planen"
    assert get_perms(case["supervisor"], case["order"]) == []
    assert grant.history.filter(history_type="+", history_user=world.leader).exists()


def test_my_measures_lists_the_current_supervision(client_for, case):
    response = client_for(case["supervisor"]).get("/mine-tiltak/")
    assert [m.pk for m in response.context["page"].object_list] == [case["own"].pk]


# --- the grant ends ----------------------------------------------------------------------


def test_completing_the_supervision_ends_the_access(client_for, world, case):
    client = client_for(case["supervisor"])
    response = complete_own_supervision(client, case["own"])
    assert response.status_code == 302 and response["Location"] == "/mine-tiltak/"
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("tilgangen din til saken er avsluttet" in m for m in shown), shown

    grant = SupervisionGrant.objects.get(measure=case["own"])
    assert grant.ended_at is not None and grant.ended_by == case["supervisor"]
    assert grant.end_reason == "Veiledningen er fullført"
    assert grant.history.filter(history_type="~", history_change_reason=grant.end_reason)
    assert_shut_out(client, case)
    assert not client.get("/mine-tiltak/").context["page"].object_list
    # The report stays with the case for its other parties.
    page = client_for(world.gp_user).get(measure_url(case["own"]))
    assert "Målene er nådd." in page.content.decode()
    assert client_for(world.caseworker).get(document_url(case["own_document"])).status_code == 200
    # The grant and its end are in the case's timeline, with the reasons.
    html = client_for(world.caseworker).get(case_url(case["order"]) + "?vis=measure")
    html = html.content.decode()
    assert "Veileder fikk tilgang til saken" in html and "Utnevnt som veileder i planen" in html
    assert "Veileders tilgang til saken ble avsluttet" in html
    assert "Veiledningen er fullført" in html


def test_a_report_before_all_sessions_keeps_the_access(client_for, case):
    """The supervision is complete when the agreed sessions are held and reported on."""
    client = client_for(case["supervisor"])
    assert client.post(measure_url(case["own"], "rapport/"), {"report-report": "Så langt."})[
        "Location"
    ] == measure_url(case["own"])
    assert SupervisionGrant.objects.get(measure=case["own"]).ended_at is None
    assert client.get(measure_url(case["own"])).status_code == 200


def test_fulfilling_the_case_ends_the_access_and_a_send_back_renews_it(client_for, world, case):
    order, own = case["order"], case["own"]
    decide_the_appeal(world, order)
    lifecycle.acknowledge(order)
    lifecycle.confirm(order, world.leader)
    grant = SupervisionGrant.objects.get(measure=own)
    assert grant.end_reason == "Kommunen har bekreftet tiltakene; tiltaket er avsluttet"

    # Sent back: the measure, closed as not carried out, opens again; so does the access.
    lifecycle.sign_off(order, world.caseworker, outcome=Review.Outcome.RETURNED, reason="Mer.")
    renewed = SupervisionGrant.objects.get(measure=own, ended_at__isnull=True)
    assert renewed.pk != grant.pk and renewed.granted_by == world.caseworker
    assert renewed.reason == "Tiltaket ble åpnet igjen da saken ble sendt tilbake"
    client = client_for(case["supervisor"])
    assert client.get(measure_url(own)).status_code == 200

    lifecycle.confirm(order, world.leader)
    lifecycle.sign_off(order, world.caseworker)
    assert not SupervisionGrant.objects.filter(order=order, ended_at__isnull=True).exists()
    assert_shut_out(client, case)


def test_fulfilled_sign_off_ends_an_access_still_open(world, case):
    """A grant opened again on an open measure (however it came about) ends at sign-off."""
    order = case["order"]
    decide_the_appeal(world, order)
    lifecycle.acknowledge(order)
    lifecycle.confirm(order, world.leader)
    grant = SupervisionGrant.objects.create(
        order=order,
        measure=case["own"],
        user=case["supervisor"],
        reason="Test",
        granted_by=world.leader,
        granted_at=timezone.now(),
    )
    lifecycle.sign_off(order, world.caseworker)
    grant.refresh_from_db()
    assert grant.end_reason == "Saken er avsluttet som oppfylt"
    assert grant.ended_by == world.caseworker


@pytest.mark.parametrize("how", ["withdrawal", "reversal"])
def test_closing_the_case_ends_the_access(client_for, world, case, how):
    order = case["order"]
    if how == "withdrawal":
        decide_the_appeal(world, order)
        services.withdraw_order(order=order, acting_user=world.caseworker, reason="Feil person.")
    else:
        decide_the_appeal(world, order, outcome="reversed", decided_by="authority")
    grant = SupervisionGrant.objects.get(measure=case["own"])
    assert grant.end_reason == "Pålegget er trukket tilbake og saken er avsluttet"
    assert grant.ended_by == world.caseworker
    assert_shut_out(client_for(case["supervisor"]), case)


def test_the_visible_cases_follow_the_active_grants_only(world, case):
    """The list filter and the per-case rule agree, and both read the grant rows."""
    supervisor, order = case["supervisor"], case["order"]
    assert list(access.Capabilities.of(supervisor).orders_visible()) == [order]
    assert list(access.Capabilities.of(supervisor).supervised_measures_of(order)) == [case["own"]]
    grant = SupervisionGrant.objects.get(measure=case["own"])
    grant.ended_at, grant.end_reason = timezone.now(), "Test"
    grant.save()
    assert list(access.Capabilities.of(supervisor).orders_visible()) == []
    assert list(access.Capabilities.of(supervisor).supervised_measures_of(order)) == []
    assert not access.Capabilities.of(supervisor).is_supervisor_of(case["own"])


# --- existing installs --------------------------------------------------------------------


def test_old_view_grants_of_supervisors_become_recorded_grants(world):
    """The data migration: a supervisor's bare view_order permission becomes a grant row
    (active while the supervision and case are open, else ended) and is removed."""
    name = "0007_supervision_grants_from_permissions"
    migration = importlib.import_module(f"orders.migrations.{name}")
    # The models as the migration sees them (no simple-history signals), at its own state.
    state_apps = MigrationLoader(connection).project_state(("orders", name)).apps
    later = TODAY() + timedelta(days=60)
    login = ensure_login(acting_user=world.leader, personnel=world.supervisor)
    orders = {}
    for name, number in (("open", 7001), ("withdrawn", 7002)):
        order = factories.issue_order(
            caseworker=world.caseworker,
            authority=world.authority,
            personnel=world.gp,
            number=number,
            requires_supervision=True,
        )
        # Measures as the old code left them: no grant row, only the guardian permission.
        course_services.add_measures(
            order=order,
            acting_user=world.leader,
            measures=[
                {
                    "kind": Measure.Kind.SUPERVISION,
                    "supervisor": world.supervisor,
                    "planned_completion": later,
                }
            ],
        )
        assign_perm(VIEW_ORDER, login, order)
        orders[name] = order
    services.withdraw_order(order=orders["withdrawn"], acting_user=world.caseworker, reason="X")
    onlooker = factories.UserFactory(username="innsyn")
    assign_perm(VIEW_ORDER, onlooker, orders["open"])
    assert not SupervisionGrant.objects.exists()

    migration.forwards(state_apps, None)

    active = SupervisionGrant.objects.get(order=orders["open"])
    assert active.ended_at is None and active.user == login and active.granted_by == world.leader
    ended = SupervisionGrant.objects.get(order=orders["withdrawn"])
    assert ended.ended_at is not None and ended.end_reason
    assert active.history.count() == 1 and ended.history.count() == 2
    assert get_perms(login, orders["open"]) == [] and get_perms(login, orders["withdrawn"]) == []
    assert list(access.Capabilities.of(login).orders_visible()) == [orders["open"]]
    # A view grant that was not a supervisor's stays.
    assert get_perms(onlooker, orders["open"]) == ["view_order"]
