"""Property-based fuzz (hypothesis) over every form of the project: very long strings, NUL
and other control characters, lone surrogates (sent as invalid UTF-8 in a raw multipart
body), extreme dates, negative, huge and non-numeric ids, missing and duplicated fields.

Every form class defined in the apps is found by walking the subclasses of Django's forms;
``test_every_form_can_be_fuzzed`` fails for one the harness does not know how to build. Each
form's ``is_valid()`` must not raise; the main write forms are also posted over HTTP, as the
person who uses them, and must answer without a 5xx, leave no half-saved rows (row counts
unchanged unless the answer is the success redirect) and, on success, leave rows that pass
``full_clean``. Query-string filters of the list pages get the same treatment by GET.

Bounded (``max_examples``, ``derandomize``, no example database) so that it runs in
``make test`` on SQLite and PostgreSQL. Each example runs in a savepoint that is rolled back.
"""

import importlib
import string
import uuid
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django import forms
from django.apps import apps
from django.db import models, transaction
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit import Action
from municipalities.models import Appointment, Authority, User
from tests.probe_world import body_from, changed, client_as, row_counts

FORM_MODULES = [
    "orders.forms",
    "courses.measure_forms",
    "web.audit_forms",
    "web.forms",
    "courses.forms",
    "municipalities.forms",
    # The operators' admin site's forms (config/admin.py ServiceForm): saving is a service
    # call, made as the operator.
    "municipalities.admin",
    "courses.admin",
]
PROJECT_APPS = ("orders", "courses", "municipalities", "audit", "web")

# How to build each form: the keyword arguments its constructor needs, from the world.
FORM_KWARGS = {
    "orders.forms.IssueOrderForm": lambda w: {
        "authorities": Authority.objects.filter(pk=w.A.authority.pk),
        "caseworkers": User.objects.filter(pk=w.A.caseworker.pk),
    },
    "orders.forms.MeasureForm": lambda w: {"personnel": w.A.gp},
    "orders.forms.PlanReceiptForm": lambda w: {},
    "orders.forms.AcknowledgeForm": lambda w: {},
    "orders.forms.ConfirmCompletionForm": lambda w: {"order": w.A.order},
    "orders.forms.SignOffForm": lambda w: {},
    "orders.forms.FollowUpForm": lambda w: {},
    "orders.forms.ExtendDeadlineForm": lambda w: {"order": w.A.order},
    "orders.forms.WithdrawForm": lambda w: {"order": w.A.order},
    "orders.forms.RegisterAppealForm": lambda w: {"order": w.A.order},
    "orders.forms.DecideAppealForm": lambda w: {"appeal": w.A.appeal},
    "orders.forms.DeadlineFilterForm": lambda w: {},
    "orders.forms.CaseListFilterForm": lambda w: {},
    "web.forms.MunicipalitySearchForm": lambda w: {},
    "web.forms.PersonnelLookupForm": lambda w: {},
    "courses.measure_forms.SubmittedOnce": lambda w: {},
    "courses.measure_forms.MeasureForm": lambda w: {"measure": w.A.course_measure},
    "courses.measure_forms.EnrolForm": lambda w: {"measure": w.A.course_measure},
    "courses.measure_forms.AcceptTermsForm": lambda w: {"measure": w.A.course_measure},
    "courses.measure_forms.AttendanceForm": lambda w: {
        "measure": w.A.course_measure,
        "meeting": w.A.meeting,
    },
    "courses.measure_forms.CompletionForm": lambda w: {"measure": w.A.course_measure},
    "courses.measure_forms.ArrangeSupervisionForm": lambda w: {"measure": w.A.supervision_measure},
    "courses.measure_forms.SessionForm": lambda w: {"measure": w.A.supervision_measure},
    "courses.measure_forms.ReportForm": lambda w: {"measure": w.A.supervision_measure},
    "courses.measure_forms.DocumentForm": lambda w: {"measure": w.A.course_measure},
    "courses.measure_forms.SupervisorInvitationForm": lambda w: {},
    "web.audit_forms.AuditSearchForm": lambda w: {"actions": list(Action.values)},
    "courses.forms.CatalogFilterForm": lambda w: {},
    "courses.forms.CourseForm": lambda w: {},
    "municipalities.forms.AppointForm": lambda w: {"roles": list(Appointment.Role)},
    "municipalities.forms.EndAppointmentForm": lambda w: {},
    "municipalities.forms.TwoFactorCodeForm": lambda w: {},
    "municipalities.admin.NewPersonAdminForm": lambda w: {"request": _operator_request()},
    "municipalities.admin.PersonAdminForm": lambda w: {
        "request": _operator_request(),
        "instance": w.users["other_gp"],
    },
    "municipalities.admin.AppointAdminForm": lambda w: {"request": _operator_request()},
    "municipalities.admin.EndAppointmentAdminForm": lambda w: {
        "request": _operator_request(),
        "instance": w.A.leader_appointment,
    },
    "courses.admin.CourseAdminForm": lambda w: {"request": _operator_request()},
}


def _operator_request():
    """A request of an operator (a superuser), as the admin gives its service forms."""
    from django.test import RequestFactory

    operator, _created = User.objects.get_or_create(
        username="fuzz.drift", defaults={"is_superuser": True, "is_staff": True}
    )
    request = RequestFactory().post("/")
    request.user = operator
    return request


# The nasty inputs, each with the kind of trouble it is (for reports).
NASTY = {
    "long": "x" * 100_000,
    "long-words": "Lang tekst " * 9_000,
    "nul": "a\x00b",
    "control": "\x01\x02\x1b[31m\x7f\r\x0b\x0c",
    "surrogate": "\ud800",
    "surrogate-pair-half": "abc\udfff",
    "extreme-date": "0001-01-01",
    "extreme-date-high": "9999-12-31",
    "bad-date": "2026-02-30",
    "negative": "-1",
    "huge": str(10**30),
    "non-numeric": "abc",
    "float": "1e308",
    "empty": "",
    "space": "   ",
    "html": "<script>alert(1)</script>",
}
KEEP, OMIT = "keep", "omit"


def category(kind: str) -> str:
    return kind.split("-high")[0].replace("-pair-half", "").replace("-words", "")


def field_action():
    return st.one_of(
        st.just(KEEP),
        st.just(OMIT),
        st.sampled_from(sorted(NASTY)),
        st.tuples(st.just("dup"), st.sampled_from(sorted(NASTY))),
        st.tuples(st.just("text"), st.text(string.printable + "æøåÆØÅ\u200b", max_size=40)),
    )


FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def systematic(base: dict) -> list[dict]:
    """Every kind of trouble in every field at once, every field left out, one duplicated:
    the cases a bounded random search could miss."""
    return [
        {},
        dict.fromkeys(base, OMIT),
        *({name: kind for name in base} for kind in sorted(NASTY)),
        {name: ("dup", "nul") for name in base},
    ]


def fuzz(check, base: dict, *, max_examples: int):
    """Run ``check(actions)`` on the systematic cases, then on hypothesis's examples."""
    for actions in systematic(base):
        check(actions)
    strategy = st.fixed_dictionaries({}, optional=dict.fromkeys(base, field_action()))
    settings(FUZZ, max_examples=max_examples)(given(actions=strategy)(check))()


def mutate(base: dict, actions: dict) -> tuple[list, set]:
    """(field, value) pairs for a body: ``base`` with each field kept, left out, replaced or
    duplicated; and the kinds of trouble in it."""
    pairs, kinds = [], set()
    for name, value in base.items():
        action = actions.get(name, KEEP)
        values = value if isinstance(value, list) else [value]
        if action == KEEP:
            pairs += [(name, v) for v in values]
        elif action == OMIT:
            kinds.add("missing")
        elif isinstance(action, tuple) and action[0] == "dup":
            pairs += [(name, v) for v in values] + [(name, NASTY[action[1]])]
            kinds |= {"duplicate", category(action[1])}
        elif isinstance(action, tuple):
            pairs.append((name, action[1]))
            kinds.add("text")
        else:
            pairs.append((name, NASTY[action]))
            kinds.add(category(action))
    return pairs, kinds


@dataclass
class Failure:
    where: str
    check: str  # "5xx", "half-saved", "invalid-row", "exception"
    kinds: set
    detail: str

    def __str__(self):
        return f"{self.where} [{self.check}; {', '.join(sorted(self.kinds))}]: {self.detail}"


def report(failures: list[Failure]):
    if failures:
        shown = "\n".join(str(f)[:600] for f in failures[:40])
        pytest.fail(f"{len(failures)} problem(s):\n{shown}", pytrace=False)


# ---------------------------------------------------------------------------- discovery


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def project_forms() -> list[type]:
    for module in FORM_MODULES:
        importlib.import_module(module)
    found = {
        f"{c.__module__}.{c.__qualname__}": c
        for c in _subclasses(forms.BaseForm)
        if c.__module__.split(".")[0] in PROJECT_APPS
    }
    return [found[k] for k in sorted(found)]


def qualified(cls) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def test_every_form_can_be_fuzzed():
    unknown = [qualified(c) for c in project_forms() if qualified(c) not in FORM_KWARGS]
    assert not unknown, f"teach FORM_KWARGS how to build: {unknown}"
    assert len(project_forms()) >= 25


# ---------------------------------------------------------------------------- form level


def plausible(bound_field, world):
    """A value the field accepts, as the leak test's bodies fill them."""
    from tests.probe_world import _field_value

    return _field_value(bound_field, world)


@pytest.mark.parametrize("form_class", project_forms(), ids=qualified)
def test_form_is_valid_never_raises(form_class, probe_world, db):
    world = probe_world
    kwargs = FORM_KWARGS[qualified(form_class)](world)
    blank = form_class(**kwargs)
    base, files = {}, {}
    for bound in blank:
        value = plausible(bound, world)
        if isinstance(bound.field, forms.FileField):
            files[bound.html_name] = value
        else:
            base[bound.html_name] = value
    failures = []

    def check(actions):
        pairs, kinds = mutate(base, actions)
        data = QueryDict(mutable=True)
        for name, value in pairs:
            data.appendlist(name, str(value))
        uploads = MultiValueDict()
        for name, upload in files.items():
            upload.seek(0)
            uploads.appendlist(name, upload)
        with transaction.atomic():
            try:
                form = form_class(data, uploads, **kwargs)
                form.is_valid()
            except Exception as error:  # noqa: BLE001 - reported below
                failures.append(
                    Failure(qualified(form_class), "exception", kinds, f"{error!r}"[:300])
                )
            transaction.set_rollback(True)

    fuzz(check, base, max_examples=30)
    report(failures)


# ---------------------------------------------------------------------------- over HTTP


@dataclass(frozen=True)
class Endpoint:
    name: str
    user: str  # key in world.users
    url: object  # world -> url
    method: str = "POST"
    page: object = None  # world -> the page whose form the body comes from (default: url)


def _case(w, suffix=""):
    return f"/saker/{w.A.order.pk}/{suffix}"


def _measure(w, measure, suffix):
    return _case(w, f"tiltak/{measure.pk}/{suffix}")


WRITE_ENDPOINTS = [
    Endpoint("issue_order", "caseworker", lambda w: "/saker/ny/"),
    Endpoint("extend_deadline", "caseworker", lambda w: _case(w, "frist/")),
    Endpoint("register_appeal", "caseworker", lambda w: _case(w, "klage/")),
    Endpoint("decide_appeal", "caseworker", lambda w: _case(w, f"klage/{w.A.appeal.pk}/")),
    Endpoint("withdraw_order", "caseworker", lambda w: _case(w, "trekk-tilbake/")),
    Endpoint("confirm_completion", "leader", lambda w: _case(w, f"steg/{w.A.task.pk}/")),
    Endpoint("measure_enrol", "leader", lambda w: _measure(w, w.A.course_measure, "pamelding/")),
    Endpoint(
        "measure_attendance",
        "leader",
        lambda w: _measure(w, w.A.course_measure, f"moter/{w.A.meeting.pk}/"),
    ),
    Endpoint(
        "measure_arrange",
        "leader",
        lambda w: _measure(w, w.A.supervision_measure, "veiledningsavtale/"),
    ),
    Endpoint(
        "measure_session", "supervisor", lambda w: _measure(w, w.A.supervision_measure, "timer/")
    ),
    Endpoint(
        "measure_report", "supervisor", lambda w: _measure(w, w.A.supervision_measure, "rapport/")
    ),
    Endpoint(
        "measure_document", "leader", lambda w: _measure(w, w.A.course_measure, "dokumenter/")
    ),
    Endpoint(
        "appoint_to_authority",
        "administrator",
        lambda w: f"/myndigheter/{w.A.authority.pk}/utnevn/",
    ),
    Endpoint(
        "appoint_leader",
        "administrator",
        lambda w: f"/kommuner/{w.A.municipality.number}/ledere/utnevn/",
    ),
    Endpoint(
        "end_appointment",
        "administrator",
        lambda w: f"/utnevnelser/{w.A.leader_appointment.pk}/avslutt/",
    ),
    Endpoint("course_create", "administrator", lambda w: "/kurs/ny/"),
    Endpoint("course_edit", "administrator", lambda w: f"/kurs/{w.course.pk}/endre/"),
]
SEARCH_ENDPOINTS = [
    Endpoint("case_list", "caseworker", lambda w: "/saker/", "GET"),
    Endpoint("my_tasks", "leader", lambda w: "/oppgaver/", "GET"),
    Endpoint("municipality_list", "caseworker", lambda w: "/kommuner/", "GET"),
    Endpoint("personnel_lookup", "caseworker", lambda w: "/oppslag/helsepersonell/", "GET"),
    Endpoint("audit_search", "security_officer", lambda w: "/tilgangslogg/", "GET"),
    Endpoint("audit_export", "security_officer", lambda w: "/tilgangslogg/eksport.csv", "GET"),
    Endpoint("catalog", "leader", lambda w: "/kurs/", "GET"),
    Endpoint("case_timeline", "caseworker", lambda w: _case(w), "GET"),
]
# Query parameters the list pages read outside a form, next to their filter forms' fields.
EXTRA_QUERY = {"q": "Arnfinn", "side": "1", "vis": "steps"}


def _text(value) -> bytes:
    return str(value).encode("utf-8", "surrogatepass")  # a lone surrogate: invalid UTF-8


def multipart(pairs) -> tuple[bytes, str]:
    """A raw multipart body, so that invalid UTF-8 reaches the server as a browser could send
    it (the test client would refuse to encode a lone surrogate)."""
    boundary = uuid.uuid4().hex
    out = []
    for name, value in pairs:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
        if hasattr(value, "read"):
            value.seek(0)
            content = value.read()
            out.append(
                f'{head}; filename="{value.name}"\r\nContent-Type: {value.content_type}\r\n\r\n'.encode()
                + content
                + b"\r\n"
            )
        else:
            out.append(f"{head}\r\n\r\n".encode() + _text(value) + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


def query_string(pairs) -> str:
    return "&".join(
        f"{quote(name)}={quote(_text(value), safe='')}"
        for name, value in pairs
        if not hasattr(value, "read")
    )


CHECKED_APPS = {"orders", "courses", "municipalities"}


def _saved_rows(before: dict, after: dict):
    """The rows a successful request added or changed, as model instances: new rows of the
    domain models, and the live rows behind new history records."""
    for label, (old, new) in changed(before, after).items():
        model_label, aggregate = label.split(" ", 1)
        if aggregate != "COUNT(*)" or new <= old:
            continue
        model = apps.get_model(model_label)
        if model._meta.app_label not in CHECKED_APPS and model is not User:
            continue
        newest = list(model.objects.order_by("-pk")[: new - old])
        if hasattr(model, "instance_type"):  # a simple-history record: check the live row
            live = model.instance_type
            for record in newest:
                row = live._default_manager.filter(pk=getattr(record, live._meta.pk.attname))
                yield from row
        else:
            yield from newest


# No free text of this project needs more; 100,000 characters getting saved means a field
# without a maximum (issue 10, point 5).
LONGEST_TEXT = 20_000


def _text_sizes(row):
    for f in row._meta.fields:
        value = getattr(row, f.attname)
        if isinstance(f, models.CharField | models.TextField) and isinstance(value, str):
            yield f.name, len(value)


def _viewflow_fields(row) -> list[str]:
    return [f.name for f in row._meta.fields if type(f).__module__.startswith("viewflow")]


def _check_endpoint(endpoint: Endpoint, world, failures, *, max_examples):
    user = world.users[endpoint.user]
    client = client_as(user)
    url = endpoint.url(world)
    page = client.get((endpoint.page or endpoint.url)(world), follow=True)
    base = body_from(page, world) or {}
    if endpoint.method == "GET":
        base = {k: v for k, v in base.items() if not hasattr(v, "read")} | EXTRA_QUERY
    assert base, f"{endpoint.name}: no form found on {url} as {endpoint.user}"

    def check(actions):
        pairs, kinds = mutate(base, actions)
        with transaction.atomic():
            before = row_counts()
            try:
                if endpoint.method == "GET":
                    response = client.get(f"{url}?{query_string(pairs)}")
                else:
                    body, content_type = multipart(pairs)
                    response = client.generic("POST", url, body, content_type=content_type)
                if getattr(response, "streaming", False):
                    b"".join(response.streaming_content)
            except Exception as error:  # noqa: BLE001 - a 500 to the user
                transaction.set_rollback(True)
                failures.append(Failure(endpoint.name, "5xx", kinds, f"{error!r}"[:300]))
                return
            status = response.status_code
            after = row_counts()
            if status >= 500:
                failures.append(Failure(endpoint.name, "5xx", kinds, f"answered {status}"))
            elif status == 302 and endpoint.method == "POST":
                for row in _saved_rows(before, after):
                    long = [n for n, size in _text_sizes(row) if size > LONGEST_TEXT]
                    if long:
                        failures.append(
                            Failure(
                                endpoint.name,
                                "unbounded-text",
                                kinds,
                                f"{type(row).__name__} {row.pk} saved {long} longer than "
                                f"{LONGEST_TEXT} characters",
                            )
                        )
                    try:
                        # viewflow's flow reference fields do not round-trip through
                        # full_clean (a class where a string is expected): not ours to check.
                        row.full_clean(exclude=_viewflow_fields(row))
                    except Exception as error:  # noqa: BLE001 - reported
                        failures.append(
                            Failure(
                                endpoint.name,
                                "invalid-row",
                                kinds,
                                f"{type(row).__name__} {row.pk}: {error!r}"[:300],
                            )
                        )
            elif changed(before, after):
                failures.append(
                    Failure(
                        endpoint.name,
                        "half-saved",
                        kinds,
                        f"answered {status} but wrote {changed(before, after)}",
                    )
                )
            transaction.set_rollback(True)
        if client.session.get("_auth_user_id") != str(user.pk):
            client.force_login(user)

    fuzz(check, base, max_examples=max_examples)


@pytest.mark.parametrize("endpoint", WRITE_ENDPOINTS, ids=lambda e: e.name)
def test_write_forms_over_http(endpoint, probe_world, db):
    failures = []
    _check_endpoint(endpoint, probe_world, failures, max_examples=12)
    report(failures)


@pytest.mark.parametrize("endpoint", SEARCH_ENDPOINTS, ids=lambda e: e.name)
def test_list_filters_over_http(endpoint, probe_world, db):
    failures = []
    _check_endpoint(endpoint, probe_world, failures, max_examples=8)
    report(failures)


def test_the_plain_body_reaches_the_success_path(probe_world, db):
    """The harness itself: the unmutated body of the issue form, sent as raw multipart, is
    accepted, so the fuzz does reach the saving code and not only the form errors."""
    world = probe_world
    client = client_as(world.users["caseworker"])
    body = body_from(client.get("/saker/ny/"), world)
    body["hpr_number"] = world.A.gp.hpr_number
    with transaction.atomic():
        raw, content_type = multipart(body.items())
        response = client.generic("POST", "/saker/ny/", raw, content_type=content_type)
        assert response.status_code == 302, response.context["form"].errors
        transaction.set_rollback(True)
