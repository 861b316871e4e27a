"""Every answer carries the security headers, and nothing on a page needs the content policy to
allow inline code: no <script> without src, no <style>, no style= or on…= attributes, in the
templates or in HTML the code writes (the two-factor QR code)."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from municipalities import two_factor
from tests import factories

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_DIRS = [REPO_ROOT / "templates", *REPO_ROOT.glob("*/templates")]
INLINE_CODE = {
    "inline script": re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I),
    "style element": re.compile(r"<style\b", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def assert_security_headers(response, *, page=True):
    csp = response["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["Referrer-Policy"] == "same-origin"
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in response["Permissions-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    if page:  # whitenoise answers static files before Django's clickjacking middleware
        assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_login_page_and_its_cookie_carry_the_security_headers(client):
    response = client.get("/logg-inn/")
    assert response.status_code == 200
    assert_security_headers(response)
    csrf = response.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf["httponly"] and csrf["samesite"] == "Lax"


def test_a_case_page_and_a_static_file_carry_the_security_headers(client, world, order):
    client.force_login(world.caseworker)
    response = client.get(f"/saker/{order.pk}/")
    assert response.status_code == 200
    assert_security_headers(response)
    static = client.get("/static/css/site.css")
    assert static.status_code == 200
    assert_security_headers(static, page=False)


@pytest.mark.django_db
def test_session_cookie_after_login_is_http_only_and_same_site(client):
    user = factories.UserFactory(username="informasjonskapsel")
    response = client.post(
        "/logg-inn/", {"username": user.username, "password": factories.PASSWORD}
    )
    assert response.status_code == 302
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session["httponly"] and session["samesite"] == "Lax"


def test_no_template_has_inline_script_style_or_event_handlers():
    found = []
    for directory in TEMPLATE_DIRS:
        for template in directory.rglob("*.html"):
            text = template.read_text()
            for kind, pattern in INLINE_CODE.items():
                for match in pattern.finditer(text):
                    line = text.count("\n", 0, match.start()) + 1
                    found.append(f"{template.relative_to(REPO_ROOT)}:{line}: {kind}")
    assert not found, "the content policy would block these (move them to static/):\n" + "\n".join(
        found
    )


@pytest.mark.django_db
def test_two_factor_qr_code_has_no_inline_style():
    user = factories.UserFactory(username="qr")
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=False)
    svg = two_factor.qr_svg(device)
    assert svg.strip().startswith("<svg")
    for kind, pattern in INLINE_CODE.items():
        assert not pattern.search(svg), kind
