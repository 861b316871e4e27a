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
