"""Innsyn: the health personnel concerned sees who has read their case (Normen, fact sheet 15):
when, who, their organisation and role, and what they opened. Nobody else may see the page;
every look at it is itself logged on the case."""

import pytest
from django.db.models import Max
from django.shortcuts import resolve_url
from django.utils import translation

import audit
from audit.actions import REFUSED, Action
from audit.models import AccessEvent
from orders import access
from tests import factories
from tests.orders import lifecycle
from tests.snapshots import client_for_builders, snapshot_fixture


def said(text):
    with translation.override("nb"):
        return translation.gettext(text) if isinstance(text, str) else str(text)


def readers_url(order):
    return f"/saker/{order.pk}/innsyn/"


def last_sequence():
    return AccessEvent.objects.aggregate(last=Max("sequence"))["last"] or 0


@snapshot_fixture
def read_case(world, order):
    """The case at sign-off, supervised by ``world.supervisor``; opened by the caseworker, the
    leader (who also downloads the document) and the supervisor (who opens their measure).
    Another case of the same municipality is read by a colleague of the caseworker."""
    client_for = client_for_builders()
    lifecycle.plan(order, world.leader, measures=2, supervisor=world.supervisor)
    lifecycle.acknowledge(order)
    world.supervisor.refresh_from_db()
    supervision = order.measures.get(supervisor=world.supervisor)
    # The supervisor reads while supervising: the confirmation closes the measure and ends
    # their access to the case.
    supervisor = client_for(world.supervisor.user)
    assert supervisor.get(f"/saker/{order.pk}/tiltak/{supervision.pk}/").status_code == 200
    lifecycle.confirm(order, world.leader, documents=1)
    document = order.documents.get()

    assert client_for(world.caseworker).get(f"/saker/{order.pk}/").status_code == 200
    leader = client_for(world.leader)
    assert leader.get(f"/saker/{order.pk}/").status_code == 200
    download = leader.get(f"/saker/{order.pk}/dokumenter/{document.pk}/")
    assert download.status_code == 200
    # Reading to the end closes the file; closing the response again would fire
    # request_finished and close the test's database connection (PostgreSQL).
    b"".join(download.streaming_content)

    other = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.other_gp
    )
    colleague = factories.caseworker_for(world.authority, username="kollega")
    assert client_for(colleague).get(f"/saker/{other.pk}/").status_code == 200
    # Refused attempts on this case: an outsider, and the leader trying the GP's own page.
    assert client_for(world.other_leader).get(f"/saker/{order.pk}/").status_code == 404
    assert client_for(world.leader).get(readers_url(order)).status_code == 404
    order.colleague = colleague
    order.other = other
    return order


def test_gp_sees_exactly_who_read_their_case(world, read_case, client_for):
    response = client_for(world.gp_user).get(readers_url(read_case))
    assert response.status_code == 200
    reads = response.context["reads"]
    supervisor = world.supervisor.user
    assert {r.who for r in reads} == {world.caseworker, world.leader, supervisor, world.gp_user}
    rows = {(r.who, r.title, r.role, r.organisation) for r in reads}
    opened, downloaded, measure = (
        said(Action(a).label) for a in ("view_case", "download_document", "view_measure")
    )
    assert (
        world.caseworker,
        opened,
        said("Caseworker"),
        "Statsforvalteren i Vestland",
    ) in rows
    assert (world.leader, opened, said("Municipal leader"), "Bergen") in rows
    assert (world.leader, downloaded, said("Municipal leader"), "Bergen") in rows
    assert (supervisor, measure, said("Supervisor"), "") in rows
    # Nothing refused, and exactly the shown events logged on this case.
    assert not any(r.refused for r in reads)
    shown = AccessEvent.objects.filter(case_id=str(read_case.pk), outcome="shown")
    assert len(reads) == shown.count()


def test_reads_of_other_cases_and_refused_attempts_are_not_listed(world, read_case, client_for):
    response = client_for(world.gp_user).get(readers_url(read_case))
    who = {r.who for r in response.context["reads"]}
    assert read_case.colleague not in who
    assert world.other_leader not in who
    html = response.content.decode()
    assert read_case.colleague.get_full_name() not in html
    assert world.other_leader.get_full_name() not in html
    assert said(REFUSED[Action("view_case_readers")]) not in html


def test_the_page_shows_name_organisation_role_and_action_in_a_table(world, read_case, client_for):
    html = client_for(world.gp_user).get(readers_url(read_case)).content.decode()
    assert "<caption" in html and '<th scope="col">' in html and '<th scope="row">' in html
    for person in (world.caseworker, world.leader, world.supervisor.user):
        assert person.get_full_name() in html
    assert "Statsforvalteren i Vestland" in html
    assert said(Action("download_document").label) in html


def test_gps_own_reads_are_marked_as_theirs_newest_first(world, read_case, client_for):
    client = client_for(world.gp_user)
    client.get(f"/saker/{read_case.pk}/")
    response = client.get(readers_url(read_case))
    reads = response.context["reads"]
    # Newest first: looking at this page is itself the newest read.
    assert (reads[0].who, reads[0].title) == (
        world.gp_user,
        said(Action("view_case_readers").label),
    )
    assert (reads[1].who, reads[1].title) == (
        world.gp_user,
        said(Action("view_case").label),
    )
    assert [r.when for r in reads] == sorted((r.when for r in reads), reverse=True)
    with translation.override("nb"):
        you = translation.gettext("You (%(name)s)") % {"name": world.gp_user.get_full_name()}
    assert you in response.content.decode()


def test_viewing_the_page_is_logged_as_an_access_to_the_case(world, read_case, client_for):
    client = client_for(world.gp_user)  # logging in is an event of its own
    before = last_sequence()
    client.get(readers_url(read_case))
    events = list(AccessEvent.objects.filter(sequence__gt=before))
    assert [(e.action, e.outcome, e.case_id, e.user, e.role) for e in events] == [
        ("view_case_readers", "shown", str(read_case.pk), world.gp_user, "personnel")
    ]


@pytest.mark.parametrize(
    "who", ["other_gp_user", "leader", "caseworker", "other_leader", "other_caseworker"]
)
def test_anyone_but_the_gp_concerned_gets_404_and_is_logged(world, order, client_for, who):
    user = getattr(world, who)
    client = client_for(user)  # logging in is an event of its own
    before = last_sequence()
    response = client.get(readers_url(order))
    assert response.status_code == 404
    events = list(AccessEvent.objects.filter(sequence__gt=before))
    assert [(e.action, e.outcome, e.user) for e in events] == [
        ("view_case_readers", "refused", user)
    ]


def test_supervisor_of_the_case_gets_404(world, order, client_for):
    lifecycle.plan(order, world.leader, measures=2, supervisor=world.supervisor)
    world.supervisor.refresh_from_db()
    assert client_for(world.supervisor.user).get(readers_url(order)).status_code == 404


def test_missing_case_gets_404(world, order, client_for):
    assert client_for(world.gp_user).get(f"/saker/{order.pk + 10_000}/innsyn/").status_code == 404


def test_anonymous_user_is_sent_to_login(order, client, settings):
    response = client.get(readers_url(order))
    assert response.status_code == 302
    assert response["Location"].startswith(resolve_url(settings.LOGIN_URL))


def test_only_the_gp_gets_a_link_to_the_page_on_the_case(world, order, client_for):
    link = f'href="{readers_url(order)}"'
    assert link in client_for(world.gp_user).get(f"/saker/{order.pk}/").content.decode()
    for user in (world.caseworker, world.leader):
        assert link not in client_for(user).get(f"/saker/{order.pk}/").content.decode()


def test_reads_are_paginated(world, order, client_for, settings):
    for _ in range(settings.PAGE_SIZE + 3):
        audit.record(
            user=world.leader,
            action=audit.Action.VIEW_CASE,
            target=order,
            case=order,
            capacity=access.Capabilities.of(world.leader).capacity_on(order),
        )
    client = client_for(world.gp_user)
    first = client.get(readers_url(order))
    assert first.context["page"].paginator.count == settings.PAGE_SIZE + 4
    assert len(first.context["reads"]) == settings.PAGE_SIZE
    html = first.content.decode()
    assert 'href="?side=2"' in html and "<nav" in html
    second = client.get(readers_url(order), {"side": 2})
    assert second.context["page"].number == 2
    assert len(second.context["reads"]) == 5  # one more: the second look at the page
