"""The process the local OpenID Connect test provider runs in (``python -m
municipalities.oidc_mock_server``): oidc-provider-mock with one addition, private_key_jwt
client authentication checked as HelseID checks it, against the client's public key: the
signature, ``iss`` = ``sub`` = a client id, ``aud`` = the token endpoint, ``exp`` at most 60 s
ahead and a ``jti`` not seen before. Without --client-key the mock is as published. For the
tests and ``manage.py oidc_demo`` only (oidc-provider-mock is a dev dependency)."""

import argparse
import json
import os
import re
import time

import flask
import oidc_provider_mock
import uvicorn
from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jwk
from joserfc.errors import JoseError
from oidc_provider_mock import _app

PRIVATE_KEY_JWT = "private_key_jwt"
# HelseID: "exp ... must be no more than 60 seconds in the future".
MAX_ASSERTION_SECONDS = 60


class PrivateKeyJWT(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = PRIVATE_KEY_JWT

    def __init__(self, public_key):
        super().__init__(leeway=5)
        self.public_key = public_key
        self.seen = set()

    def get_audiences(self):
        return [flask.url_for("oidc-provider-mock.issue_token", _external=True)]

    def resolve_client_public_key(self, client):
        return self.public_key

    def validate_jti(self, claims, jti):
        if jti in self.seen:
            return False
        self.seen.add(jti)
        return True

    def verify_claims(self, claims):
        super().verify_claims(claims)
        if claims["exp"] > time.time() + MAX_ASSERTION_SECONDS + self.leeway:
            raise InvalidClientError(description="exp is more than 60 seconds ahead.")


def _authorization_server(app):
    """The mock's AuthorizationServer: it keeps it in the closure of its before_request hook
    (oidc-provider-mock 0.3/0.4 has no other way to reach it)."""
    for hook in app.before_request_funcs[None]:
        for cell in hook.__closure__ or ():
            if cell.cell_contents.__class__.__name__ == "AuthorizationServer":
                return cell.cell_contents
    raise RuntimeError("oidc-provider-mock's authorization server not found")


def _public_key(path):
    """The public half of the client's key (RS256 or ES256: an RSA or EC key in PEM)."""
    with open(path, "rb") as key_file:
        pem = key_file.read()
    for key_type in ("RSA", "EC"):
        try:
            key = jwk.import_key(pem, key_type)
        except JoseError:
            continue
        return jwk.import_key(key.as_dict(private=False), key_type)
    raise SystemExit(f"{path}: not an RSA or EC key in PEM")


def build(*, users: list[dict], client_key: str | None = None):
    app = oidc_provider_mock.app(
        require_nonce=True,
        user_claims=[
            oidc_provider_mock.User(sub=u["sub"], claims={k: v for k, v in u.items() if k != "sub"})
            for u in users
        ],
    )

    @app.after_request
    def _no_cdn(response):
        # The mock's pages link a stylesheet on a CDN; the demo fetches nothing from the
        # network, so the link is dropped and its pages are plain.
        if response.mimetype == "text/html" and not response.direct_passthrough:
            html = response.get_data(as_text=True)
            response.set_data(re.sub(r"<link[^>]*https://cdn[^>]*>", "", html))
        return response

    if client_key:
        public = _public_key(client_key)
        _authorization_server(app).register_client_auth_method(
            PRIVATE_KEY_JWT, PrivateKeyJWT(public)
        )
        grant = _app.AuthorizationCodeGrant
        if PRIVATE_KEY_JWT not in grant.TOKEN_ENDPOINT_AUTH_METHODS:
            grant.TOKEN_ENDPOINT_AUTH_METHODS = [
                *grant.TOKEN_ENDPOINT_AUTH_METHODS,
                PRIVATE_KEY_JWT,
            ]
    return app


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9400)
    parser.add_argument("--user-claims", action="append", default=[], type=json.loads)
    parser.add_argument("--client-key", help="PEM file with the client's (public or private) key")
    args = parser.parse_args()
    # The provider speaks plain HTTP on the loopback interface, as oidc-provider-mock's CLI.
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    app = build(users=args.user_claims, client_key=args.client_key)
    uvicorn.run(app, interface="wsgi", host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
