"""Logging in with OpenID Connect end to end: Debian's Chromium, Pålegg's live server and a real
OpenID Connect provider (oidc-provider-mock) in a server process of its own, standing in for
HelseID and Entra ID.

The provider's login page offers the people in OIDC_USERS as one-click choices; they are
chosen by their ``sub``. Pålegg's elements are located by URLs, names and CSS classes, never
by text: the interface text is translated and may change.
"""

import json
from importlib import import_module

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.core import mail
from django.db import models
from django.utils import translation
from django.utils.translation import gettext

from audit.actions import Action
from audit.models import AccessEvent
from config.settings import parse_oidc_providers
from municipalities import invitations, oidc
from municipalities.appointments import appoint
from municipalities.models import Appointment, Invitation, LoginIdentity, User
from municipalities.oidc_mock import helseid_user
from tests import factories
from tests.oidc_mock import PID_CLAIM

# A synthetic fødselsnummer (not a real one) that HelseID would send along: stored nowhere.
PID = "01017000999"
GP_SUB = "helseid-lege"
OTHER_GP_SUB = "helseid-annen-lege"
UNKNOWN_HPR_SUB = "helseid-ukjent-hpr"
LOW_LEVEL_SUB = "helseid-niva-3"
CASEWORKER_SUB = "entra-ny-saksbehandler"

OIDC_USERS = [
    # world.gp and world.other_gp (tests/conftest.py) by HPR number.
    helseid_user(GP_SUB, "9000001", name="Lege Testesen", **{PID_CLAIM: PID}),
    helseid_user(OTHER_GP_SUB, "9000002", name="Annen Lege"),
    helseid_user(UNKNOWN_HPR_SUB, "9876543", name="Ikke Registrert"),
    helseid_user(LOW_LEVEL_SUB, "9000001", level="3", name="Lege Testesen"),
    {
        "sub": CASEWORKER_SUB,
        "oid": CASEWORKER_SUB,
        "email": "ny.saksbehandler@test.invalid",
        "name": "Nina Saksbehandler",
    },
]


@pytest.fixture
def providers(settings, live_server, oidc_provider):
    """Pålegg configured, as by its environment, with a HelseID provider (private_key_jwt)
    and an Entra ID provider (client secret), both at the local provider."""
    settings.SITE_URL = live_server.url
    settings.OIDC_PROVIDERS = parse_oidc_providers(oidc_provider.environment(live_server.url))
    return oidc_provider


def provider_button(name):
    """The login page's button for provider ``name``: a link or a form to its login URL."""
    start = f"/logg-inn/oidc/{name}/"
    return f'a[href^="{start}"], form[action^="{start}"] [type=submit]'


def log_in_at_provider(page, issuer, sub, *, then):
    """Choose the person ``sub`` on the provider's page and wait to be back at ``then``."""
    page.wait_for_url(f"{issuer}/**")
    page.click(f'button[name=sub][value="{sub}"]')
    page.wait_for_url(then)


def logged_in(page):
    return page.locator(".user-box").count() == 1


def sessions_with_user():
    engine = import_module(django_settings.SESSION_ENGINE)
    store = engine.SessionStore()
    return [
        data
        for data in (store.decode(s.session_data) for s in store.model.objects.all())
        if "_auth_user_id" in data
    ]


def text_containing(value):
    """Every (model, field) whose stored text contains ``value``, sessions decoded."""
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.CharField | models.TextField) and (
                model._default_manager.filter(**{f"{field.name}__contains": value}).exists()
            ):
                found.append(f"{model._meta.label}.{field.name}")
    if any(value in json.dumps(data) for data in sessions_with_user()):
        found.append("session data")
    return found


def test_gp_logs_in_with_helseid_by_hpr_number_and_sees_exactly_their_orders(
    browser_world, providers, live_server, offline_page, caplog
):
    world, page = browser_world, offline_page
    own = [
        factories.issue_order(
            caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=n
        )
        for n in (5101, 5102)
    ]
    factories.issue_order(
        caseworker=world.caseworker,
        authority=world.authority,
        personnel=world.other_gp,
        number=5103,
    )
    # Nobody has set anything up for the GP: no login identity exists before.
    assert not LoginIdentity.objects.exists()

    page.goto(f"{live_server.url}/logg-inn/")
    page.click(provider_button("helseid"))
    log_in_at_provider(page, providers.issuer, GP_SUB, then=f"{live_server.url}/oppgaver/")
    assert logged_in(page)

    with page.expect_navigation():
        page.click('.nav a[href="/saker/"]')
    listed = page.locator('main table a[href^="/saker/"]').all_inner_texts()
    assert sorted(listed) == sorted(o.case_number for o in own)

    identity = LoginIdentity.objects.get(provider="helseid", subject=GP_SUB)
    assert identity.user == world.gp_user
    assert AccessEvent.objects.filter(
        action=Action.LOGIN, user=world.gp_user, outcome="shown"
    ).exists()
    # The fødselsnummer the provider sent is nowhere: not in any table, session or log line.
    assert text_containing(PID) == []
    assert PID not in caplog.text


@pytest.mark.parametrize(
    ("sub", "reason"),
    [(UNKNOWN_HPR_SUB, "hpr_unknown"), (LOW_LEVEL_SUB, "security_level")],
    ids=["hpr-not-in-register", "security-level-3"],
)
def test_helseid_login_without_a_registered_hpr_number_at_level_4_is_refused(
    browser_world, providers, live_server, offline_page, sub, reason
):
    page = offline_page
    page.goto(f"{live_server.url}/logg-inn/")
    page.click(provider_button("helseid"))
    page.wait_for_url(f"{providers.issuer}/**")
    with page.expect_navigation(url=f"{live_server.url}/**") as navigation:
        page.click(f'button[name=sub][value="{sub}"]')

    assert navigation.value.status == 403
    assert page.locator("html").get_attribute("lang") == "nb"
    with translation.override("nb"):
        text = gettext(oidc.REASONS[reason])
    assert text != oidc.REASONS[reason], "the refusal is not translated"
    assert page.locator(".error-summary[role=alert]").inner_text() == text
    assert not logged_in(page)
    assert sessions_with_user() == []
    assert not LoginIdentity.objects.exists()
    refusals = AccessEvent.objects.filter(action=Action.LOGIN, outcome="refused")
    assert list(refusals.values_list("detail", flat=True)) == [reason]


def test_new_caseworker_logs_in_through_the_invitation_link_once(
    browser_world, providers, live_server, offline_page, browser
):
    world, page = browser_world, offline_page
    admin = factories.administrator_for(world.authority, username="admin")
    caseworker = User.objects.create_user(
        "nina.ny", email="nina.ny@test.invalid", first_name="Nina", last_name="Saksbehandler"
    )
    assert not caseworker.has_usable_password()
    appoint(
        acting_user=admin,
        user=caseworker,
        role=Appointment.Role.CASEWORKER,
        organisation=world.authority,
        reason="Ny saksbehandler fra 1. mars.",
    )
    invitation, link = invitations.issue(acting_user=admin, user=caseworker)
    # The link the person gets is the one in the (content-free) e-mail.
    assert link in mail.outbox[-1].body
    assert link.startswith(f"{live_server.url}/invitasjon/")

    page.goto(link)
    page.click(provider_button("entra"))
    log_in_at_provider(page, providers.issuer, CASEWORKER_SUB, then=f"{live_server.url}/oppgaver/")
    assert logged_in(page)
    assert caseworker.get_full_name() in page.locator(".user-box").inner_text()

    assert LoginIdentity.objects.get(provider="entra", subject=CASEWORKER_SUB).user == caseworker
    invitation.refresh_from_db()
    assert invitation.state == Invitation.State.USED
    assert (
        AccessEvent.objects.filter(
            action=Action.INVITATION_USE, user=caseworker, outcome="shown"
        ).count()
        == 1
    )

    # The same link a second time, in another browser: a Norwegian page, nobody logged in.
    context = browser.new_context(locale="nb-NO")
    try:
        second = context.new_page()
        answer = second.goto(link)
        assert answer.status == 410
        assert second.locator("html").get_attribute("lang") == "nb"
        with translation.override("nb"):
            reason = gettext(invitations.REASONS["used"])
        assert reason != invitations.REASONS["used"], "the refusal is not translated"
        assert reason in second.locator("main").inner_text()
        assert second.locator(".user-box").count() == 0
    finally:
        context.close()
    assert (
        AccessEvent.objects.filter(
            action=Action.INVITATION_USE, outcome="refused", detail="used"
        ).count()
        == 1
    )
