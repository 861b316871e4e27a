"""The local OpenID Connect test provider (oidc-provider-mock, a dev dependency), started in a
process of its own by the login tests and by ``manage.py oidc_demo``; never in production.

What the mock does, and what its users rely on:
- it signs ID tokens with RS256 and a key made at start, published at /jwks;
- its issuer is the address it was reached at, so Pålegg must reach it at the same address
  the browser does (``http://127.0.0.1:<port>``, not ``localhost``);
- any client id and any client secret are accepted (client_secret_post); private_key_jwt is
  added and checked against the client's public key (municipalities/oidc_mock_server.py);
- claims of a predefined user that are not standard OIDC claims (HelseID's
  ``helseid://claims/...``) go into the ID token whatever the scope; standard ones (name,
  email) only with their scope (profile, email);
- it grants only the standard scopes and drops others (HelseID's) without refusing.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

BASE_DIR = Path(__file__).resolve().parent.parent

STARTUP_SECONDS = 20

# HelseID's scopes and claims (NHN's utviklerportal, "Scopes"): the HPR number and the
# security level (2, 3 or 4).
HPR_CLAIM = "helseid://claims/hpr/hpr_number"
SECURITY_LEVEL_CLAIM = "helseid://claims/identity/security_level"
HELSEID_SCOPES = (
    "openid profile helseid://scopes/hpr/hpr_number helseid://scopes/identity/security_level"
)
ENTRA_SCOPES = "openid profile email"
# Entra ID with a client secret (the provider accepts any); HelseID with private_key_jwt, as
# HelseID requires, checked by the provider against the key given to it.
CLIENT_SECRET = "secret-for-the-local-test-provider"
KEY_ID = "palegg-local"


def helseid_user(sub: str, hpr_number: str, *, level: str = "4", **claims) -> dict:
    """A HelseID person as their ID token carries them."""
    return {"sub": sub, HPR_CLAIM: hpr_number, SECURITY_LEVEL_CLAIM: level, **claims}


def command(*, host: str, port: int, users: list[dict], client_key=None) -> list[str]:
    """The provider's command line (municipalities/oidc_mock_server.py), with ``users``
    (claims, each with a ``sub``) offered as one-click choices on its login page, nonces
    required, and private_key_jwt checked against ``client_key`` (a PEM file) if given."""
    args = [sys.executable, "-m", "municipalities.oidc_mock_server", "--host", host]
    args += ["--port", str(port)]
    for claims in users:
        args += ["--user-claims", json.dumps(claims)]
    if client_key:
        args += ["--client-key", str(client_key)]
    return args


def start(*, host, port, users, client_key=None, quiet=True, **popen):
    """Start the provider and return ``(issuer, process)`` once its discovery document
    answers."""
    issuer = f"http://{host}:{port}"
    output = subprocess.DEVNULL if quiet else None
    process = subprocess.Popen(
        command(host=host, port=port, users=users, client_key=client_key),
        cwd=BASE_DIR,
        env=dict(os.environ, NO_COLOR="1"),
        stdout=output,
        stderr=output,
        **popen,
    )
    try:
        wait_until_ready(issuer, process)
    except BaseException:
        stop(process)
        raise
    return issuer, process


def wait_until_ready(issuer: str, process: subprocess.Popen, seconds: float = STARTUP_SECONDS):
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"oidc-provider-mock exited with {process.returncode}")
        try:
            answer = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1)
            if answer.ok and answer.json().get("issuer") == issuer:
                return
        except (requests.RequestException, ValueError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"oidc-provider-mock did not answer at {issuer} in {seconds} s")
        time.sleep(0.1)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def palegg_environment(issuer: str, key_file, site_url: str = "http://127.0.0.1:8000") -> dict:
    """The PALEGG_OIDC_* settings that give Pålegg a HelseID-style and an Entra-style button at
    the local provider (the demo's, and the browser tests' through parse_oidc_providers)."""
    env = {
        "PALEGG_OIDC_PROVIDERS": "helseid,entra",
        "PALEGG_SITE_URL": site_url,
        "PALEGG_OIDC_HELSEID_PRIVATE_KEY_FILE": str(key_file),
        "PALEGG_OIDC_HELSEID_KEY_ID": KEY_ID,
        "PALEGG_OIDC_ENTRA_CLIENT_SECRET": CLIENT_SECRET,
    }
    for name, label, scopes in [
        ("HELSEID", "HelseID (lokal testleverandør)", HELSEID_SCOPES),
        ("ENTRA", "Entra ID (lokal testleverandør)", ENTRA_SCOPES),
    ]:
        env |= {
            f"PALEGG_OIDC_{name}_ISSUER": issuer,
            f"PALEGG_OIDC_{name}_CLIENT_ID": f"palegg-local-{name.lower()}",
            f"PALEGG_OIDC_{name}_SCOPES": scopes,
            f"PALEGG_OIDC_{name}_LABEL": label,
        }
    return env
