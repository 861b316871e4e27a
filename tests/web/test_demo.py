"""The demo loader: orders in every state, one login per role, and nothing doubled on re-run; and
the OpenID Connect demo (make oidc-demo): its provider offers people the demo has."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from viewflow.workflow.status import PROCESS

from config.settings import parse_oidc_providers
from courses.models import EvidenceDocument
from municipalities import oidc_mock
from municipalities.models import Authority, HealthPersonnel, LoginIdentity, Municipality, User
from municipalities.oidc_mock import HPR_CLAIM, SECURITY_LEVEL_CLAIM
from orders import selectors
from orders.models import Appeal, Order, Review
from web.management.commands import oidc_demo


def _counts():
    return [
        m.objects.count()
        for m in (User, Authority, Municipality, HealthPersonnel, Order, Review, Appeal)
    ]


def test_demo_loads_every_state_and_rerun_adds_nothing(db):
    out = StringIO()
    call_command("load_demo", stdout=out)
    first = _counts()
    call_command("load_demo", stdout=out)
    assert _counts() == first
    assert "saksbehandler.sfoa" in out.getvalue() and "leder.oslo" in out.getvalue()

    orders = selectors._with_state(Order.objects.all())
    stages = {selectors.stage_of(o) for o in orders}
    assert {str(label) for label in selectors.STAGE_LABELS.values()} <= {str(s) for s in stages}
    assert orders.filter(under_appeal=True).exists()
    assert Order.objects.filter(status=PROCESS.DONE).exists()
    assert Order.objects.filter(status=PROCESS.CANCELED, appeals__outcome="reversed").exists()
    assert Review.objects.filter(outcome=Review.Outcome.RETURNED).exists()
    assert Order.objects.filter(extensions__isnull=False).exists()
    assert Authority.objects.filter(kind=Authority.Kind.HELSETILSYNET).count() == 1
    assert Authority.objects.filter(kind=Authority.Kind.STATSFORVALTER).count() >= 2
    assert EvidenceDocument.objects.exists()


def test_demo_users_can_log_in_with_the_printed_password(db, client):
    from web.management.commands.load_demo import DEMO_PASSWORD

    call_command("load_demo", stdout=StringIO())
    for username in ("saksbehandler.sfoa", "leder.oslo", "lege.oslo"):
        assert client.login(username=username, password=DEMO_PASSWORD)
        assert client.get("/oppgaver/").status_code == 200


def test_oidc_demo_offers_the_demo_gp_by_a_registered_hpr_number_and_binds_the_caseworker_once(
    db, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    call_command("load_demo", stdout=StringIO())
    gp_claims, caseworker_claims = oidc_demo.provider_users()
    gp = HealthPersonnel.objects.get(hpr_number=gp_claims[HPR_CLAIM])
    assert gp.user.username == "lege.oslo" and gp_claims[SECURITY_LEVEL_CLAIM] == "4"
    assert Order.objects.filter(health_personnel=gp).exists()

    oidc_demo.bind_caseworker()
    oidc_demo.bind_caseworker()
    identity = LoginIdentity.objects.get()
    assert (identity.provider, identity.subject) == ("entra", caseworker_claims["sub"])
    assert identity.user.username == "saksbehandler.sfoa"
    assert identity.user.email == caseworker_claims["email"]

    # The server's settings accept the demo's environment: HelseID with private_key_jwt.
    env = oidc_mock.palegg_environment("http://127.0.0.1:9400", oidc_demo.client_key())
    providers = parse_oidc_providers(env)
    assert {name: p["kind"] for name, p in providers.items()} == {
        "helseid": "helseid",
        "entra": "entra",
    }
    assert providers["helseid"]["private_key_file"] and providers["entra"]["client_secret"]


def test_oidc_demo_without_demo_data_says_to_load_it(db):
    with pytest.raises(CommandError, match="load_demo"):
        call_command("oidc_demo", stdout=StringIO())


def test_the_demo_story_is_dated_where_it_happens(db):
    """History, steps and access events are dated on their days in the story, in order, not
    all at the moment the demo was loaded; no enrolment comes before its order's decision."""
    from datetime import timedelta

    from django.utils import timezone
    from viewflow.workflow.models import Task

    from audit.models import AccessEvent

    call_command("load_demo", stdout=StringIO())
    today = timezone.localdate()
    for order in Order.objects.all():
        for task in Task.objects.filter(process_id=order.pk):
            assert timezone.localtime(task.created).date() >= order.decision_date, order
        for measure in order.measures.exclude(enrolled_on=None):
            assert measure.enrolled_on >= order.decision_date, order
        first = order.history.earliest("history_date")
        assert timezone.localtime(first.history_date).date() == order.decision_date, order
    days = {timezone.localtime(t.created).date() for t in Task.objects.all()}
    assert len(days) > 20
    assert min(days) < today - timedelta(days=200)
    # Written in the story's order: later rows of the history have later dates.
    stamps = list(Order.history.order_by("history_id").values_list("history_date", flat=True))
    assert stamps == sorted(stamps)
    # Events of the access log written while loading (logins, appointments) are in order too.
    moments = list(AccessEvent.objects.order_by("sequence").values_list("at", flat=True))
    assert moments == sorted(moments)
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert "intact" in out.getvalue().lower()
