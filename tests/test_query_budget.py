"""Every page a role uses runs at most twelve queries, the case page of a case that has lived a
full life included (issue 14): the session, the user, their capabilities, the access event and
the menu are five of them whatever the page shows. tests/orders/test_query_counts.py and the
other query-count tests check that the counts do not grow with the number of rows; `make bench`
measures the same pages at 10,000 and 100,000 orders."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders import services
from orders.models import Review
from tests import factories
from tests.orders import lifecycle
from tests.snapshots import snapshot_fixture
from tests.web.test_audit_search import security_officer_for

BUDGET = 12


@snapshot_fixture
def cases(world):
    """A case sent back once, with a course and supervision carried out, documents, a deadline
    extension and an appeal; and a case whose supervision is under way (its supervisor's
    access open)."""
    lived = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=11
    )
    lifecycle.plan(lived, world.leader, measures=2)
    lifecycle.acknowledge(lived)
    lifecycle.complete_measures(lived, world.leader)
    lifecycle.confirm(lived, world.leader, documents=2)
    lifecycle.sign_off(lived, world.caseworker, outcome=Review.Outcome.RETURNED, reason="Mangler.")
    services.extend_deadline(
        order=lived,
        acting_user=world.caseworker,
        new_deadline=lived.deadline + timedelta(days=30),
        reason="Kurset er flyttet.",
    )
    services.register_appeal(
        order=lived,
        acting_user=world.caseworker,
        received_on=timezone.localdate(),
        note="Klage mottatt.",
    )
    supervised = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.other_gp, number=12
    )
    lifecycle.plan(supervised, world.leader, measures=2)
    return {"lived": lived, "supervised": supervised}


def statements(queries) -> list:
    """The queries a request sends, less the savepoints of its transactions: a test runs inside
    a transaction of its own, so each atomic block writes SAVEPOINT and RELEASE where a server
    begins and commits a transaction, which Django's query log does not show either."""
    return [q for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def pages(world, cases):
    lived, supervised = cases["lived"].pk, cases["supervised"].pk
    supervisor = cases["supervised"].measures.get(kind="supervision").supervisor.user
    officer = security_officer_for(world.authority, "sikkerhet")
    municipality = f"/kommuner/{world.municipality.number}/"
    return {
        world.caseworker: [
            "/oppgaver/",
            "/saker/",
            "/saker/?q=Bergen",
            "/saker/?due=overdue",
            "/saker/?state=closed",
            f"/saker/{lived}/",
            f"/saker/{lived}/?vis=access",
            "/varsler/",
            "/kommuner/",
            municipality,
        ],
        world.leader: ["/oppgaver/", "/saker/", f"/saker/{lived}/", municipality, "/varsler/"],
        world.gp.user: [
            "/oppgaver/",
            "/saker/",
            f"/saker/{lived}/",
            f"/saker/{lived}/innsyn/",
            "/mine-tiltak/",
            "/varsler/",
        ],
        supervisor: ["/oppgaver/", "/mine-tiltak/", f"/saker/{supervised}/"],
        officer: ["/tilgangslogg/", "/tilgangslogg/?action=view_case"],
    }


def test_every_page_of_every_role_runs_at_most_twelve_queries(world, cases, client_for):
    measured = {}
    for user, urls in pages(world, cases).items():
        client = client_for(user)
        for url in urls:
            client.get(url)  # the first look at a page may load what a session keeps
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            assert response.status_code == 200, (user.username, url, response.status_code)
            measured[user.username, url] = len(statements(queries))
    over = {page: n for page, n in measured.items() if n > BUDGET}
    assert not over, f"pages over {BUDGET} queries: {over}"


@pytest.mark.parametrize("kinds", [[], ["access"], ["order", "workflow", "measure"]])
def test_the_case_page_fetches_its_rows_in_two_queries_whatever_the_timeline_shows(
    world, cases, client_for, kinds
):
    """Rows of the case (tasks, measures, meetings, sessions, documents, decisions, history)
    come in one query and the people they name in one more (orders.selectors.case_rows)."""
    client = client_for(world.caseworker)
    url = f"/saker/{cases['lived'].pk}/"
    client.get(url, {"vis": kinds})
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"vis": kinds})
    assert response.status_code == 200
    row_queries = [q for q in queries if "together_name" in q["sql"]]
    assert len(row_queries) == 1
    context = response.context
    assert len(context["measures"]) == 2 and len(context["documents"]) == 2
    assert [len(c.documents.all()) for c in context["confirmations"]] == [2]
    assert len(context["extensions"]) == 1 and len(context["appeals"]) == 1
    assert context["timeline"], "the timeline shows the case's history"
