"""Probing another case's document or step through a case you may see is refused and logged."""

from audit.models import AccessEvent
from courses.models import EvidenceDocument
from tests import factories
from tests.orders import lifecycle


def test_probing_another_cases_document_through_own_case_is_logged_refused(
    world, order, client_for
):
    other_gp = factories.HealthPersonnelFactory(municipality=world.other_municipality)
    other_order = factories.issue_order(
        caseworker=world.other_caseworker, authority=world.other_authority, personnel=other_gp
    )
    lifecycle.advance(other_order, world.other_leader, "sign_off")
    document = EvidenceDocument.objects.filter(order=other_order).first()
    assert document is not None

    response = client_for(world.leader).get(f"/saker/{order.pk}/dokumenter/{document.pk}/")

    assert response.status_code == 404
    event = AccessEvent.objects.get(action="download_document", user=world.leader)
    assert event.outcome == AccessEvent.Outcome.REFUSED
    assert event.case_id == str(order.pk)
    assert event.target_id == str(document.pk)


def test_viewing_a_case_logs_one_shown_event(world, order, client_for):
    client_for(world.gp_user).get(f"/saker/{order.pk}/")
    events = AccessEvent.objects.filter(action="view_case", user=world.gp_user)
    assert [(e.outcome, e.case_id) for e in events] == [("shown", str(order.pk))]
