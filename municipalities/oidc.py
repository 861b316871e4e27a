"""OpenID Connect login (HelseID, ID-porten, Entra ID or another provider): the authorization
code flow with PKCE, state and nonce, the ID token verified against the provider's keys, and
the login bound to a person (municipalities.models.LoginIdentity).

Built on Authlib's pieces (tokens, the S256 challenge, the private_key_jwt assertion, the ID
token's claim rules) and joserfc for the signature, rather than on its Django client: that
client keeps metadata and keys on a process-wide registry built once from settings, and its
``parse_id_token`` checks the audience only when asked to. Here every check is stated once,
below, and the providers are read from ``settings.OIDC_PROVIDERS`` at each request.

Nothing from the tokens is kept beyond the request: not the tokens themselves, and never the
``pid`` claim (fødselsnummer), which is read for nothing.
"""

import hashlib
import logging
import re
import time
from urllib.parse import urlencode

import requests
from authlib.common.security import generate_token
from authlib.oauth2.rfc7523 import private_key_jwt_sign
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from django.conf import settings
from django.contrib import auth
from django.core.cache import cache
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_noop
from joserfc import errors as jose_errors
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

import audit

from . import appointments, invitations, login
from .models import HealthPersonnel, LoginIdentity

logger = logging.getLogger(__name__)

# The session key under which started logins wait for their callback: {state: {...}}.
SESSION_KEY = "palegg_oidc_pending"
# A started login must come back within this many seconds; a browser may have a few going.
PENDING_SECONDS = 10 * 60
PENDING_MAX = 5
# Discovery documents and key sets are kept this long (a key rotation is noticed sooner: an
# unknown kid fetches the keys again at once).
CACHE_SECONDS = 60 * 60
# Seconds of clock difference allowed between us and the provider for exp and iat.
LEEWAY = 60
# Client assertions (private_key_jwt): HelseID accepts them at most 60 seconds ahead.
ASSERTION_SECONDS = 60
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Only asymmetric signatures: never "none", never a MAC keyed with something public.
ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]
HTTP_TIMEOUT = (5, 10)

HPR_CLAIM = "helseid://claims/hpr/hpr_number"
SECURITY_LEVEL_CLAIM = "helseid://claims/identity/security_level"

# Why a login is refused: the code goes to the access log, the text to the page. Codes in
# PROTOCOL are a broken or stale exchange (400); the others refuse the person (403).
REASONS = {
    "provider_error": gettext_noop(
        "The login service did not answer as expected. Try again in a while."
    ),
    "provider_denied": gettext_noop("The login was cancelled or refused at the login service."),
    "missing_parameters": gettext_noop(
        "The answer from the login service was incomplete. Start again."
    ),
    "state_unknown": gettext_noop(
        "This login attempt is unknown or has expired. Start the login again."
    ),
    "state_replayed": gettext_noop(
        "This login answer has already been used. Start the login again."
    ),
    "invalid_token": gettext_noop(
        "The answer from the login service could not be read. Start again."
    ),
    "bad_signature": gettext_noop("The login could not be verified: the signature is not valid."),
    "wrong_audience": gettext_noop("The login was issued for another service than Pålegg."),
    "wrong_issuer": gettext_noop(
        "The login was issued by another login service than the one asked."
    ),
    "expired": gettext_noop("The login has expired. Start the login again."),
    "nonce_mismatch": gettext_noop("The login does not belong to this login attempt. Start again."),
    "security_level": gettext_noop(
        "This login needs security level 4 (high), for example BankID. "
        "Log in again with such a method."
    ),
    "no_hpr": gettext_noop("The login did not carry an HPR number, and no invitation was waiting."),
    "hpr_unknown": gettext_noop("Your HPR number is not in Pålegg's health personnel register."),
    "not_invited": gettext_noop(
        "You have no access to Pålegg yet. Open the invitation link you were "
        "sent by e-mail first, then log in."
    ),
    "deactivated": gettext_noop("Your access to Pålegg has ended."),
    **{f"invitation_{key}": text for key, text in invitations.REASONS.items()},
}
PROTOCOL = {
    "provider_error",
    "provider_denied",
    "missing_parameters",
    "state_unknown",
    "state_replayed",
    "invalid_token",
}
CLAIM_REASONS = {
    "aud": "wrong_audience",
    "azp": "wrong_audience",
    "iss": "wrong_issuer",
    "exp": "expired",
    "nonce": "nonce_mismatch",
}


class LoginRefused(Exception):
    """The login cannot go on; ``reason`` is a key of :data:`REASONS`."""

    def __init__(self, reason: str, user=None):
        super().__init__(reason)
        self.reason = reason
        self.user = user

    @property
    def status(self) -> int:
        return 400 if self.reason in PROTOCOL else 403


def provider(name: str) -> dict:
    return settings.OIDC_PROVIDERS[name]


def provider_links(next_url: str = "") -> list[dict]:
    """One login link per configured provider (name, label, url), read from settings each time
    so that only what is configured is offered: the login page and the invitation page."""
    from django.utils.translation import gettext as _

    query = "?" + urlencode({"next": next_url}) if next_url else ""
    return [
        {
            "name": name,
            "label": _(config["label"]),
            "url": reverse("oidc_login", kwargs={"provider": name}) + query,
        }
        for name, config in settings.OIDC_PROVIDERS.items()
    ]


def redirect_uri(name: str) -> str:
    return settings.SITE_URL + reverse("oidc_callback", kwargs={"provider": name})


def safe_next(request, next_url: str) -> str:
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return resolve_url(settings.LOGIN_REDIRECT_URL)


# ---------------------------------------------------------------------- the provider's documents


def _get_json(url: str, *, method="GET", data=None) -> dict:
    """A JSON object from the provider, or provider_error: a provider that is down, slow or
    answers garbage is a refusal page, never a 500."""
    try:
        response = requests.request(
            method,
            url,
            data=data,
            timeout=HTTP_TIMEOUT,
            allow_redirects=False,
            headers={"Accept": "application/json"},
        )
        document = response.json() if response.status_code == 200 else None
    except (requests.RequestException, ValueError) as error:
        logger.warning("OpenID Connect provider unreachable: %s", type(error).__name__)
        raise LoginRefused("provider_error") from None
    if not isinstance(document, dict):
        logger.warning("OpenID Connect provider answered %s at %s", response.status_code, url)
        raise LoginRefused("provider_error")
    return document


def _cache_key(kind: str, url: str) -> str:
    return f"oidc:{kind}:{hashlib.sha256(url.encode()).hexdigest()}"


def metadata(config: dict) -> dict:
    """The provider's discovery document (cached), checked to be the issuer configured."""
    key = _cache_key("discovery", config["issuer"])
    document = cache.get(key)
    if document is None:
        document = _get_json(config["issuer"] + "/.well-known/openid-configuration")
        endpoints = ("authorization_endpoint", "token_endpoint", "jwks_uri")
        # OpenID Connect Discovery § 4.3: the document's issuer must be the one asked.
        if document.get("issuer", "").rstrip("/") != config["issuer"] or not all(
            isinstance(document.get(e), str) and re.match(r"https?://", document[e])
            for e in endpoints
        ):
            logger.warning("OpenID Connect discovery of %s is not usable", config["issuer"])
            raise LoginRefused("provider_error")
        cache.set(key, document, CACHE_SECONDS)
    return document


def keys(config: dict, *, refresh=False) -> KeySet:
    """The provider's signing keys (JWKS), cached; ``refresh`` fetches them again."""
    uri = metadata(config)["jwks_uri"]
    key = _cache_key("jwks", uri)
    key_set = None if refresh else cache.get(key)
    if key_set is None:
        key_set = _get_json(uri)
        cache.set(key, key_set, CACHE_SECONDS)
    try:
        return KeySet.import_key_set(key_set)
    except (jose_errors.JoseError, ValueError, TypeError, KeyError):
        cache.delete(key)
        raise LoginRefused("provider_error") from None


# ---------------------------------------------------------------------- starting a login


def begin(request, name: str, next_url: str = "") -> str:
    """Remember a new login attempt in the session and return the provider's authorization
    URL: state (single use, against forged callbacks), nonce (binds the ID token to this
    attempt) and a PKCE verifier (binds the code to this browser)."""
    config = provider(name)
    document = metadata(config)
    state, nonce, verifier = generate_token(43), generate_token(43), generate_token(64)
    now = int(time.time())
    pending = {
        s: p
        for s, p in request.session.get(SESSION_KEY, {}).items()
        if now - p.get("at", 0) < PENDING_SECONDS
    }
    while len(pending) >= PENDING_MAX:
        pending.pop(next(iter(pending)))
    pending[state] = {
        "provider": name,
        "nonce": nonce,
        "verifier": verifier,
        "next": safe_next(request, next_url) if next_url else "",
        "at": now,
    }
    request.session[SESSION_KEY] = pending
    params = {
        "response_type": "code",
        "client_id": config["client_id"],
        "redirect_uri": redirect_uri(name),
        "scope": config["scopes"],
        "state": state,
        "nonce": nonce,
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    if config["acr_values"]:
        params["acr_values"] = config["acr_values"]
    separator = "&" if "?" in document["authorization_endpoint"] else "?"
    return document["authorization_endpoint"] + separator + urlencode(params)


# ---------------------------------------------------------------------- the callback


def _spent_key(state: str) -> str:
    return _cache_key("spent-state", state)


def _take_pending(request, name: str) -> dict:
    """The attempt this callback answers, removed from the session so that it works once."""
    state = request.GET.get("state", "")
    if not state:
        raise LoginRefused("missing_parameters")
    pending = request.session.get(SESSION_KEY, {})
    attempt = pending.pop(state, None) if isinstance(pending, dict) else None
    if attempt is None:
        # Spent states are remembered (hashed) so that a replay is named as one.
        raise LoginRefused("state_replayed" if cache.get(_spent_key(state)) else "state_unknown")
    request.session[SESSION_KEY] = pending
    request.session.save()
    cache.set(_spent_key(state), True, PENDING_SECONDS * 6)
    if attempt["provider"] != name or time.time() - attempt["at"] >= PENDING_SECONDS:
        raise LoginRefused("state_unknown")
    return attempt


def client_assertion(config: dict, token_endpoint: str) -> str:
    """private_key_jwt (RFC 7523, as HelseID requires): iss = sub = client id, aud = the token
    endpoint, exp 60 seconds ahead, a random jti; RS256 or ES256 by the key's type."""
    with open(config["private_key_file"], "rb") as key_file:
        pem = key_file.read()
    try:
        key, alg = RSAKey.import_key(pem), "RS256"
    except (jose_errors.JoseError, ValueError, TypeError):
        key, alg = ECKey.import_key(pem), "ES256"
    now = int(time.time())
    return private_key_jwt_sign(
        key,
        client_id=config["client_id"],
        token_endpoint=token_endpoint,
        alg=alg,
        header={"kid": config["key_id"]} if config["key_id"] else None,
        issued_at=now,
        expires_at=now + ASSERTION_SECONDS,
    )


def _exchange_code(config: dict, name: str, code: str, verifier: str) -> dict:
    token_endpoint = metadata(config)["token_endpoint"]
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri(name),
        "code_verifier": verifier,
        "client_id": config["client_id"],
    }
    if config["private_key_file"]:
        data["client_assertion_type"] = ASSERTION_TYPE
        data["client_assertion"] = client_assertion(config, token_endpoint)
    else:
        data["client_secret"] = config["client_secret"]
    return _get_json(token_endpoint, method="POST", data=data)


def _decode(id_token: str, key_set: KeySet, algorithms):
    return jwt.decode(id_token, key_set, algorithms=algorithms)


def verify_id_token(config: dict, token: dict, nonce: str) -> dict:
    """The ID token's claims, after its signature (against the provider's JWKS, fetched again
    once for a kid it does not know: the provider has rotated its keys), issuer, audience,
    expiry, issue time and nonce are checked."""
    id_token = token.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise LoginRefused("invalid_token")
    supported = metadata(config).get("id_token_signing_alg_values_supported")
    algorithms = [a for a in ID_TOKEN_ALGORITHMS if not supported or a in supported]
    try:
        try:
            decoded = _decode(id_token, keys(config), algorithms)
        except jose_errors.InvalidKeyIdError:
            decoded = _decode(id_token, keys(config, refresh=True), algorithms)
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "value": config["issuer"]},
                "aud": {"essential": True, "value": config["client_id"]},
                "exp": {"essential": True},
                "iat": {"essential": True},
                "nonce": {"essential": True, "value": nonce},
            },
            {
                "nonce": nonce,
                "client_id": config["client_id"],
                "access_token": token.get("access_token"),
            },
        )
        claims.validate(leeway=LEEWAY)
    except jose_errors.BadSignatureError:
        raise LoginRefused("bad_signature") from None
    except jose_errors.InvalidKeyIdError:
        raise LoginRefused("bad_signature") from None
    except jose_errors.ExpiredTokenError:
        raise LoginRefused("expired") from None
    except jose_errors.ClaimError as error:
        raise LoginRefused(CLAIM_REASONS.get(error.claim, "invalid_token")) from None
    except (jose_errors.JoseError, ValueError, TypeError):
        raise LoginRefused("invalid_token") from None
    if not isinstance(claims.get("sub"), str) or not 0 < len(claims["sub"]) <= 255:
        raise LoginRefused("invalid_token")
    return dict(claims)


def check_assurance(config: dict, claims: dict) -> None:
    """The level of assurance the kind of provider must give: HelseID's security level (4:
    BankID and the like), and ID-porten's acr where one was asked for."""
    minimum = config.get("min_security_level")
    if minimum is not None:
        try:
            level = int(str(claims.get(SECURITY_LEVEL_CLAIM, "")))
        except ValueError:
            level = 0
        if level < minimum:
            raise LoginRefused("security_level")
    if config["kind"] == "idporten" and config["acr_values"]:
        if claims.get("acr") not in config["acr_values"].split():
            raise LoginRefused("security_level")


def _personnel_login(claims: dict):
    """HelseID: the login of the health personnel the HPR claim names (made if they have
    none), so that a GP in the register gets in with nobody having set anything up."""
    hpr_number = str(claims.get(HPR_CLAIM) or "")
    if not hpr_number:
        raise LoginRefused("no_hpr")
    personnel = None
    if re.fullmatch(r"\d{7,9}", hpr_number):
        personnel = (
            HealthPersonnel.objects.select_related("user").filter(hpr_number=hpr_number).first()
        )
    if personnel is None:
        raise LoginRefused("hpr_unknown")
    if personnel.user is not None and not personnel.user.is_active:
        raise LoginRefused("deactivated", personnel.user)
    return appointments.ensure_login(acting_user=None, personnel=personnel)


def bind(request, name: str, config: dict, claims: dict):
    """The person this login is: an identity bound before, else the invitation opened in
    this session (spent now), else for HelseID the HPR number; the identity is then bound."""
    subject = claims["sub"]
    identity = (
        LoginIdentity.objects.select_related("user").filter(provider=name, subject=subject).first()
    )
    if identity is not None:
        user = identity.user
        if not user.is_active:
            raise LoginRefused("deactivated", user)
    else:
        invitation = invitations.pending(request)
        if invitation is not None:
            if not invitation.user.is_active:
                raise LoginRefused("deactivated", invitation.user)
            try:
                user = invitations.use(
                    invitation, used_for=login.oidc_method(name), request=request
                )
            except invitations.InvitationRefused as refused:
                raise LoginRefused(f"invitation_{refused.reason}", invitation.user) from None
        elif config["kind"] == "helseid":
            user = _personnel_login(claims)
        else:
            raise LoginRefused("not_invited")
        identity, _created = LoginIdentity.objects.get_or_create(
            provider=name, subject=subject, defaults={"user": user}
        )
    identity.last_login_at = timezone.now()
    identity.save(update_fields=["last_login_at"])
    return user


def complete(request, name: str) -> str:
    """Finish the login the provider sends back; returns where to go next. Raises
    :class:`LoginRefused` with the reason for anything that does not hold."""
    config = provider(name)
    if request.GET.get("error"):
        # Still spend the attempt, so that the same state cannot be used afterwards.
        if request.GET.get("state"):
            try:
                _take_pending(request, name)
            except LoginRefused:
                pass
        raise LoginRefused("provider_denied")
    attempt = _take_pending(request, name)
    code = request.GET.get("code", "")
    if not code or len(code) > 2000:
        raise LoginRefused("missing_parameters")
    token = _exchange_code(config, name, code, attempt["verifier"])
    claims = verify_id_token(config, token, attempt["nonce"])
    # The tokens are not needed after this: nothing keeps them, not the session either.
    del token
    check_assurance(config, claims)
    # No transaction around it: a refused second use of an invitation stays in the log.
    user = bind(request, name, config, claims)
    del claims
    auth.login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    login.mark(request, login.oidc_method(name))
    return safe_next(request, attempt["next"])


def record_refusal(request, name: str, refused: LoginRefused) -> None:
    """A refused login in the access log: the reason code only, never a token or a claim."""
    audit.record(
        request=request,
        user=refused.user,
        action=audit.Action.LOGIN,
        target=f"oidc:{name}",
        outcome="refused",
        detail=refused.reason,
    )
