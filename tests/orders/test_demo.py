"""The demo loader: orders in every state, one login per role, and nothing doubled on re-run."""

from io import StringIO

from django.core.management import call_command
from viewflow.workflow.status import PROCESS

from courses.models import EvidenceDocument
from municipalities.models import Authority, HealthPersonnel, Municipality, User
from orders import selectors
from orders.models import Appeal, Order, Review


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
    from orders.management.commands.load_demo import DEMO_PASSWORD

    call_command("load_demo", stdout=StringIO())
    for username in ("saksbehandler.sfoa", "leder.oslo", "lege.oslo"):
        assert client.login(username=username, password=DEMO_PASSWORD)
        assert client.get("/oppgaver/").status_code == 200
