"""The OpenID Connect provider the login tests log in at: the local test provider
(municipalities/oidc_mock.py says what it does) in a server process of its own, with a
private_key_jwt client key of the tests' own."""

import socket
from dataclasses import dataclass
from pathlib import Path

from joserfc.jwk import RSAKey

from municipalities import oidc_mock

# HelseID's claim for the fødselsnummer: the provider sends it, Pålegg must store it nowhere.
PID_CLAIM = "helseid://claims/identity/pid"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class MockProvider:
    issuer: str
    process: object
    key_file: Path

    def environment(self, site_url: str) -> dict:
        """The PALEGG_OIDC_* environment a deployment at ``site_url`` would set for it."""
        return oidc_mock.palegg_environment(self.issuer, self.key_file, site_url)

    def stop(self):
        oidc_mock.stop(self.process)


def start(users: list[dict], directory: Path) -> MockProvider:
    key_file = directory / "client-key.pem"
    key_file.write_bytes(
        RSAKey.generate_key(2048, parameters={"kid": oidc_mock.KEY_ID}).as_pem(private=True)
    )
    issuer, process = oidc_mock.start(
        host="127.0.0.1", port=free_port(), users=users, client_key=key_file
    )
    return MockProvider(issuer=issuer, process=process, key_file=key_file)
