"""Try the OpenID Connect login on one machine with no network: a local test provider
(oidc-provider-mock on 127.0.0.1:9400) offering the demo GP, by HPR number, and the demo
caseworker, and the demo server with a HelseID-style and an Entra-style button pointing at it.
Ctrl-C stops both. ``make oidc-demo`` loads the demo data first."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from joserfc.jwk import RSAKey

from municipalities import oidc_mock
from municipalities.models import HealthPersonnel, LoginIdentity, User

HOST, PORT = "127.0.0.1", 9400
SERVER = "127.0.0.1:8000"
# The demo people the provider offers (load_demo makes them). The GP is bound by the HPR
# number in the claim at the first login, as in production; the caseworker's Entra login is
# bound here, as an invitation would have bound it.
GP_USERNAME, GP_SUB = "lege.oslo", "demo-fastlege-oslo"
CASEWORKER_USERNAME, CASEWORKER_SUB = "saksbehandler.sfoa", "demo-saksbehandler-sfoa"
ENTRA = "entra"


def client_key() -> Path:
    """The demo's HelseID client key (RS256) for private_key_jwt, made once under var/ and
    never committed; the provider checks the assertions signed with it."""
    path = Path(settings.VAR_DIR) / "oidc-demo-client-key.pem"
    if not path.exists():
        key = RSAKey.generate_key(2048, parameters={"kid": oidc_mock.KEY_ID})
        path.write_bytes(key.as_pem(private=True))
        path.chmod(0o600)
    return path


def provider_users() -> list[dict]:
    """The claims the provider gives the demo GP and the demo caseworker."""
    gp = HealthPersonnel.objects.get(user__username=GP_USERNAME)
    caseworker = User.objects.get(username=CASEWORKER_USERNAME)
    return [
        oidc_mock.helseid_user(GP_SUB, gp.hpr_number, name=gp.name),
        {
            "sub": CASEWORKER_SUB,
            # Entra ID's object id: the same person across the organisation's applications.
            "oid": CASEWORKER_SUB,
            "name": caseworker.get_full_name(),
            "email": caseworker.email,
            "preferred_username": caseworker.email,
        },
    ]


def bind_caseworker() -> LoginIdentity:
    """The demo caseworker's Entra login (idempotent)."""
    identity, _ = LoginIdentity.objects.get_or_create(
        provider=ENTRA,
        subject=CASEWORKER_SUB,
        defaults={"user": User.objects.get(username=CASEWORKER_USERNAME)},
    )
    return identity


def _stop_group(process: subprocess.Popen) -> None:
    """Stop a child started in a session of its own, with whatever it started (runserver's
    autoreloader runs the server in a child process)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _interrupt(*_):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Start a local OpenID Connect test provider (127.0.0.1:9400) and the demo server "
        "with HelseID- and Entra-style login buttons. Run load_demo first."
    )

    def handle(self, *args, **options):
        try:
            users = provider_users()
        except (HealthPersonnel.DoesNotExist, User.DoesNotExist) as missing:
            raise CommandError("No demo data: run `manage.py load_demo` first.") from missing
        bind_caseworker()
        key_file = client_key()
        # A terminal's Ctrl-C reaches this process only (the children have sessions of their
        # own, so none is left behind); SIGTERM and a closed terminal stop it the same way. Set
        # explicitly: a shell starting this in the background would have SIGINT ignored.
        for stop_signal in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(stop_signal, _interrupt)
        try:
            issuer, provider = oidc_mock.start(
                host=HOST, port=PORT, users=users, client_key=key_file, start_new_session=True
            )
        except RuntimeError as failed:
            raise CommandError(f"{failed} (is port {PORT} in use?)") from failed
        server = None
        try:
            server = subprocess.Popen(
                [sys.executable, str(settings.BASE_DIR / "manage.py"), "runserver", SERVER],
                env=os.environ | oidc_mock.palegg_environment(issuer, key_file),
                start_new_session=True,
            )
            self._explain(issuer)
            while provider.poll() is None and server.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            if server is not None:
                _stop_group(server)
            oidc_mock.stop(provider)
        self.stdout.write("Stopped the demo server and the test provider.")

    def _explain(self, issuer):
        self.stdout.write(
            f"\nLocal OpenID Connect test provider: {issuer}\n"
            f"Open http://{SERVER}/logg-inn/ and choose\n"
            f"  HelseID (lokal testleverandør), then {GP_SUB}: "
            f"the GP {GP_USERNAME}, found by HPR number\n"
            f"  Entra ID (lokal testleverandør), then {CASEWORKER_SUB}: "
            f"the caseworker {CASEWORKER_USERNAME}\n"
            "The demo password logins keep working. Ctrl-C stops both servers.\n"
        )
