"""The access log names things as a person reads them: the capacity someone really acted in
(a GP who is not the case's subject is «Helsepersonell», a supervisor «Veileder»), every action
in Norwegian words from one vocabulary (audit.actions.Action), and every object by what it is
(«sak 2026/1234», the measure, a document by its name) — never a foreign case's number."""

import ast
import csv
import io
import itertools
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

import audit
from audit.actions import REFUSED, Action, label
from audit.models import AccessEvent, Role
from courses.actions import MEASURE_ACTIONS
from courses.models import Measure
from orders import access
from tests import factories
from tests.orders import lifecycle
from tests.web.test_audit_search import security_officer_for

SEARCH, EXPORT = "/tilgangslogg/", "/tilgangslogg/eksport.csv"


@pytest.fixture
def officer(world):
    return security_officer_for(world.authority, "sikkerhet.a")


def newest_event():
    return AccessEvent.objects.order_by("-sequence").first()


def role_shown(event):
    with translation.override("nb"):
        return str(event.get_role_display())


# --- the capacity of a refused attempt ----------------------------------------------------


def test_a_gp_refused_another_gps_case_is_logged_as_health_personnel(world, client_for, order):
    other = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.other_gp
    )
    response = client_for(world.gp_user).get(reverse("orders:case_detail", args=[other.pk]))

    assert response.status_code == 404
    event = newest_event()
    assert (event.user, event.outcome, event.case_id) == (world.gp_user, "refused", str(other.pk))
    assert event.role == Role.HEALTH_PERSONNEL
    assert role_shown(event) == "Helsepersonell"
    assert role_shown(event) != "Helsepersonellet saken gjelder"


def test_the_subject_on_their_own_case_is_still_the_health_personnel_concerned(
    world, client_for, order
):
    client_for(world.gp_user).get(reverse("orders:case_detail", args=[order.pk]))
    assert role_shown(newest_event()) == "Helsepersonellet saken gjelder"


def test_a_supervisor_refused_a_case_they_do_not_supervise_is_logged_as_supervisor(
    world, client_for, order
):
    lifecycle.plan(order, world.leader, measures=2, supervisor=world.supervisor)
    world.supervisor.refresh_from_db()
    supervisor = world.supervisor.user
    assert supervisor is not None
    other = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.other_gp
    )

    response = client_for(supervisor).get(reverse("orders:case_detail", args=[other.pk]))

    assert response.status_code == 404
    event = newest_event()
    assert (event.user, event.outcome, event.role) == (supervisor, "refused", Role.SUPERVISOR)
    assert role_shown(event) == "Veileder"
    assert event.authority_id == world.authority.pk


# --- one vocabulary of actions ------------------------------------------------------------


def test_an_action_outside_the_vocabulary_is_refused():
    with pytest.raises(ValueError, match="no_such_action"):
        audit.record(action="no_such_action", target="order:1")


def test_a_string_that_matches_an_action_is_refused_too(db):
    """The vocabulary is the enum, not its codes: a caller names a member, so renaming one
    cannot leave a string behind that still happens to be written."""
    with pytest.raises(ValueError, match="view_case"):
        audit.record(action="view_case", target="order:1")
    assert not AccessEvent.objects.filter(target_id="1", target_type="order").exists()


def test_every_action_has_a_shown_and_a_refused_label_in_norwegian():
    with translation.override("nb"):
        for action in Action:
            assert action in REFUSED, action
            shown, refused = str(action.label), str(REFUSED[action])
            assert shown != action.value and refused != shown, action


def test_every_measure_action_is_in_the_vocabulary():
    logged = [row.logged_as for row in MEASURE_ACTIONS.values()]
    assert len(set(logged)) == len(MEASURE_ACTIONS)
    assert all(isinstance(code, Action) for code in logged)


# Where an action reaches the log, and at which position it is passed.
ACTION_ARGUMENT = {
    "record": None,
    "log_access": 1,
    "_scope_for": 1,
    "_record": 2,
    "probed": 2,
    "visible_order": 2,
    "_visible_measure": 3,
}


def _calls():
    """Every call in the apps' code: (path, the call, the name called)."""
    root = Path(settings.BASE_DIR)
    for folder in ("orders", "audit", "courses", "municipalities", "config"):
        for path in (root / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call):
                    func = node.func
                    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                    yield path.relative_to(root), node, name


def _call_sites():
    for path, node, name in _calls():
        if name in ACTION_ARGUMENT:
            yield path, node, name


def test_no_call_site_passes_a_raw_string_as_action():
    """Every caller names its action from audit.Action, so the log can always say in words what
    someone did; a new action without a label cannot slip in as a string."""
    raw, seen = [], 0
    for path, call, name in _call_sites():
        given = [k.value for k in call.keywords if k.arg == "action"]
        position = ACTION_ARGUMENT[name]
        if position is not None and len(call.args) > position:
            given.append(call.args[position])
        for value in given:
            seen += 1
            if isinstance(value, ast.JoinedStr) or (
                isinstance(value, ast.Constant) and isinstance(value.value, str)
            ):
                raw.append(f"{path}:{call.lineno} {name}")
    assert seen > 20  # the scan found the call sites
    assert raw == []


def test_no_action_is_looked_up_from_a_string_built_in_the_code():
    """``audit.Action(f"measure_{name}")`` would be a second vocabulary in disguise: every
    member is named, so a search for it finds every place it is logged."""
    built, seen = [], 0
    for path, node, name in _calls():
        if name != "Action" or not node.args:
            continue
        seen += 1
        first = node.args[0]
        if isinstance(first, ast.JoinedStr | ast.BinOp) or (
            isinstance(first, ast.Constant) and isinstance(first.value, str)
        ):
            built.append(f"{path}:{node.lineno}")
    assert seen  # the scan found audit.actions.label's own lookup at least
    assert built == []


# --- labels on the search page, the export and the timeline -------------------------------


@pytest.fixture
def logged(world, order, client_for):
    """The GP looks at who has read their case; someone is refused recording attendance on its
    course; a refused probe names a measure of another authority's case and one that never
    existed."""
    lifecycle.plan(order, world.leader)
    measure = Measure.objects.get(order=order, kind=Measure.Kind.COURSE)
    assert client_for(world.gp_user).get(f"/saker/{order.pk}/innsyn/").status_code == 200
    capacity = access.Capabilities.of(world.other_gp_user).capacity_on(order)
    audit.record(
        user=world.other_gp_user,
        action=Action.MEASURE_ATTENDANCE,
        target=measure,
        outcome="refused",
        case=order,
        capacity=capacity,
    )
    foreign = factories.issue_order(
        caseworker=world.other_caseworker,
        authority=world.other_authority,
        personnel=factories.HealthPersonnelFactory(municipality=world.other_municipality),
        number=7777,
    )
    lifecycle.plan(foreign, world.other_leader)
    foreign_measure = foreign.measures.get()
    for target in (f"measure:{foreign_measure.pk}", "measure:987654"):
        audit.record(
            user=world.leader,
            action=Action.VIEW_MEASURE,
            target=target,
            outcome="refused",
            case=order,
            capacity=access.Capabilities.of(world.leader).capacity_on(order),
        )
    measure.foreign_pk = foreign_measure.pk
    return measure


def test_the_search_page_says_what_was_done_to_what_in_norwegian(
    world, order, logged, officer, client_for
):
    html = client_for(officer).get(SEARCH).content.decode()
    table = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]

    assert "Så på hvem som har sett saken" in table
    assert "Avvist forsøk på å registrere oppmøte" in table
    assert "sak 2026/1234" in table
    assert f"tiltak: {logged} i sak 2026/1234" in table
    assert f"tiltak (id {logged.foreign_pk}, ikke funnet)" in table
    assert "tiltak (id 987654, ikke funnet)" in table
    for raw in ("view_case_readers", "measure_attendance", "orders.order", "courses.measure"):
        assert raw not in table
    assert "2026/7777" not in html  # the other authority's case stays unnamed


def test_the_export_has_the_label_the_code_and_the_object(
    world, order, logged, officer, client_for
):
    response = client_for(officer).get(EXPORT)
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    columns = [dict(zip(header, row, strict=True)) for row in rows]
    attendance = next(c for c in columns if c["Handlingskode"] == "measure_attendance")
    assert attendance["Handling"] == "Avvist forsøk på å registrere oppmøte"
    assert attendance["Objekt"] == f"tiltak: {logged} i sak 2026/1234"
    readers = next(c for c in columns if c["Handlingskode"] == "view_case_readers")
    assert readers["Objekt"] == "sak 2026/1234"
    assert "2026/7777" not in body


def test_the_timeline_names_actions_and_objects_in_norwegian(world, order, logged, client_for):
    response = client_for(world.caseworker).get(
        reverse("orders:case_detail", args=[order.pk]), {"vis": "access"}
    )
    html = response.content.decode()
    timeline = html.split('id="tidslinje"', 1)[1]
    assert "Så på hvem som har sett saken" in timeline
    assert "Avvist forsøk på å registrere oppmøte" in timeline
    assert f"tiltak: {logged} i sak 2026/1234" in timeline
    assert "measure_attendance" not in timeline and "view_case_readers" not in timeline
    assert "2026/7777" not in html


def test_labelling_objects_costs_the_same_queries_for_5_and_100_events(
    world, order, officer, client_for, django_assert_max_num_queries
):
    lifecycle.plan(order, world.leader)
    measure = order.measures.get()

    def write(n):
        for i in range(n):
            audit.record(
                user=world.caseworker,
                action=[Action.VIEW_CASE, Action.VIEW_MEASURE][i % 2],
                target=[order, measure][i % 2],
                case=order,
                capacity=access.Capabilities.of(world.caseworker).capacity_on(order),
            )

    write(5)
    client = client_for(officer)
    client.get(SEARCH)
    with CaptureQueriesContext(connection) as small:
        client.get(SEARCH)
    write(95)
    with django_assert_max_num_queries(len(small)):
        response = client.get(SEARCH)
    assert "tiltak: " in response.content.decode()


# --- one label for one event, on every page that shows it ---------------------------------


def _collect(client, url, params, page_param, page_key, entries_key, *, keep):
    """{what was opened: what was done} over every page of ``url`` (each visit to a case page
    is logged on the case too, so the pages are followed until the last one as it is then)."""
    said, number = {}, 1
    while True:
        response = client.get(url, {**params, page_param: number})
        assert response.status_code == 200
        for item in response.context[entries_key]:
            text, title = keep(item)
            if text is not None:
                said.setdefault(text, set()).add(title)
        if number >= response.context[page_key].paginator.num_pages:
            return said
        number += 1


def test_the_search_page_the_timeline_and_innsyn_say_the_same_for_every_action(
    world, order, officer, client_for
):
    """Every action, shown and refused, on one case: the security officer's search page, the
    case timeline and the GP's innsyn page (reads only) each say what was done in the words of
    audit.actions, and the same words for the same event."""
    capacity = access.Capabilities.of(world.leader).capacity_on(order)
    expected = {}
    with translation.override("nb"):
        for n, (action, outcome) in enumerate(
            itertools.product(Action, ("shown", "refused")), start=10
        ):
            audit.record(
                user=world.leader,
                action=action,
                target=f"export:{n}",
                outcome=outcome,
                case=order,
                capacity=capacity,
            )
            expected[n] = (label(action, refused=outcome == "refused"), outcome)

    def ours(text):
        # Only the events written above name an export; the pages' own reads name the case.
        found = re.search(r"\b(\d+)\b", text or "")
        return int(found.group(1)) if found and int(found.group(1)) in expected else None

    def entry(item):
        n = ours(item.text)
        return (n, item.title) if n is not None else (None, None)

    def event(item):
        n = ours(item.target_label)
        return (n, item.action_label) if n is not None else (None, None)

    url = reverse("orders:case_detail", args=[order.pk])
    timeline = _collect(
        client_for(world.caseworker),
        url,
        {"vis": "access"},
        "tidslinje",
        "timeline_page",
        "timeline",
        keep=entry,
    )
    readers = _collect(
        client_for(world.gp_user),
        f"/saker/{order.pk}/innsyn/",
        {},
        "side",
        "page",
        "reads",
        keep=entry,
    )
    search = _collect(
        client_for(officer), SEARCH, {"case": order.case_number}, "side", "page", "page", keep=event
    )

    words = {n: {said} for n, (said, _outcome) in expected.items()}
    assert len(words) == 2 * len(Action)
    assert search == words
    assert timeline == words
    assert readers == {n: said for n, said in words.items() if expected[n][1] == "shown"}


@pytest.mark.parametrize(
    ("target", "said"),
    [("search:12", "søk med 12 treff"), ("search:>10000", "søk med mer enn 10000 treff")],
)
def test_a_search_is_named_by_its_hits_also_past_the_count_cap(world, target, said):
    """The access-log search counts at most 10,000 matches (audit.selectors) and logs itself
    as «more than» that; the log names both kinds of search in words."""
    from orders.selectors import describe_targets

    event = audit.record(user=world.caseworker, action=Action.SEARCH_AUDIT, target=target)
    with translation.override("nb"):
        (described,) = describe_targets([event])
        assert str(described.target_label) == said
