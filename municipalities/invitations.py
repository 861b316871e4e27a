"""Invitations: how a person who has been appointed, but has no login, gets in.

An invitation is a one-time link sent by e-mail (content-free: it says only that there is
access waiting). The link's token is shown once, in the e-mail or to the command that made it;
only its SHA-256 is stored. Opening the link puts the invitation in the session
(:data:`SESSION_KEY`); it is spent (:func:`use`) by the first OpenID Connect login, which it
binds to the person, or by setting a password where local accounts are allowed.
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

import audit

from .models import Invitation, User

# The session key under which an opened, still valid invitation waits for its first login.
SESSION_KEY = "palegg_invitation"


class InvitationRefused(Exception):
    """The link cannot be used; ``reason`` is one of :data:`REASONS`, for the page and the log."""

    def __init__(self, reason: str, invitation: Invitation | None = None):
        super().__init__(reason)
        self.reason = reason
        self.invitation = invitation


# Why a link is refused, as the person is told.
REASONS = {
    "unknown": "This invitation link is not valid. Check that the whole link was copied.",
    "used": "This invitation link has already been used. It works only once.",
    "expired": "This invitation link has expired.",
    "revoked": "This invitation has been withdrawn.",
}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_for(token: str) -> str:
    return settings.SITE_URL + reverse("municipalities:invitation", kwargs={"token": token})


def _send(invitation: Invitation, token: str) -> None:
    if not invitation.email:
        return
    # Content-free: no name, no case, no organisation; only that there is a login waiting.
    send_mail(
        _("Pålegg: you have been given access"),
        _(
            "You have been given access to Pålegg.\n\n"
            "Open this link to log in for the first time. It works once, until %(expires)s:\n"
            "%(link)s\n\n"
            "If you did not expect this, you can ignore this message."
        )
        % {
            "link": link_for(token),
            "expires": timezone.localtime(invitation.expires_at).strftime("%d.%m.%Y %H:%M"),
        },
        settings.DEFAULT_FROM_EMAIL,
        [invitation.email],
    )


def _record(action, invitation, *, request=None, user=None, outcome="shown", detail=""):
    audit.record(
        request=request,
        user=user,
        action=action,
        target=invitation if invitation is not None else "invitation:",
        outcome=outcome,
        detail=detail,
    )


def issue(*, acting_user, user: User, request=None) -> tuple[Invitation, str]:
    """Make a new invitation for ``user`` and e-mail it; returns it with its link (the only
    time the link exists outside the e-mail). Earlier unused invitations are revoked, so only
    the newest link works."""
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with audit.acting_as(acting_user), transaction.atomic():
        for older in Invitation.objects.filter(
            user=user, used_at__isnull=True, revoked_at__isnull=True
        ):
            older.revoked_at = now
            older.revoked_by = acting_user
            older.save()
        invitation = Invitation.objects.create(
            user=user,
            token_hash=_hash(token),
            email=user.email,
            created_by=acting_user,
            expires_at=now + timedelta(days=settings.INVITATION_DAYS),
        )
        _record(audit.Action.INVITATION_SEND, invitation, request=request, user=acting_user)
        transaction.on_commit(lambda: _send(invitation, token))
    return invitation, link_for(token)


def resend(*, acting_user, invitation: Invitation, request=None) -> tuple[Invitation, str]:
    """A fresh link (and a fresh expiry) for the same person; the old link stops working."""
    return issue(acting_user=acting_user, user=invitation.user, request=request)


def revoke(*, acting_user, invitation: Invitation, request=None) -> Invitation:
    with audit.acting_as(acting_user), transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.state == Invitation.State.SENT:
            invitation.revoked_at = timezone.now()
            invitation.revoked_by = acting_user
            invitation.save()
            _record(
                audit.Action.INVITATION_REVOKE, invitation, request=request, user=acting_user
            )
    return invitation


def find(token: str) -> Invitation:
    """The invitation this token opens, or :class:`InvitationRefused` with the reason."""
    invitation = (
        Invitation.objects.select_related("user").filter(token_hash=_hash(token or "")).first()
    )
    if invitation is None:
        raise InvitationRefused("unknown")
    state = invitation.state
    if state != Invitation.State.SENT:
        raise InvitationRefused(state, invitation)
    if not invitation.user.is_active:
        raise InvitationRefused("revoked", invitation)
    return invitation


def pending(request) -> Invitation | None:
    """The invitation opened in this session and not yet used, if it is still valid."""
    pk = request.session.get(SESSION_KEY)
    if pk is None:
        return None
    invitation = Invitation.objects.select_related("user").filter(pk=pk).first()
    if invitation is None or invitation.state != Invitation.State.SENT:
        request.session.pop(SESSION_KEY, None)
        return None
    return invitation


def use(invitation: Invitation, *, used_for: str, request=None) -> User:
    """Spend the invitation (once: a second use raises :class:`InvitationRefused`) and return
    the person it was for. ``used_for`` is "password" or "oidc:<provider>"."""
    with audit.acting_as(invitation.user), transaction.atomic():
        current = Invitation.objects.select_for_update().get(pk=invitation.pk)
        spent = current.state != Invitation.State.SENT
        if not spent:
            current.used_at = timezone.now()
            current.used_for = used_for[:60]
            current.save()
            _record(
                audit.Action.INVITATION_USE, current, request=request, user=current.user,
                detail=used_for,
            )
    if spent:
        # Outside the transaction, so that the refusal stays in the log.
        refuse(request, current.state, current)
    if request is not None:
        request.session.pop(SESSION_KEY, None)
    return current.user


def refuse(request, reason: str, invitation: Invitation | None = None):
    """Log a refused use of an invitation and raise :class:`InvitationRefused`."""
    _record(
        audit.Action.INVITATION_USE,
        invitation,
        request=request,
        user=invitation.user if invitation is not None else None,
        outcome="refused",
        detail=reason,
    )
    raise InvitationRefused(reason, invitation)
