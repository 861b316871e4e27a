"""Fixtures and steps shared by the OpenID Connect login tests: the test provider in its
thread (tests/oidc_provider.py), the settings that point the product at it, and the three
legs of a login (start here, authorize there, come back here)."""

from urllib.parse import urlparse

import pytest
import requests
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from joserfc.jwk import RSAKey

from audit.models import AccessEvent
from config.settings import parse_oidc_providers
from municipalities import oidc
from tests.oidc_provider import Provider


@pytest.fixture(scope="module")
def oidc_server():
    server = Provider().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client_key(tmp_path_factory):
    """The product's private key for private_key_jwt (a PEM file, as deployed)."""
    key = RSAKey.generate_key(2048, parameters={"kid": "palegg-key-1"})
    path = tmp_path_factory.mktemp("oidc") / "client.pem"
    path.write_bytes(key.as_pem(private=True))
    return key, path


def environment(server, key_path, **extra):
    """The environment a deployment would set: HelseID with private_key_jwt, Entra ID with a
    client secret, both at the test provider (one provider plays both)."""
    return {
        "PALEGG_OIDC_PROVIDERS": "helseid,entra",
        "PALEGG_OIDC_HELSEID_ISSUER": server.issuer,
        "PALEGG_OIDC_HELSEID_CLIENT_ID": server.client_id,
        "PALEGG_OIDC_HELSEID_PRIVATE_KEY_FILE": str(key_path),
        "PALEGG_OIDC_HELSEID_KEY_ID": "palegg-key-1",
        "PALEGG_OIDC_ENTRA_ISSUER": server.issuer,
        "PALEGG_OIDC_ENTRA_CLIENT_ID": server.client_id,
        "PALEGG_OIDC_ENTRA_CLIENT_SECRET": "entra-test-secret",
        **extra,
    }


@pytest.fixture
def provider(oidc_server, client_key, settings, db):
    """The test provider, reset, with the product configured for it and nothing cached."""
    oidc_server.reset()
    cache.clear()
    settings.OIDC_PROVIDERS = parse_oidc_providers(environment(oidc_server, client_key[1]))
    yield oidc_server
    cache.clear()


def start(client, name="helseid", next_url=None):
    response = client.get(
        reverse("oidc_login", kwargs={"provider": name}), {"next": next_url} if next_url else {}
    )
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def authorize(location):
    """The browser at the provider: it sends it back to the callback with a code."""
    response = requests.get(location, allow_redirects=False, timeout=5)
    assert response.status_code == 302, response.text
    back = urlparse(response.headers["Location"])
    return f"{back.path}?{back.query}"


def log_in(client, name="helseid", next_url=None):
    """The whole login; returns the callback's answer and the callback URL (for replays)."""
    callback = authorize(start(client, name, next_url))
    return client.get(callback), callback


def logged_in_user(client):
    return client.session.get("_auth_user_id")


def assert_refused(client, response, reason, status=None):
    """A clear Norwegian page naming the reason, the refusal in the access log with the
    reason code only, and nobody logged in."""
    assert response.status_code == (status or oidc.LoginRefused(reason).status)
    assert response.status_code in (400, 403)
    assert "registration/login_refused.html" in [t.name for t in response.templates]
    with translation.override("nb"):
        text = translation.gettext(oidc.REASONS[reason])
    assert text != oidc.REASONS[reason], f"no Norwegian text for {reason}"
    assert escape(text) in response.content.decode()
    assert "Du ble ikke logget inn" in response.content.decode()
    event = AccessEvent.objects.order_by("-sequence").first()
    assert (event.action, event.outcome, event.detail) == ("login", "refused", reason)
    assert logged_in_user(client) is None
