"""Behind the TLS proxy the access log and the address lockout see the browser's address, as
the proxy names it, and only a trusted proxy is believed."""

import pytest

from audit.models import AccessEvent
from tests.municipalities.login_helpers import LOGIN


def address_of_failed_login(client, peer, **headers):
    """The address the access log gives a failed login from ``peer`` with these headers."""
    response = client.post(
        LOGIN, {"username": "ingen", "password": "feil"}, REMOTE_ADDR=peer, **headers
    )
    assert response.status_code == 200
    return AccessEvent.objects.order_by("-sequence").values_list("ip_address", flat=True).first()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("peer", "named", "logged"),
    [
        pytest.param("127.0.0.1", "203.0.113.7", "203.0.113.7", id="trusted-proxy"),
        pytest.param("::1", "2001:db8::7", "2001:db8::7", id="trusted-proxy-ipv6"),
        pytest.param("198.51.100.2", "203.0.113.7", "198.51.100.2", id="untrusted-peer"),
        pytest.param("127.0.0.1", "not-an-address", "127.0.0.1", id="garbage"),
    ],
)
def test_failed_login_is_logged_with_the_address_the_trusted_proxy_names(
    settings, client, peer, named, logged
):
    settings.PROXY_ADDRESS_HEADER = "HTTP_X_REAL_IP"
    assert address_of_failed_login(client, peer, HTTP_X_REAL_IP=named) == logged


@pytest.mark.django_db
def test_x_forwarded_for_gives_the_entry_the_proxy_added(settings, client):
    settings.PROXY_ADDRESS_HEADER = "HTTP_X_FORWARDED_FOR"
    forwarded = "192.0.2.66, 203.0.113.8"
    assert address_of_failed_login(client, "127.0.0.1", HTTP_X_FORWARDED_FOR=forwarded) == (
        "203.0.113.8"
    )


@pytest.mark.django_db
def test_without_the_setting_the_header_is_ignored(client):
    assert address_of_failed_login(client, "127.0.0.1", HTTP_X_REAL_IP="203.0.113.7") == (
        "127.0.0.1"
    )
