"""The operators' admin site (config/admin.py): who gets in (verified superusers only, through
the app's login page and its two-factor step), where it is (PALEGG_ADMIN_PATH), and a
generated walk over every registered ModelAdmin: each list, add and change page and each
history page renders for the operator, odd ids are a 404 or a redirect and never a 500,
nothing can be deleted, and no page needs inline script or style (the strict
Content-Security-Policy). The writes through each app's admin are tested in its own
tests/<app>/test_admin.py."""

import os
import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from audit.models import AccessEvent, AuditArchive
from config.admin import OperatorsAdminSite
from config.settings import _admin_path
from courses.models import Course
from municipalities import appointments, invitations
from municipalities.models import (
    ACT_FOR_AUTHORITY,
    Appointment,
    LoginIdentity,
)
from tests import factories
from tests.factories import PASSWORD
from tests.municipalities.login_helpers import log_in
from tests.two_factor import code_for, give_totp, verified_login

CODE_PAGE = "/logg-inn/kode/"


def index():
    return reverse("admin:index")


def url_of(model, view, *args):
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


# --- who gets in ---------------------------------------------------------------------------


def test_the_admin_is_at_the_default_path():
    assert index() == "/drift/admin/"


def test_someone_not_logged_in_is_sent_to_the_apps_login_page(db, client):
    for url in (index(), url_of(Course, "changelist"), reverse("admin:login")):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/logg-inn/?next="), url
    # The admin's own password form is never offered.
    assert (
        client.post(reverse("admin:login"), {"username": "x", "password": "y"}).status_code == 302
    )


def test_an_operator_made_by_createsuperuser_logs_in_on_the_login_page_and_sets_up_two_factor(
    db, client, monkeypatch
):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("createsuperuser", interactive=False, username="drift", email="drift@test.invalid")
    log_in(client, "drift")
    response = client.get(index())
    assert response.status_code == 302 and response["Location"].startswith(CODE_PAGE)
    response = client.get(response["Location"], follow=True)
    assert response.redirect_chain[-1][0].startswith("/logg-inn/kode/ny/")
    assert client.get(url_of(Course, "changelist")).status_code == 302


def test_an_operator_with_an_authenticator_enters_its_code_and_gets_in(operator, client):
    device = give_totp(operator)
    log_in(client, operator.username)
    assert client.get(index())["Location"].startswith(CODE_PAGE)
    response = client.post(CODE_PAGE, {"code": code_for(device), "next": index()})
    assert response.status_code == 302 and response["Location"] == index()
    assert client.get(index()).status_code == 200
    # An operator acts in no authority's name: "Drift", overseen by no authority's officer
    # but Statens helsetilsyn's, who sees the events that belong to none.
    login = AccessEvent.objects.get(action="login", user=operator)
    assert (login.role, login.organisation, login.authority_id) == ("", "Drift", None)


def test_an_operator_is_asked_for_the_code_however_the_session_began(operator, client):
    # force_login leaves no login method (as an OpenID Connect login's differs from a
    # password's): the admin trusts only the app's own two-factor step.
    give_totp(operator)
    client.force_login(operator)
    response = client.get(index())
    assert response.status_code == 302 and response["Location"].startswith(CODE_PAGE)


def test_the_apps_own_roles_and_staff_get_no_admin(world, client):
    administrator = factories.administrator_for(world.authority, username="admin.a")
    staff = factories.UserFactory(username="ansatt", is_staff=True)
    for user in (world.caseworker, world.leader, world.gp_user, administrator, staff):
        client = Client()
        verified_login(client, user)  # even past the two-factor step
        for url in (index(), url_of(Course, "changelist"), url_of(AccessEvent, "changelist")):
            assert client.get(url).status_code == 404, (user.username, url)
        assert client.get(reverse("admin:login")).status_code == 404
        # Each try is in the access log, as every refused page is.
        probe = AccessEvent.objects.order_by("-sequence").first()
        assert (probe.user, probe.action, probe.outcome) == (user, "open_page", "refused")


def test_the_operator_has_no_role_in_the_apps_own_pages(world, order, operator, operator_client):
    """A superuser passes every permission check of Django and guardian; here an operator's
    grants are read as anyone's, so the cases stay closed to them."""
    assert operator_client.get(reverse("orders:case_detail", args=[order.pk])).status_code == 404
    assert not operator.has_perm(ACT_FOR_AUTHORITY, world.authority)
    factories.caseworker_for(world.authority, username=operator.username)
    operator = type(operator).objects.get(pk=operator.pk)
    assert operator.has_perm(ACT_FOR_AUTHORITY, world.authority)


def test_a_password_is_changed_through_the_apps_reset_page(operator_client):
    response = operator_client.get(reverse("admin:password_change"))
    assert response.status_code == 302 and response["Location"] == reverse("password_reset")


def test_only_the_projects_own_admins_are_on_the_site():
    """Other packages' admins would write behind the services' back (auth's groups grant
    rights, axes' attempts open locked accounts, django-otp's devices show their secrets)."""
    modules = {type(model_admin).__module__ for model_admin in admin.site._registry.values()}
    assert modules == {"audit.admin", "municipalities.admin", "courses.admin"}


def test_a_model_of_the_project_is_registered_only_with_an_operator_admin():
    site = OperatorsAdminSite("probe")
    site.register(Group, GroupAdmin)
    assert not site.is_registered(Group)
    with pytest.raises(ImproperlyConfigured):
        site.register(Course)
    with pytest.raises(ImproperlyConfigured):
        site.register(Course, admin.ModelAdmin)


# --- where it is ---------------------------------------------------------------------------


# Where the admin is, as a fresh process sees it: config/urls.py reads the setting once.
WHERE = """
import django
django.setup()
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
try:
    print(reverse("admin:index"))
except NoReverseMatch:
    print("no admin")
for path in ("/drift/admin/", "/intern/verktoy/"):
    try:
        print(path, resolve(path).url_name)
    except Resolver404:
        print(path, "404")
"""


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("intern/verktoy/", ["/intern/verktoy/", "/drift/admin/ 404", "/intern/verktoy/ index"]),
        ("", ["no admin", "/drift/admin/ 404", "/intern/verktoy/ 404"]),
    ],
)
def test_the_admin_path_follows_the_setting(setting, expected):
    env = {**os.environ, "PALEGG_ADMIN_PATH": setting, "PALEGG_DEVELOPMENT": "1"}
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    result = subprocess.run(
        [sys.executable, "-c", WHERE],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == expected


def test_the_admin_path_setting_is_read_as_a_path():
    assert _admin_path("/intern/admin") == "intern/admin/"
    assert _admin_path(" drift/admin/ ") == "drift/admin/"
    assert _admin_path("") == _admin_path("/") == ""
    for bad in ("<str:x>/", "a b/", "drift//admin", "..%2f"):
        with pytest.raises(ImproperlyConfigured):
            _admin_path(bad)


# --- every page of every registered model ---------------------------------------------------


@pytest.fixture
def one_of_each(world, operator):
    """A row of every registered model, made as the app makes them."""
    administrator = factories.administrator_for(world.authority, username="admin.a")
    appointment = appointments.appoint(
        acting_user=administrator,
        user=factories.UserFactory(username="ny.saksbehandler"),
        role=Appointment.Role.CASEWORKER,
        organisation=world.authority,
        reason="Syntetisk grunn.",
    )
    invitations.issue(acting_user=administrator, user=appointment.user)
    LoginIdentity.objects.create(user=world.caseworker, provider="helseid", subject="syntetisk")
    factories.gp(factories.GPOfficeFactory(municipality=world.municipality))
    factories.course()
    event = AccessEvent.objects.first()
    AuditArchive.objects.create(
        archived_at=event.at,
        performed_by="drift",
        cutoff=event.at,
        first_sequence=1,
        last_sequence=1,
        last_hash=event.hash,
        event_count=1,
        file_name="arkiv.jsonl",
        file_sha256="0" * 64,
    )
    return world


REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
JUNK_IDS = ["abc", "9" * 30, "%00"]

# Inline code the strict Content-Security-Policy (no 'unsafe-inline') would block.
INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>\s*\S", re.IGNORECASE)
INLINE_STYLE = re.compile(rb"<style\b|\sstyle=\"|\son[a-z]+=\"", re.IGNORECASE)
# The one there is, in simple-history's history list: under a strict policy the browser drops
# it, and the paginator below the table keeps its top border. Nothing else depends on it.
KNOWN_INLINE = b'<p class="paginator" style="border-top: 0">'


def versions_of(model, obj):
    return model.history.filter(**{model._meta.pk.attname: obj.pk}).order_by("history_id")


def pages_of(model, *, add=True):
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None, f"one_of_each makes no {model._meta.label}: give it one"
    pk = quote(obj.pk)
    yield url_of(model, "changelist")
    yield url_of(model, "changelist") + "?q=1&o=1&p=2&all="
    if add:
        yield url_of(model, "add")
    yield url_of(model, "change", pk)
    yield url_of(model, "history", pk)
    if hasattr(model, "history"):
        version = versions_of(model, obj).first()
        if version is not None:
            yield url_of(model, "simple_history", pk, version.history_id)


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=lambda v: str(v))
def test_every_page_of_every_registered_model_renders_for_the_operator(
    model, model_admin, one_of_each, operator_client
):
    listed = operator_client.get(url_of(model, "changelist"))
    inline = []
    for url in pages_of(model, add=listed.context["has_add_permission"]):
        response = operator_client.get(url)
        assert response.status_code == 200, url
        content = response.content.replace(KNOWN_INLINE, b"")
        found = INLINE_SCRIPT.findall(content) + INLINE_STYLE.findall(content)
        if found:
            inline.append(f"{url}: {found[:3]}")
    assert not inline, "inline script or style:\n" + "\n".join(inline)


def test_the_index_needs_no_inline_code(operator_client):
    content = operator_client.get(index()).content
    assert not INLINE_SCRIPT.search(content) and not INLINE_STYLE.search(content)


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=lambda v: str(v))
def test_odd_ids_are_never_a_server_error(model, model_admin, one_of_each, operator_client):
    for junk in JUNK_IDS:
        for view in ("change", "history", "delete"):
            url = url_of(model, "changelist") + f"{junk}/{view}/"
            response = operator_client.get(url)
            assert response.status_code in (302, 403, 404), (url, response.status_code)
        response = operator_client.post(url_of(model, "changelist") + f"{junk}/change/")
        assert response.status_code in (302, 403, 404), (junk, response.status_code)
        if hasattr(model, "history"):
            obj = model._default_manager.order_by("pk").first()
            url = url_of(model, "changelist") + f"{quote(obj.pk)}/history/{junk}/"
            assert operator_client.get(url).status_code == 404, url


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=lambda v: str(v))
def test_nothing_is_deleted_and_no_history_is_reverted(
    model, model_admin, one_of_each, operator_client
):
    obj = model._default_manager.order_by("pk").first()
    response = operator_client.post(url_of(model, "delete", quote(obj.pk)), {"post": "yes"})
    assert response.status_code == 403
    response = operator_client.post(
        url_of(model, "changelist"), {"action": "delete_selected", "_selected_action": [obj.pk]}
    )
    assert response.status_code in (200, 302)
    assert model._default_manager.filter(pk=obj.pk).exists()
    page = operator_client.get(url_of(model, "changelist")).content.decode()
    assert 'value="delete_selected"' not in page
    if hasattr(model, "history"):
        version = versions_of(model, obj).first()
        if version is not None:
            url = url_of(model, "simple_history", quote(obj.pk), version.history_id)
            versions = model.history.count()
            assert operator_client.post(url, {"_change_history": "1"}).status_code == 403
            assert model.history.count() == versions


def test_the_admins_of_the_apps_own_roles_see_none_of_its_pages(one_of_each, client):
    """The generated walk, as the people of the app: not one admin page is theirs."""
    world = one_of_each
    for user in (world.caseworker, world.leader, world.gp_user, None):
        client = Client()
        if user is not None:
            verified_login(client, user)
        for model, _model_admin in REGISTERED:
            obj = model._default_manager.order_by("pk").first()
            for url in (url_of(model, "changelist"), url_of(model, "change", quote(obj.pk))):
                status = client.get(url).status_code
                assert status == (404 if user else 302), (user, url, status)
