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


def verified_login(client, user) -> TOTPDevice:
    """Log the client in as ``user`` with a session that has passed the two-factor step, as
    django_otp.login leaves it (the step itself is tested through the pages)."""
    from django_otp import DEVICE_ID_SESSION_KEY

    device = give_totp(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device
