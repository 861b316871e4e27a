"""TOTP two-factor for administrators and security officers who logged in with a password
(an OpenID Connect provider has asked for its own second factor), and for every operator.
Enrolment gives a TOTP device and ten single-use recovery codes; a wrong code is slowed down
by django-otp's own throttling (each failure in a row doubles the wait)."""

import io
from base64 import b32encode

import django_otp
import qrcode
import qrcode.image.svg
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

import audit

from . import access, login

RECOVERY_CODES = 10
# A device being set up is not confirmed until a code from it has been typed.
DEVICE_NAME = "authenticator"
RECOVERY_NAME = "recovery"


def required(request) -> bool:
    """This session must pass the second factor before any page: a password login (sessions
    without a login method come only from tests' force_login) of an administrator or
    security officer that has not passed it yet; and any session of an operator (a
    superuser: access.is_operator) that has not, however they logged in, since the operators'
    admin site trusts only this step (config/admin.py asks django-otp's is_verified)."""
    user = request.user
    if not user.is_authenticated or user.is_verified():
        return False
    if access.is_operator(user):
        return True
    return login.method_of(request) == login.PASSWORD and request.capabilities.has_two_factor_role()


def confirmed_device(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def pending_device(user) -> TOTPDevice:
    """The device being set up (one per user), made with a new secret if there is none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def secret_of(device) -> str:
    """The secret as an authenticator app takes it when typed (base32, in groups of four)."""
    text = b32encode(device.bin_key).decode()
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def qr_svg(device) -> str:
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    # Inline in the page: without the XML declaration.
    return buffer.getvalue().decode().split("?>", 1)[-1]


def _log(request, action, outcome="shown", detail=""):
    audit.record(
        request=request,
        action=action,
        target=request.user,
        outcome=outcome,
        detail=detail,
        capacity=request.capabilities.capacity(),
    )


def confirm_enrolment(request, device, code) -> list[str] | None:
    """Confirm the new device with a code from it; returns the recovery codes (shown once)."""
    if not device.verify_token(code):
        _log(request, audit.Action.TWO_FACTOR_ENROL, "refused", "wrong_code")
        return None
    with transaction.atomic():
        device.confirmed = True
        device.save()
        TOTPDevice.objects.filter(user=request.user).exclude(pk=device.pk).delete()
        StaticDevice.objects.filter(user=request.user).delete()
        recovery = StaticDevice.objects.create(user=request.user, name=RECOVERY_NAME)
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.bulk_create(StaticToken(device=recovery, token=c) for c in codes)
    django_otp.login(request, device)
    _log(request, audit.Action.TWO_FACTOR_ENROL)
    return codes


def verify(request, code) -> bool:
    """A code from the authenticator, or a recovery code (which then is spent)."""
    device = django_otp.match_token(request.user, code.replace(" ", "").lower())
    if device is None:
        _log(request, audit.Action.TWO_FACTOR, "refused", "wrong_code")
        return False
    django_otp.login(request, device)
    _log(
        request,
        audit.Action.TWO_FACTOR,
        detail="recovery" if isinstance(device, StaticDevice) else "totp",
    )
    return True
