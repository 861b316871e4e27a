"""A small but real OpenID Connect provider for the login tests, in an HTTP server thread of
the test process: discovery, JWKS, authorize (the test chooses the person's claims) and a token
endpoint that checks PKCE, records the client authentication it was given and signs the ID
token as the chosen scenario says (good, tampered, wrong audience, …).

It speaks real HTTP and real JOSE, so the product's code is exercised end to end; only the
person at the provider is played by the test (``provider.claims = {...}``).
"""

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

SCENARIOS = {
    "good",
    "tampered",  # the signature's bytes changed
    "wrong_aud",
    "wrong_iss",
    "expired",
    "wrong_nonce",
    "new_key",  # signed by a key the provider has just started publishing (rotation)
    "down",  # the token endpoint answers 500 with HTML
    "garbage",  # the token endpoint answers 200 with something that is not JSON
}


class Provider:
    def __init__(self):
        self.key = RSAKey.generate_key(2048, parameters={"kid": "key-1", "use": "sig"})
        self.next_key = RSAKey.generate_key(2048, parameters={"kid": "key-2", "use": "sig"})
        self.published = [self.key]
        self.scenario = "good"
        self.claims = {}
        self.codes = {}
        self.authorize_requests = []
        self.token_requests = []
        self.jwks_fetches = 0
        self.client_id = "palegg-test"
        self.client_secret = ""
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def reset(self, **claims):
        self.scenario = "good"
        self.claims = claims
        self.published = [self.key]
        self.codes.clear()
        self.authorize_requests.clear()
        self.token_requests.clear()
        self.jwks_fetches = 0

    def rotate(self):
        """Start publishing the next key and sign with it (the old one stays listed)."""
        self.published = [self.key, self.next_key]
        self.scenario = "new_key"

    @property
    def token_endpoint(self):
        return self.issuer + "/token"

    def discovery(self):
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.token_endpoint,
            "jwks_uri": self.issuer + "/jwks",
            "response_types_supported": ["code"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_post"],
        }

    def jwks(self):
        self.jwks_fetches += 1
        return KeySet(self.published).as_dict(private=False)

    def authorize(self, query):
        params = {k: v[0] for k, v in parse_qs(query).items()}
        self.authorize_requests.append(params)
        if params.get("client_id") != self.client_id or params.get("response_type") != "code":
            return 400, {"error": "invalid_request"}
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return 400, {"error": "invalid_request", "error_description": "PKCE S256 needed"}
        code = secrets.token_urlsafe(24)
        self.codes[code] = {"params": params, "claims": dict(self.claims)}
        location = (
            params["redirect_uri"] + "?" + urlencode({"code": code, "state": params["state"]})
        )
        return 302, location

    def token(self, body):
        form = {k: v[0] for k, v in parse_qs(body).items()}
        self.token_requests.append(form)
        if self.scenario == "down":
            return 500, "<html>Internal Server Error</html>"
        if self.scenario == "garbage":
            return 200, "this is not json {"
        grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        if grant is None or form.get("redirect_uri") != grant["params"]["redirect_uri"]:
            return 400, {"error": "invalid_grant"}
        challenge = (
            base64.urlsafe_b64encode(
                hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            )
            .rstrip(b"=")
            .decode()
        )
        if challenge != grant["params"]["code_challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE"}
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": "subject-1",
            "iat": now,
            "exp": now + 300,
            "nonce": grant["params"].get("nonce"),
            **grant["claims"],
        }
        key = self.key
        if self.scenario == "wrong_aud":
            claims["aud"] = "someone-else"
        elif self.scenario == "wrong_iss":
            claims["iss"] = "http://evil.invalid"
        elif self.scenario == "expired":
            claims["iat"], claims["exp"] = now - 7200, now - 3600
        elif self.scenario == "wrong_nonce":
            claims["nonce"] = "not-the-nonce"
        elif self.scenario == "new_key":
            key = self.next_key
        id_token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
        if self.scenario == "tampered":
            head, payload, signature = id_token.split(".")
            flipped = "A" if signature[10] != "A" else "B"
            id_token = ".".join([head, payload, signature[:10] + flipped + signature[11:]])
        return 200, {
            "access_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }


def _handler(provider: Provider):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _answer(self, status, content):
            if status == 302:
                self.send_response(302)
                self.send_header("Location", content)
                self.end_headers()
                return
            data = content if isinstance(content, str) else json.dumps(content)
            self.send_response(status)
            self.send_header(
                "Content-Type", "application/json" if not isinstance(content, str) else "text/html"
            )
            self.send_header("Content-Length", str(len(data.encode())))
            self.end_headers()
            self.wfile.write(data.encode())

        def do_GET(self):
            url = urlparse(self.path)
            if url.path == "/.well-known/openid-configuration":
                self._answer(200, provider.discovery())
            elif url.path == "/jwks":
                self._answer(200, provider.jwks())
            elif url.path == "/authorize":
                self._answer(*provider.authorize(url.query))
            else:
                self._answer(404, {"error": "not_found"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length).decode()
            if urlparse(self.path).path == "/token":
                self._answer(*provider.token(body))
            else:
                self._answer(404, {"error": "not_found"})

    return Handler
