"""Test helpers for TOTP two-factor: give a user a confirmed authenticator device and compute
the code it shows now (django_otp.oath.TOTP, as an authenticator app does)."""

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


def give_totp(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def code_for(device) -> str:
    """The code for the current time step (time-machine moves it too)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def next_code_for(device) -> str:
    """The code of the next time step: a device accepts each step's code once, and a test
    that logs in twice within 30 s would otherwise be refused as a replay."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time += device.step
    return f"{totp.token():0{device.digits}d}"
