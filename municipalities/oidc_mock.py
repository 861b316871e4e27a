"""The local OpenID Connect test provider (oidc-provider-mock, a dev dependency), started in a
process of its own by the login tests and by ``manage.py oidc_demo``; never in production.

What the mock does, and what its users rely on:
- it signs ID tokens with RS256 and a key made at start, published at /jwks;
- its issuer is the address it was reached at, so Pålegg must reach it at the same address
  the browser does (``http://127.0.0.1:<port>``, not ``localhost``);
- any client id and any client secret are accepted (use client_secret_post); it has no
  private_key_jwt;
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

import requests

STARTUP_SECONDS = 20

# HelseID's scopes and claims (NHN's utviklerportal, "Scopes"): the HPR number and the
# security level (2, 3 or 4).
HPR_CLAIM = "helseid://claims/hpr/hpr_number"
SECURITY_LEVEL_CLAIM = "helseid://claims/identity/security_level"
HELSEID_SCOPES = (
    "openid profile helseid://scopes/hpr/hpr_number helseid://scopes/identity/security_level"
)
ENTRA_SCOPES = "openid profile email"


def helseid_user(sub: str, hpr_number: str, *, level: str = "4", **claims) -> dict:
    """A HelseID person as their ID token carries them."""
    return {"sub": sub, HPR_CLAIM: hpr_number, SECURITY_LEVEL_CLAIM: level, **claims}


def command(*, host: str, port: int, users: list[dict]) -> list[str]:
    """The mock's command line, with ``users`` (claims, each with a ``sub``) offered as
    one-click choices on its login page. Nonces are required, as HelseID requires them."""
    args = [sys.executable, "-m", "oidc_provider_mock", "--host", host, "--port", str(port)]
    args.append("--require-nonce")
    for claims in users:
        args += ["--user-claims", json.dumps(claims)]
    return args


def start(*, host: str, port: int, users: list[dict], quiet: bool = True, **popen):
    """Start the mock and return ``(issuer, process)`` once its discovery document answers."""
    issuer = f"http://{host}:{port}"
    output = subprocess.DEVNULL if quiet else None
    process = subprocess.Popen(
        command(host=host, port=port, users=users),
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
