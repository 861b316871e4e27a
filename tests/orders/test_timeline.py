"""The case timeline: one chronological view of what happened to the case (changes, workflow
steps with who took and who completed them, documents, decisions) and, for the authority only,
who opened it. Paginated, filterable by kind, and the filter survives paging.

Titles are compared with the strings the code defines, rendered in the page's language, so the
tests hold when the lead adds the bokmål translations.
"""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone, translation
from guardian.shortcuts import assign_perm
from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS

import audit
from audit.actions import REFUSED, Action
from audit.models import AccessEvent
from audit.timeline import HistorySource
from orders import access, selectors, services, steps
from orders.models import ACT_AS_CASEWORKER, VIEW_ORDER, Order, Review
from tests import bulk, factories
from tests.orders import lifecycle
from tests.snapshots import snapshot_fixture

RETURN_REASON = "Kursbeviset mangler signatur."


def said(text, **params):
    """``text`` (a message id or lazy string, maybe with %-params) as the page shows it."""
    with translation.override("nb"):
        shown = translation.gettext(text) if isinstance(text, str) else str(text)
        return shown % params if params else shown


def case_page(client, order, **params):
    response = client.get(f"/saker/{order.pk}/", params)
    assert response.status_code == 200
    return response


def timeline(client, order, **params):
    return case_page(client, order, **params).context["timeline"]


def kinds_offered(response):
    return [kind for kind, _label, _checked in response.context["timeline_kinds"]]


@snapshot_fixture
def lived(world, order):
    """Planned, acknowledged, confirmed, sent back, confirmed again, fulfilled: by services."""
    lifecycle.plan(order, world.leader)
    lifecycle.acknowledge(order)
    lifecycle.confirm(order, world.leader, documents=1)
    lifecycle.sign_off(
        order, world.caseworker, outcome=Review.Outcome.RETURNED, reason=RETURN_REASON
    )
    lifecycle.confirm(order, world.leader, documents=1, note="Ettersendt.")
    lifecycle.sign_off(order, world.caseworker)
    return order


# --- workflow steps ------------------------------------------------------------------------


def test_timeline_names_who_took_each_step_and_who_completed_it(lived, world, client_for):
    entries = timeline(client_for(world.caseworker), lived, vis="workflow")
    seen = [(e.title, e.who) for e in entries]
    taken = "Step taken: %(step)s"
    assert (said(taken, step=said("Plan measures")), world.leader) in seen
    assert (said(taken, step=said("Sign off")), world.caseworker) in seen
    # Two confirmation rounds and two sign-offs: each round's taker is named.
    assert seen.count((said(taken, step=said("Confirm completion")), world.leader)) == 2
    assert seen.count((said(taken, step=said("Sign off")), world.caseworker)) == 2
    # The GP's acknowledgement is assigned to them when the step opens, not taken from a queue.
    assert (said("Step assigned: %(step)s", step=said("Acknowledge the plan")), world.gp_user) in (
        seen
    )
    assert (said(steps.STEPS["plan_measures"].done_title), world.leader) in seen
    assert (said(steps.STEPS["acknowledge"].done_title), world.gp_user) in seen
    assert seen.count((said(steps.STEPS["confirm_completion"].done_title), world.leader)) == 2
    assert all(e.who is not None for e in entries)
    assert {e.kind for e in entries} == {"workflow"}


def test_a_step_is_taken_before_it_is_completed(lived, world, client_for):
    entries = timeline(client_for(world.caseworker), lived, vis="workflow")
    plan_taken = next(e for e in entries if e.title.endswith(said("Plan measures")))
    plan_done = next(e for e in entries if e.title == said(steps.STEPS["plan_measures"].done_title))
    assert plan_taken.when <= plan_done.when
    # Newest first: the completion is listed above the taking.
    assert entries.index(plan_done) < entries.index(plan_taken)


def test_a_sign_off_that_sent_the_case_back_reads_as_sent_back(lived, world, client_for):
    entries = timeline(client_for(world.gp_user), lived, vis="workflow")
    sign_offs = [
        e for e in entries if e.title in {said(t) for t in selectors.SIGN_OFF_TITLES.values()}
    ]
    # Newest first: fulfilled, then the return with its reason.
    assert [(e.title, e.who, e.text) for e in sign_offs] == [
        (said(selectors.SIGN_OFF_TITLES[Review.Outcome.FULFILLED]), world.caseworker, ""),
        (
            said(selectors.SIGN_OFF_TITLES[Review.Outcome.RETURNED]),
            world.caseworker,
            RETURN_REASON,
        ),
    ]
    # The generic "reviewed" title is not used when the decision is known.
    assert said(steps.STEPS["sign_off"].done_title) not in [e.title for e in entries]
    assert (
        said("Sent back to the municipality")
        in case_page(client_for(world.gp_user), lived, vis="workflow").content.decode()
    )


def test_open_step_assigned_to_the_gp_is_shown_before_they_act(world, order, client_for):
    lifecycle.plan(order, world.leader)
    entries = timeline(client_for(world.leader), order, vis="workflow")
    assigned = [e for e in entries if e.title.startswith(said("Step assigned: %(step)s", step=""))]
    assert [(e.who, e.when) for e in assigned] == [
        (world.gp_user, lifecycle.open_task(order, "acknowledge").created)
    ]


def test_withdrawn_step_is_not_shown_as_taken_by_the_caseworker(world, order, client_for):
    """Withdrawal writes the canceller into the task's owner: that is no taking of the step."""
    lifecycle.plan(order, world.leader)
    services.withdraw_order(order=order, acting_user=world.caseworker, reason="Opphevet.")
    entries = timeline(client_for(world.caseworker), order, vis="workflow")
    titles = [(e.title, e.who) for e in entries]
    cancelled = said("Step cancelled: %(step)s", step=said("Acknowledge the plan"))
    assert (cancelled, world.caseworker) in titles
    assert not [
        t for t, who in titles if t.endswith(said("Acknowledge the plan")) and t != cancelled
    ]


def test_documents_and_decisions_are_in_the_same_timeline(lived, world, client_for):
    entries = timeline(client_for(world.caseworker), lived)
    assert {e.kind for e in entries} == {"order", "workflow", "measure", "document", "decision"}
    assert [e.when for e in entries] == sorted((e.when for e in entries), reverse=True)
    assert {e.who for e in entries if e.kind == "document"} == {world.leader}


# --- access events: the authority only -----------------------------------------------------


def _read_by(world, order, client_for):
    """The leader and the GP open the case; an outsider tries and is refused."""
    client_for(world.leader).get(f"/saker/{order.pk}/")
    client_for(world.gp_user).get(f"/saker/{order.pk}/")
    assert client_for(world.other_leader).get(f"/saker/{order.pk}/").status_code == 404


def test_caseworker_sees_who_opened_the_case_with_role_and_organisation(world, order, client_for):
    _read_by(world, order, client_for)
    entries = timeline(client_for(world.caseworker), order, vis="access")
    assert {e.kind for e in entries} == {"access"}
    opened = said(Action("view_case").label)
    rows = [(e.title, e.who, e.role, e.organisation, e.refused) for e in entries]
    assert (opened, world.leader, said("Municipal leader"), "Bergen", False) in rows
    assert (
        opened,
        world.gp_user,
        said("The health personnel concerned"),
        "",
        False,
    ) in rows
    # The caseworker's own opening of the page is there too, newest.
    assert rows[0] == (
        opened,
        world.caseworker,
        said("Caseworker"),
        "Statsforvalteren i Vestland",
        False,
    )


def test_refused_attempts_on_the_case_are_shown_as_refused(world, order, client_for):
    _read_by(world, order, client_for)
    # A leader who sees the case tries the GP's own page: refused, logged on the case.
    assert client_for(world.leader).get(f"/saker/{order.pk}/innsyn/").status_code == 404
    entries = timeline(client_for(world.caseworker), order, vis="access")
    refused = [(e.title, e.who, e.organisation) for e in entries if e.refused]
    assert refused == [
        (said(REFUSED[Action("view_case_readers")]), world.leader, "Bergen"),
        (said(REFUSED[Action("view_case")]), world.other_leader, "Trondheim"),
    ]
    page = case_page(client_for(world.caseworker), order, vis="access").content.decode()
    assert said(REFUSED[Action("view_case")]) in page
    assert "Trondheim" in page


def test_access_events_of_other_cases_are_not_in_the_timeline(world, order, client_for):
    other = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.other_gp
    )
    client_for(world.other_gp_user).get(f"/saker/{other.pk}/")
    audit.record(user=world.leader, action=audit.Action.VIEW_CASE, target=other, case=other)
    entries = timeline(client_for(world.caseworker), order, vis="access")
    assert world.other_gp_user not in {e.who for e in entries}
    assert world.leader not in {e.who for e in entries}


def test_access_events_interleave_with_the_history_when_both_are_chosen(world, order, client_for):
    client_for(world.leader).get(f"/saker/{order.pk}/")
    lifecycle.plan(order, world.leader)
    client_for(world.gp_user).get(f"/saker/{order.pk}/")
    entries = timeline(client_for(world.caseworker), order, vis=["access", "workflow"])
    kinds = [e.kind for e in entries]
    assert set(kinds) == {"access", "workflow"}
    assert [e.when for e in entries] == sorted((e.when for e in entries), reverse=True)
    # Not two blocks: the workflow entries sit between the two openings.
    first_workflow, last_workflow = (
        kinds.index("workflow"),
        len(kinds) - 1 - kinds[::-1].index("workflow"),
    )
    assert "access" in kinds[:first_workflow] and "access" in kinds[last_workflow:]


def test_access_log_is_offered_but_not_shown_by_default(world, order, client_for):
    _read_by(world, order, client_for)
    response = case_page(client_for(world.caseworker), order)
    assert "access" in kinds_offered(response)
    assert dict((k, checked) for k, _l, checked in response.context["timeline_kinds"]) == {
        "order": True,
        "workflow": True,
        "measure": True,
        "document": True,
        "decision": True,
        "access": False,
    }
    assert "access" not in {e.kind for e in response.context["timeline"]}


# A supervisor sees no timeline at all (tests/orders/test_supervision_access.py).
@pytest.mark.parametrize("viewer", ["leader", "gp_user", "viewer"])
def test_others_who_see_the_case_get_no_access_log(world, order, client_for, viewer):
    lifecycle.plan(order, world.leader, measures=2, supervisor=world.supervisor)
    grantee = factories.UserFactory(username="innsyn")
    assign_perm(VIEW_ORDER, grantee, order)
    user = {"viewer": grantee}.get(viewer) or getattr(world, viewer)
    _read_by(world, order, client_for)
    response = case_page(client_for(user), order, vis="access")
    assert "access" not in kinds_offered(response)
    assert 'value="access"' not in response.content.decode()
    # The forbidden kind is dropped; the page falls back to the history.
    assert response.context["timeline"]
    assert "access" not in {e.kind for e in response.context["timeline"]}
    assert not access.Capabilities.of(user).may_see_access_events(order)


def test_covering_and_stand_in_caseworkers_see_the_access_log(world, order, client_for):
    helsetilsynet = factories.helsetilsynet()
    national = factories.caseworker_for(helsetilsynet, username="helsetilsynet")
    stand_in = factories.UserFactory(username="stedfortreder")
    assign_perm(ACT_AS_CASEWORKER, stand_in, order)
    # An order Helsetilsynet issued about a GP in Bergen: Vestland covers it without issuing.
    by_helsetilsynet = factories.issue_order(
        caseworker=national,
        authority=helsetilsynet,
        personnel=world.other_gp,
    )
    _read_by(world, order, client_for)
    for user, case in [
        (world.caseworker, order),
        (national, order),
        (stand_in, order),
        (world.caseworker, by_helsetilsynet),
    ]:
        assert access.Capabilities.of(user).may_see_access_events(case), user
        entries = timeline(client_for(user), case, vis="access")
        assert entries and {e.kind for e in entries} == {"access"}, user


def test_caseworker_of_another_statsforvalter_may_not_see_the_access_log(world, order):
    assert not access.Capabilities.of(world.other_caseworker).may_see_access_events(order)


# --- pagination ----------------------------------------------------------------------------


def _many_reads(world, order, count):
    """``count`` openings by the leader: the first through audit.record, the rest copies of
    it as further links of the chain (tests/bulk.py); paging, not writing, is tested here."""
    first = audit.record(
        user=world.leader,
        action=audit.Action.VIEW_CASE,
        target=order,
        case=order,
        capacity=access.Capabilities.of(world.leader).capacity_on(order),
    )
    bulk.more_events_like([first], count - 1)


def test_timeline_is_paginated_and_pages_follow_each_other_without_gaps(world, order, client_for):
    lifecycle.plan(order, world.leader)
    _many_reads(world, order, 120)
    client = client_for(world.caseworker)
    first = case_page(client, order, vis=["access", "workflow", "order"])
    page = first.context["timeline_page"]
    size = selectors.TIMELINE_PAGE_SIZE
    total = page.paginator.count
    assert total > 2 * size
    assert len(first.context["timeline"]) == size
    collected = list(first.context["timeline"])
    for number in range(2, page.paginator.num_pages + 1):
        response = case_page(client, order, vis=["access", "workflow", "order"], tidslinje=number)
        collected += response.context["timeline"]
    # Each request logs one more opening on top, so a page may repeat the previous page's
    # last entry; never does a later page hold anything newer, and the oldest comes last.
    whens = [e.when for e in collected]
    assert whens == sorted(whens, reverse=True)
    assert len(collected) >= total
    assert collected[-1].title == said("Order registered")
    assert {e.kind for e in collected} == {"access", "workflow", "order"}


def test_pages_are_the_newest_first_slices_of_the_whole_merge(world, order, client_for):
    """The paginated merge equals the whole merge sliced: page n fetches only what it needs."""
    lifecycle.plan(order, world.leader)
    _many_reads(world, order, 70)
    kinds = ["access", "workflow", "order", "measure"]
    merged = selectors.timeline_for(order, kinds=kinds)
    everything = list(merged)
    assert len(everything) == merged.count() > 70
    assert [e.when for e in everything] == sorted((e.when for e in everything), reverse=True)
    for start in (0, 50, 100):
        fresh = selectors.timeline_for(order, kinds=kinds)
        assert fresh[start : start + 50] == everything[start : start + 50]
    assert selectors.timeline_for(order, kinds=kinds)[3] == everything[3]


def test_page_links_keep_the_filter_and_use_their_own_parameter(world, order, client_for):
    _many_reads(world, order, 60)
    client = client_for(world.caseworker)
    html = case_page(client, order, vis=["access", "decision"]).content.decode()
    assert 'href="?vis=access&amp;vis=decision&amp;tidslinje=2#tidslinje"' in html
    assert 'aria-label="' in html and 'rel="next"' in html
    second = case_page(client, order, vis=["access", "decision"], tidslinje=2)
    assert second.context["timeline_page"].number == 2
    assert 'href="?vis=access&amp;vis=decision&amp;tidslinje=1#tidslinje"' in (
        second.content.decode()
    )
    # The case list's page parameter does not move the timeline.
    assert case_page(client, order, vis="access", side=2).context["timeline_page"].number == 1


@pytest.mark.parametrize("number", ["0", "999", "abc", "-1"])
def test_out_of_range_timeline_page_shows_a_page_not_an_error(world, order, client_for, number):
    _many_reads(world, order, 60)
    response = case_page(client_for(world.caseworker), order, vis="access", tidslinje=number)
    assert response.context["timeline"]


def test_a_short_timeline_has_no_page_links(world, order, client_for):
    html = case_page(client_for(world.caseworker), order).content.decode()
    assert "tidslinje=" not in html


# --- the timeline's order of events, with the clock moved -----------------------------------


def test_events_at_different_days_are_merged_by_time(world, order, client_for):
    start = timezone.now()
    with time_machine.travel(start + timedelta(days=1), tick=False):
        lifecycle.plan(order, world.leader)
    with time_machine.travel(start + timedelta(days=2), tick=False):
        client_for(world.leader).get(f"/saker/{order.pk}/")
    with time_machine.travel(start + timedelta(days=3), tick=False):
        lifecycle.acknowledge(order)
    entries = timeline(client_for(world.caseworker), order, vis=["access", "workflow"])
    leader_read = next(
        e
        for e in entries
        if e.kind == "access"
        and e.who == world.leader
        and e.when.date() == (start + timedelta(days=2)).date()
    )
    index = entries.index(leader_read)
    assert all(e.when >= leader_read.when for e in entries[:index])
    assert all(e.when <= leader_read.when for e in entries[index + 1 :])
    assert any(e.kind == "workflow" for e in entries[:index])
    assert any(e.kind == "workflow" for e in entries[index + 1 :])
    assert AccessEvent.objects.filter(case_id=str(order.pk)).exists()


# --- deadline side branches ----------------------------------------------------------------


def test_deadline_notices_do_not_read_as_the_case_closing(world, order, client_for):
    """The flow ends its reminder and follow-up branches in End nodes of their own: only the
    flow's closing end says the case is closed."""
    with time_machine.travel(timezone.now() + timedelta(days=400), tick=False):
        call_command("run_deadlines", stdout=StringIO())
    side_ends = Task.objects.filter(process_id=order.pk, flow_task_type="END")
    if not side_ends.exists():
        pytest.skip("no deadline branch ended (the deadline timers are not in this flow)")
    assert Order.objects.get(pk=order.pk).status == PROCESS.NEW
    entries = timeline(client_for(world.caseworker), order, vis="workflow")
    assert said("Case closed: the order is fulfilled") not in [e.title for e in entries]
    assert all(e.who is not None for e in entries)


# --- the sources, as data ------------------------------------------------------------------

# The workflow's entries are read with two queries: its tasks, and the reviews that say how a
# sign-off went (selectors._task_entries).
WORKFLOW_QUERIES = 2


def test_every_timeline_source_is_of_a_kind_the_filter_offers():
    kinds = {source.kind for source in selectors.TIMELINE_SOURCES}
    assert kinds == {*selectors.HISTORY_KINDS, selectors.ACCESS_KIND}
    # Ten history tables, the workflow and the access log.
    assert len(selectors.TIMELINE_SOURCES) == 12


@pytest.mark.parametrize("kind", selectors.HISTORY_KINDS)
def test_each_kind_reads_one_query_per_history_table_however_much_happened(
    world, lived, django_assert_num_queries, kind
):
    """A fresh case and one taken through every step run the same queries for a page of the
    timeline: one per history table of the kind (two for the workflow), however many rows."""
    fresh = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.other_gp
    )
    tables = [
        s for s in selectors.TIMELINE_SOURCES if s.kind == kind and isinstance(s, HistorySource)
    ]
    expected = len(tables) + (WORKFLOW_QUERIES if kind == "workflow" else 0)
    pages = {}
    for case in (fresh, lived):
        with django_assert_num_queries(expected):
            merged = selectors.timeline_for(case, kinds=[kind])
            pages[case] = merged[: selectors.TIMELINE_PAGE_SIZE]
    assert pages[lived] and all(e.kind == kind for e in pages[lived])
    assert len(pages[lived]) >= len(pages[fresh])


def test_the_default_timeline_reads_every_history_table_once(
    world, lived, django_assert_num_queries
):
    tables = sum(isinstance(s, HistorySource) for s in selectors.TIMELINE_SOURCES)
    with django_assert_num_queries(tables + WORKFLOW_QUERIES):
        merged = selectors.timeline_for(lived)
        assert merged.count() > 10
        entries = merged[: selectors.TIMELINE_PAGE_SIZE]
    assert {e.kind for e in entries} == set(selectors.HISTORY_KINDS)
    whens = [e.when for e in entries]
    assert whens == sorted(whens, reverse=True)
