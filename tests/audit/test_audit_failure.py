"""No log, no data: when the access log cannot be written, the page answers 503 and shows
nothing of the case.

The database really refuses: a trigger created for the test aborts every INSERT into
audit_accessevent (the DDL rolls back with the test's transaction). No mocks.
"""

import pytest

import audit
from audit import chain
from audit.models import AccessEvent, ChainHead
from courses.models import EvidenceDocument
from tests.orders import lifecycle

from .helpers import audit_store_refusing_writes, record_events


@pytest.fixture
def document(world, order):
    lifecycle.advance(order, world.leader, "sign_off")
    document = EvidenceDocument.objects.filter(order=order).first()
    assert document is not None
    return document


def file_bytes(document):
    with document.file.open("rb") as handle:
        return handle.read()


def events_now():
    return AccessEvent.objects.count(), ChainHead.objects.filter(pk=1).first()


def test_a_refused_write_raises_audit_write_failed(db):
    record_events(1)
    with audit_store_refusing_writes():
        with pytest.raises(audit.AuditWriteFailed):
            audit.record(action=audit.Action.VIEW_CASE, target="order:1")

    assert AccessEvent.objects.count() == 1
    assert chain.verify().broken is None


def test_a_refused_write_is_logged_by_its_kind_and_code_not_the_databases_text(db, caplog):
    """The database's text can quote the refused row's values (PostgreSQL: "Failing row
    contains ..."), and with it a person's name in the event's detail."""
    with audit_store_refusing_writes(), caplog.at_level("ERROR", logger="audit"):
        with pytest.raises(audit.AuditWriteFailed):
            audit.record(action=audit.Action.VIEW_CASE, target="order:1", detail="Ingrid Kvam")
    (line,) = [r.getMessage() for r in caplog.records if r.name == "audit"]
    assert line.startswith("Access event view_case on order could not be written (")
    assert "P0001" in line or "SQLITE_CONSTRAINT_TRIGGER" in line
    assert "audit store down" not in caplog.text and "Ingrid" not in caplog.text


def test_case_page_is_not_shown_when_its_reading_cannot_be_logged(world, order, client_for):
    client = client_for(world.caseworker)
    url = f"/saker/{order.pk}/"
    # The same request with the log working shows the case: the check below means something.
    shown = client.get(url)
    assert shown.status_code == 200
    assert order.case_number in shown.content.decode()
    assert world.gp.name in shown.content.decode()
    before = events_now()

    with audit_store_refusing_writes():
        response = client.get(url)

    assert response.status_code == 503
    body = response.content.decode()
    assert order.case_number not in body
    assert world.gp.name not in body
    assert order.requirements not in body
    assert "audit/unavailable.html" in [t.name for t in response.templates]
    assert events_now() == before
    assert chain.verify().broken is None


def test_document_is_not_sent_when_its_download_cannot_be_logged(
    world, order, document, client_for
):
    client = client_for(world.caseworker)
    url = f"/saker/{order.pk}/dokumenter/{document.pk}/"
    content = file_bytes(document)
    assert content
    shown = client.get(url)
    assert shown.status_code == 200
    assert b"".join(shown.streaming_content) == content
    before = events_now()

    with audit_store_refusing_writes():
        response = client.get(url)

    assert response.status_code == 503
    assert not response.streaming
    assert content not in response.content
    assert document.original_name not in response.content.decode()
    assert "attachment" not in response.get("Content-Disposition", "")
    assert events_now() == before


def test_search_results_are_not_shown_when_the_search_cannot_be_logged(world, order, client_for):
    client = client_for(world.caseworker)
    url = f"/saker/?q={order.case_number}"
    shown = client.get(url)
    assert shown.status_code == 200
    assert world.gp.name in shown.content.decode()

    with audit_store_refusing_writes():
        response = client.get(url)

    assert response.status_code == 503
    assert world.gp.name not in response.content.decode()


def test_pages_come_back_once_the_log_can_be_written_again(world, order, client_for):
    client = client_for(world.caseworker)
    with audit_store_refusing_writes():
        assert client.get(f"/saker/{order.pk}/").status_code == 503

    response = client.get(f"/saker/{order.pk}/")

    assert response.status_code == 200
    assert order.case_number in response.content.decode()
    event = AccessEvent.objects.filter(action="view_case").order_by("-sequence").first()
    assert (event.user, event.case_id) == (world.caseworker, str(order.pk))
    assert chain.verify().broken is None


def test_a_session_end_that_cannot_be_logged_is_a_503_not_a_500(world, client_for, time_machine):
    from datetime import timedelta

    from django.utils import timezone

    client = client_for(world.caseworker)
    assert client.get("/oppgaver/").status_code == 200
    # Idle past the limit: the session middleware logs the end before any view runs.
    time_machine.move_to(timezone.now() + timedelta(minutes=31))
    before = events_now()

    with audit_store_refusing_writes():
        response = client.get("/oppgaver/")

    assert response.status_code == 503
    assert "audit/unavailable.html" in [t.name for t in response.templates]
    assert events_now() == before
