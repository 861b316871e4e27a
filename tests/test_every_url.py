"""Generated leak test: every URL pattern Django knows, requested by every kind of user with
the ids of objects they must not see (and their own), by GET and by a plausible POST.

The URL list comes from the resolver, so a new page is covered without anyone listing it; a
new path parameter fails ``test_every_route_parameter_can_be_filled`` until the harness is
taught which object it names (PARAM_KINDS / PK_KINDS) and what junk its converter lets
through (CONVERTER_JUNK).

For each request: no 5xx; on a foreign object no 200 (a redirect to the login page is fine);
no foreign case number, person's name or HPR number in any body; and no write by anyone who
may not write there (row counts of every domain table, history tables included, before and
after; access events are expected). Every request runs in a savepoint that is rolled back,
so the world stays the same for the next one.
"""

import logging
import re
from dataclasses import dataclass, field

import pytest
from django.contrib.auth import SESSION_KEY
from django.db import transaction
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from tests.probe_world import Side, body_from, changed, client_as, row_counts

ACT, READ, FOREIGN = 2, 1, 0

# Which object each path parameter names. ``pk`` depends on the route (PK_KINDS); under
# saker/<id:pk>/ it is the order.
PARAM_KINDS = {
    "task_pk": "task",
    "appeal_pk": "appeal",
    "document_pk": "document",
    "measure_pk": "measure",
    "meeting_pk": "meeting",
    "number": "municipality",
    "provider": "oidc_provider",
    # An invitation link is public: whoever holds the token may open it (tested on its own in
    # tests/municipalities/test_invitations.py); here it must only not leak or write.
    "token": "invitation_token",
}
PK_KINDS = {
    "orders:notification": "notification",
    "municipalities:authority_detail": "authority",
    "municipalities:appoint_to_authority": "authority",
    "municipalities:unlock_account": "authority",
    "municipalities:end_appointment": "appointment",
    "municipalities:resend_invitation": "invitation",
    "municipalities:revoke_invitation": "invitation",
    "courses:course_detail": "course",
    "courses:course_edit": "course",
}
CASE_KINDS = {"order", "task", "appeal", "document", "measure", "meeting"}
# Parameters of public link pages that name no object of the world: a value of the right
# shape that names nothing (the page then says the link cannot be used).
LINK_PARAMS = {
    ("password_reset_confirm", "uidb64"): "MQ",
    ("password_reset_confirm", "token"): "set-password",
}

# What each converter lets through that no object has: sent by test_junk_path_parameters.
CONVERTER_JUNK = {
    "DatabaseId": ["0", "9" * 18],
    # Four digits by shape; none of these is a municipality.
    "MunicipalityNumber": ["0000", "9999"],
    # Shaped like a provider name, but not one that is configured.
    "OIDCProvider": ["nosuchprovider", "a" + "9" * 49],
    "StringConverter": ["%00", "a%00b", "%ff%fe", "x" * 300],
    "IntConverter": ["0", "9" * 30],
    # The shape of a token (base64url, 43 characters), but no invitation's.
    "InvitationToken": ["A" * 43, "-" * 20, "z9_" * 33],
    "PasswordResetUser": ["AAAA", "_" * 24, "OTk5OTk5OTk5OTk5OTk5OTk5OTk5"[:24]],
    "PasswordResetToken": ["0-" + "0" * 20, "zzzzzzzzzzzzz-" + "f" * 64],
}

# Who sees what of the two corners (sides A and B) of the world. Not listed: foreign.
LEVELS = {
    "caseworker": {"case": {"A": ACT}, "authority": {"A": READ}, "municipality": {"A": READ}},
    "other_caseworker": {
        "case": {"B": ACT},
        "authority": {"B": READ},
        "municipality": {"B": READ},
    },
    "helsetilsynet": {"case": {"A": READ, "B": READ}, "municipality": {"A": READ, "B": READ}},
    "administrator": {
        "authority": {"A": ACT},
        "municipality": {"A": ACT},
        "appointment": {"A": ACT},
        "invitation": {"A": ACT},
        "course": {"A": ACT, "B": ACT},
    },
    "security_officer": {
        "case": {"A": READ},
        "authority": {"A": READ},
        "municipality": {"A": READ},
    },
    "leader": {"case": {"A": ACT}, "municipality": {"A": READ}},
    "other_leader": {"case": {"B": ACT}, "municipality": {"B": READ}},
    "subject_gp": {"case": {"A": ACT}},
    "other_gp": {},
    "supervisor": {"case": {"A": ACT}},
    "stand_in": {"case": {"A": ACT}},
    "deactivated": {},
    "anonymous": {},
}
USERS = list(LEVELS)
# The course catalog is shared: everyone may look, only administrators may change it. A
# link page (LINK_PARAMS) is anyone's to open.
SHARED_KINDS = {"course", "oidc_provider", "invitation_token", "link"}
# The OpenID Connect provider the harness configures: its issuer does not answer (nothing
# listens on port 9), so the login start and its callback show their refusal pages.
PROBE_OIDC_PROVIDERS = {
    "helseid": {
        "name": "helseid",
        "kind": "helseid",
        "issuer": "http://127.0.0.1:9",
        "client_id": "probe",
        "client_secret": "",
        "private_key_file": "/nonexistent.pem",
        "key_id": "",
        "scopes": "openid",
        "label": "Log in with HelseID",
        "acr_values": "",
        "min_security_level": 4,
    }
}
SUPERVISION_ACTIONS = {"arrange", "session", "report", "invite", "revoke_invitation"}


# ---------------------------------------------------------------------------- discovery


@dataclass(frozen=True)
class Route:
    name: str  # namespace:name, or the route itself when unnamed
    route: str  # "saker/<id:pk>/klage/<id:appeal_pk>/"
    params: tuple  # ((param, converter class name), ...) in order of appearance
    converters: dict = field(hash=False, compare=False)
    default_kwargs: dict = field(hash=False, compare=False)

    def url(self, values: dict) -> str:
        def fill(match):
            return str(values[match.group(2)])

        return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", fill, self.route)


# URL namespaces not walked here, each with the tests that cover it instead.
NOT_WALKED = {
    # The operators' admin site (PALEGG_ADMIN_PATH): only a superuser past two-factor login
    # gets in, everyone else a 404 (or the login page). tests/test_admin.py walks every
    # registered ModelAdmin's pages, as the operator and as the app's own roles, with odd ids;
    # tests/<app>/test_admin.py the writes made there.
    "admin",
}


def _walk(patterns, prefix="", namespace="", defaults=None, converters=None):
    defaults, converters = defaults or {}, converters or {}
    for entry in patterns:
        if isinstance(entry, URLResolver) and entry.namespace in NOT_WALKED:
            continue
        pattern = entry.pattern
        more = dict(converters)
        if isinstance(pattern, RoutePattern):
            more.update(pattern.converters)
        else:  # a regex pattern: its named groups must be taught as parameters too
            more.update({name: None for name in pattern.regex.groupindex})
        if isinstance(entry, URLResolver):
            space = ":".join(s for s in (namespace, entry.namespace) if s)
            yield from _walk(
                entry.url_patterns,
                prefix + str(pattern),
                space,
                {**defaults, **entry.default_kwargs},
                more,
            )
        elif isinstance(entry, URLPattern):
            route = prefix + str(pattern)
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            params = tuple(
                (p, type(more[p]).__name__ if more.get(p) is not None else None)
                for _conv, p in re.findall(r"<(?:(\w+):)?(\w+)>", route)
            )
            yield Route(
                name=name or route,
                route=route,
                params=params,
                converters=more,
                default_kwargs={**defaults, **entry.default_args},
            )


def discover() -> list[Route]:
    seen, routes = set(), []
    for route in _walk(get_resolver().url_patterns):
        if route.route not in seen:
            seen.add(route.route)
            routes.append(route)
    return routes


ROUTES = discover()


def kind_of(route: Route, param: str) -> str | None:
    if (route.name, param) in LINK_PARAMS:
        return "link"
    if param == "pk":
        if route.name in PK_KINDS:
            return PK_KINDS[route.name]
        return "order" if route.route.startswith("saker/<id:pk>/") else None
    return PARAM_KINDS.get(param)


def value_of(side: Side, kind: str, route: Route, param: str = ""):
    if kind == "link":
        return LINK_PARAMS[(route.name, param)]
    if kind == "measure":
        supervision = route.default_kwargs.get("action") in SUPERVISION_ACTIONS
        return (side.supervision_measure if supervision else side.course_measure).pk
    if kind == "municipality":
        return side.municipality.number
    if kind == "oidc_provider":
        return "helseid"
    if kind == "course":
        return side.order.measures.get(kind="course").course_id
    if kind == "invitation_token":
        return side.invitation_token
    return {
        "order": side.order,
        "task": side.task,
        "appeal": side.appeal,
        "document": side.document,
        "meeting": side.meeting,
        "notification": side.notification,
        "authority": side.authority,
        "appointment": side.appointment,
        "invitation": side.invitation,
    }[kind].pk


@dataclass
class Variant:
    label: str
    url: str
    sides: dict  # param -> side name ("A"/"B")
    mismatched: bool  # an id under a parent it does not belong to: nobody's object


def variants(world, route: Route) -> list[Variant]:
    params = [p for p, _conv in route.params]
    if not params:
        return [Variant("plain", route.url({}), {}, False)]
    out = []
    for name in ("A", "B"):
        side = world.side(name)
        values = {p: value_of(side, kind_of(route, p), route, p) for p in params}
        out.append(Variant(name, route.url(values), dict.fromkeys(params, name), False))
    if len(params) > 1:
        for first, rest in (("A", "B"),):  # own parent, foreign child: the likely slip
            sides = {p: (first if i == 0 else rest) for i, p in enumerate(params)}
            values = {p: value_of(world.side(s), kind_of(route, p), route, p) for p, s in sides.items()}
            out.append(Variant(f"{first}-under-{rest}", route.url(values), sides, True))
    if "meeting_pk" in params:  # a meeting of the course under the case's supervision measure
        a = world.A
        values = {p: value_of(a, kind_of(route, p), route, p) for p in params}
        values["measure_pk"] = a.supervision_measure.pk
        out.append(Variant("A-other-measure", route.url(values), dict.fromkeys(params, "A"), True))
    return out


# ---------------------------------------------------------------------------- levels


def level(user_name, world, route: Route, variant: Variant) -> int:
    if variant.mismatched:
        return FOREIGN
    grants = LEVELS[user_name]
    result = ACT
    for param, side in variant.sides.items():
        kind = kind_of(route, param)
        group = "case" if kind in CASE_KINDS else kind
        if kind == "notification":
            recipient = world.side(side).notification.recipient_id
            user = world.users[user_name]
            granted = ACT if user is not None and user.pk == recipient else FOREIGN
        elif kind in SHARED_KINDS:
            granted = grants.get(group, {}).get(side, READ)
        else:
            granted = grants.get(group, {}).get(side, FOREIGN)
        result = min(result, granted)
    return result


def secrets_for(user_name, world, route=None, variant=None) -> list[bytes]:
    """What this user may never be shown: the cases they may not see. The health personnel
    register is public, so on the page of a municipality the user oversees its GPs' names and
    HPR numbers may appear; the case numbers may not."""
    grants = LEVELS[user_name]
    overseen = {
        side
        for param, side in (variant.sides.items() if variant else [])
        if kind_of(route, param) == "municipality" and grants.get("municipality", {}).get(side)
    }
    found = []
    for name in ("A", "B"):
        if name in grants.get("case", {}):
            continue
        side = world.side(name)
        found += side.secrets()[:1] if name in overseen else side.secrets()
    return [s.encode() for s in found]


# ---------------------------------------------------------------------------- bodies


GENERIC_BODY = {
    "reason": "Syntetisk grunn",
    "note": "Syntetisk notat",
    "confirm": "on",
    "accepted": "on",
    "outcome": "fulfilled",
}


# Who is asked first for a page's form: the one most likely to be offered it.
FORM_OWNERS = {
    "accept_terms": "subject_gp",
    "session": "supervisor",
    "report": "supervisor",
}


def harvest_bodies(world) -> dict:
    """route -> body, from the side-A page as someone who may use it sees it (the same body
    is posted to every variant: ids of side A in it only make a foreign request more real)."""
    clients = {}
    bodies = {}
    for route in ROUTES:
        url = variants(world, route)[0].url
        first = FORM_OWNERS.get(route.default_kwargs.get("action"))
        names = [first] if first else []
        names += ["caseworker", "leader", "administrator", "subject_gp", "supervisor"]
        for name in dict.fromkeys(names):
            if name not in clients:
                clients[name] = client_as(world.users[name])
            with transaction.atomic():
                # An action URL answers GET with a redirect to the page that holds its form.
                response = clients[name].get(url, follow=True)
                body = None
                if response.status_code == 200 and not getattr(response, "streaming", False):
                    body = body_from(response, world)
                transaction.set_rollback(True)
            if body is not None:
                bodies[route.route] = body
                break
    return bodies


# ---------------------------------------------------------------------------- probing


@dataclass
class Failure:
    route: str
    method: str
    user: str
    check: str  # "5xx", "200-foreign", "leak", "write"
    detail: str

    def __str__(self):
        return f"{self.method} {self.detail}"


def content_of(response) -> bytes:
    if getattr(response, "streaming", False):
        # Reading it to the end closes it the test client's way; response.close() would send
        # request_finished and close the database connection (PostgreSQL) mid-transaction.
        return b"".join(response.streaming_content)
    return response.content


def probe(client, method, url, body, *, check_writes):
    """One request in a savepoint rolled back afterwards: (status or exception, body, writes)."""
    with transaction.atomic():
        before = row_counts() if check_writes else None
        try:
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, dict(body or GENERIC_BODY))
        except Exception as error:  # noqa: BLE001 - the test reports it as a 500
            transaction.set_rollback(True)
            return f"exception {type(error).__name__}: {error}"[:300], b"", {}
        content = content_of(response)
        writes = changed(before, row_counts()) if check_writes else {}
        transaction.set_rollback(True)
    return response.status_code, content, writes


def keep_logged_in(client, user):
    """A logout URL (or a rolled-back session) must not make the rest of the run anonymous."""
    client.cookies.pop("django_language", None)
    if user is not None and client.session.get(SESSION_KEY) != str(user.pk):
        client.force_login(user)


def probe_as(user_name, world, bodies) -> list[Failure]:
    user = world.users[user_name]
    client = client_as(user)
    failures = []
    # A supervisor needs who, what the order requires and the deadline; not its grounds.
    grounds_hidden = world.A.grounds().encode() if user_name == "supervisor" else None
    for route in ROUTES:
        done = set()
        for variant in variants(world, route):
            grant = level(user_name, world, route, variant)
            secrets = secrets_for(user_name, world, route, variant)
            # Side B only adds something where this user stands differently to it than to A.
            if variant.label == "B" and ("A", grant) in done:
                continue
            done.add((variant.label, grant))
            body = bodies.get(route.route)
            for method in ("GET", "POST"):
                status, content, writes = probe(
                    client, method, variant.url, body, check_writes=grant < ACT
                )
                keep_logged_in(client, user)
                where = f"{variant.url} ({route.name}, {variant.label}) as {user_name}"

                def fail(check, what, route=route, method=method, where=where):
                    failures.append(Failure(route.name, method, user_name, check, f"{where}: {what}"))

                if not isinstance(status, int) or status >= 500:
                    fail("5xx", status)
                elif grant == FOREIGN and status == 200:
                    fail("200-foreign", "200 on an object this user may not see")
                leaked = [s.decode() for s in secrets if s in content]
                if leaked:
                    fail("leak", f"shows {leaked}")
                if grounds_hidden and grounds_hidden in content:
                    fail("leak-grounds", "shows the grounds of the order")
                if writes:
                    fail("write", f"wrote {writes}")
    return failures


def report(failures: list[Failure]):
    if failures:
        pytest.fail(f"{len(failures)} problem(s):\n" + "\n".join(map(str, failures)), pytrace=False)


# ---------------------------------------------------------------------------- tests


@pytest.fixture(autouse=True, scope="module")
def _oidc_provider_configured():
    with override_settings(OIDC_PROVIDERS=PROBE_OIDC_PROVIDERS):
        yield


@pytest.fixture(autouse=True)
def _private_document_root():
    """The module's world keeps its documents under its own root (tests/probe_world.py)."""


@pytest.fixture(scope="module")
def bodies(probe_world):
    return harvest_bodies(probe_world)


def test_every_route_parameter_can_be_filled():
    """A new URL parameter must be taught to the harness: which object it names and what junk
    its converter lets through. Without that, it would not be probed."""
    problems = []
    for route in ROUTES:
        for param, converter in route.params:
            if kind_of(route, param) is None:
                problems.append(f"{route.route}: no kind for <{param}> (PARAM_KINDS/PK_KINDS)")
            if converter not in CONVERTER_JUNK:
                problems.append(f"{route.route}: converter {converter} of <{param}> has no junk")
    assert not problems, "\n".join(problems)
    assert len(ROUTES) > 30, "the resolver walk found too few routes"


def test_every_route_parameter_is_filled_with_a_value_its_converter_accepts(probe_world, db):
    for route in ROUTES:
        for variant in variants(probe_world, route):
            match = get_resolver().resolve(variant.url)
            assert match.route == route.route, (variant.url, match.route, route.route)


@pytest.mark.parametrize("user_name", USERS)
def test_no_foreign_object_is_shown_or_changed(user_name, probe_world, bodies, db):
    report(probe_as(user_name, probe_world, bodies))


@pytest.fixture(autouse=True)
def _quiet_request_log():
    """Thousands of expected 404s and 403s: their log lines only cost time."""
    loggers = [logging.getLogger(n) for n in ("django.request", "django.security")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    yield
    for logger, old in zip(loggers, levels, strict=True):
        logger.setLevel(old)


@pytest.mark.parametrize("user_name", ["caseworker", "leader"])
def test_junk_path_parameters_answer_404_not_500(user_name, probe_world, db):
    """As someone who gets past the case's access check: the caseworker on the case's own
    pages, the leader on the measure pages (where the leader acts)."""
    world = probe_world
    user = world.users[user_name]
    client = client_as(user)
    failures = []
    for route in ROUTES:
        on_measure = any(p == "measure_pk" for p, _c in route.params)
        if on_measure != (user_name == "leader"):
            continue
        a_values = {p: value_of(world.A, kind_of(route, p), route, p) for p, _c in route.params}
        for param, converter in route.params:
            for junk in CONVERTER_JUNK.get(converter, []):
                url = route.url({**a_values, param: junk})
                for method in ("GET", "POST"):
                    status, _content, writes = probe(
                        client, method, url, GENERIC_BODY, check_writes=True
                    )
                    keep_logged_in(client, user)
                    if not isinstance(status, int) or status >= 500:
                        failures.append(
                            Failure(route.name, method, user_name, "5xx", f"{url}: {status}")
                        )
                    elif status == 200:
                        failures.append(
                            Failure(route.name, method, user_name, "200-foreign", f"{url}: 200")
                        )
                    if writes:
                        failures.append(
                            Failure(route.name, method, user_name, "write", f"{url}: {writes}")
                        )
    report(failures)


# Pages whose POST changes something: the harness must have found their form, or their POST
# is only probed with the generic body.
WRITE_ROUTES = {
    "orders:issue_order",
    "orders:task_step",
    "orders:extend_deadline",
    "orders:withdraw_order",
    "orders:decide_appeal",
    "orders:measure_enrol",
    "orders:measure_arrange",
    "orders:measure_session",
    "orders:measure_report",
    "orders:measure_document",
    "orders:measure_attendance",
    "municipalities:appoint_to_authority",
    "municipalities:appoint_leader",
    "municipalities:end_appointment",
    "orders:supervisor_invite",
    "courses:course_create",
    "courses:course_edit",
}


def test_the_write_pages_give_their_form_to_the_harness(bodies, db):
    missing = sorted(
        r.name for r in ROUTES if r.name in WRITE_ROUTES and not bodies.get(r.route)
    )
    assert not missing, f"no form harvested for {missing}"
    assert {r.name for r in ROUTES} >= WRITE_ROUTES
