"""The OpenID Connect provider the login tests log in at: oidc-provider-mock in a server
process of its own (municipalities/oidc_mock.py says what it does), and the claims HelseID
would send."""

import socket
from dataclasses import dataclass

from municipalities import oidc_mock

# HelseID's claim for the fødselsnummer: the provider sends it, Pålegg must store it nowhere.
PID_CLAIM = "helseid://claims/identity/pid"
# The mock accepts any secret; Pålegg sends it with client_secret_post.
CLIENT_SECRET = "mock-accepts-any-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class MockProvider:
    issuer: str
    process: object

    def provider(self, *, kind: str, label: str, scopes: str) -> dict:
        """One entry of settings.OIDC_PROVIDERS pointing at this mock, as the
        ``PALEGG_OIDC_<NAME>_*`` variables would give it."""
        return {
            "kind": kind,
            "issuer": self.issuer,
            "client_id": f"palegg-test-{kind}",
            "client_secret": CLIENT_SECRET,
            "private_key_file": "",
            "key_id": "",
            "scopes": scopes,
            "label": label,
        }

    def stop(self):
        oidc_mock.stop(self.process)


def start(users: list[dict]) -> MockProvider:
    issuer, process = oidc_mock.start(host="127.0.0.1", port=free_port(), users=users)
    return MockProvider(issuer=issuer, process=process)
