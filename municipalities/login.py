"""What the rest of the login code agrees on: how the session remembers the way its user
logged in. Two-factor is asked of administrators and security officers only after a password
login; an OpenID Connect provider has already asked for its own."""

# Session key: "password", or "oidc:<provider name>".
LOGIN_METHOD = "palegg_login_method"
PASSWORD = "password"


def oidc_method(provider_name: str) -> str:
    return f"oidc:{provider_name}"


def mark(request, method: str) -> None:
    """Call right after django.contrib.auth.login (which has rotated the session key)."""
    request.session[LOGIN_METHOD] = method


def method_of(request) -> str:
    return request.session.get(LOGIN_METHOD, "")
