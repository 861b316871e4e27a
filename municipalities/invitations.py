"""Invitations: how a person who has been appointed, but has no login, gets in.

An invitation is a one-time link sent by e-mail (content-free: it says only that there is
access waiting). The link's token is shown once, in the e-mail or to the command that made it;
only its SHA-256 is stored. Opening the link puts the invitation in the session
(:data:`SESSION_KEY`); it is spent (:func:`use`) by the first OpenID Connect login, which it
binds to the person, or by setting a password where local accounts are allowed.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

import audit

# Asked also by orders.access, which must not load the mail code: it lives with the access rules.
from .access import has_logged_in
from .models import Invitation, User

# The session key under which an opened, still valid invitation waits for its first login.
SESSION_KEY = "palegg_invitation"


class InvitationRefused(Exception):
    """The link cannot be used; ``reason`` is one of :data:`REASONS`, for the page and the log."""

    def __init__(self, reason: str, invitation: Invitation | None = None):
        super().__init__(reason)
        self.reason = reason
        self.invitation = invitation


# Why a link is refused, as the person is told (translated where it is shown).
REASONS = {
    "unknown": gettext_noop(
        "This invitation link is not valid. Check that the whole link was copied."
    ),
    "used": gettext_noop("This invitation link has already been used. It works only once."),
    "expired": gettext_noop("This invitation link has expired."),
    "revoked": gettext_noop("This invitation has been withdrawn."),
    # /invitasjon/ opened in a session that has no invitation waiting (or it was spent since).
    "missing": gettext_noop(
        "No invitation is open in this browser. Open the link from the e-mail again."
    ),
}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_for(token: str) -> str:
    return settings.SITE_URL + reverse("municipalities:invitation", kwargs={"token": token})


def _send(invitation: Invitation, token: str) -> None:
    if not invitation.email:
        return
    # Content-free: no name, no case, no organisation; only that there is a login waiting.
    # In the language chosen for them, if any (they have not logged in to choose it yet).
    with translation.override(invitation.user.preferred_language):
        _send_mail(invitation, token)


def _send_mail(invitation: Invitation, token: str) -> None:
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
            "expires": date_format(timezone.localtime(invitation.expires_at), "DATETIME_FORMAT"),
        },
        settings.DEFAULT_FROM_EMAIL,
        [invitation.email],
    )


def sent_message(invitation: Invitation) -> str:
    """What the person who sent it is told (the link itself is never shown on a page)."""
    return _(
        "An invitation to log in was e-mailed to %(email)s. The link works for %(days)s days."
    ) % {"email": invitation.email, "days": settings.INVITATION_DAYS}


def _record(action, invitation, *, request=None, user=None, outcome="shown", detail=""):
    audit.record(
        request=request,
        user=user,
        action=action,
        target=invitation if invitation is not None else "invitation:",
        outcome=outcome,
        detail=detail,
    )


def _valid(user: User):
    return Invitation.objects.filter(
        user=user, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


def needs_invitation(user: User) -> bool:
    """The one rule for who is sent an invitation on being appointed (or named supervisor):
    an active person who has never logged in and has no link that still works."""
    return user.is_active and not has_logged_in(user) and not _valid(user).exists()


def invite_if_needed(*, acting_user, user: User, request=None) -> Invitation | None:
    """Issue an invitation when :func:`needs_invitation` says so and there is an address to
    send it to; the new invitation, or None."""
    if not user.email or not needs_invitation(user):
        return None
    invitation, _link = issue(acting_user=acting_user, user=user, request=request)
    return invitation


def helseid_configured() -> bool:
    """Whether health personnel can log in with HelseID here (then by HPR number, with no
    invitation needed)."""
    providers = getattr(settings, "OIDC_PROVIDERS", {}) or {}
    return any((p.get("kind") or name) == "helseid" for name, p in providers.items())


@dataclass(frozen=True)
class Status:
    """What an appointment or measure page says about a person's way in: ``state`` is one of
    Invitation.State, or "logged_in" / "none"; ``invitation`` the newest one, if any."""

    state: str
    invitation: Invitation | None = None

    @property
    def may_resend(self) -> bool:
        return self.invitation is not None and self.state != Invitation.State.USED

    @property
    def may_revoke(self) -> bool:
        return self.state == Invitation.State.SENT


def status_of(user: User, newest: Invitation | None, has_identity: bool) -> Status:
    """The status, from what a selector loaded in bulk (the newest invitation, and whether a
    login identity is bound), so that a list of people costs no query per row."""
    if newest is not None and newest.state == Invitation.State.USED:
        return Status(Invitation.State.USED, newest)
    if user.has_usable_password() or user.last_login is not None or has_identity:
        return Status("logged_in", newest)
    if newest is None:
        return Status("none")
    return Status(newest.state, newest)


def issue(*, acting_user, user: User, request=None, email=None) -> tuple[Invitation, str]:
    """Make a new invitation for ``user`` and e-mail it; returns it with its link (the only
    time the link exists outside the e-mail). Earlier unused invitations are revoked, so only
    the newest link works. ``email``, when given, becomes the person's address first (a
    supervisor known only by HPR number has none until their leader gives it)."""
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with audit.acting_as(acting_user), transaction.atomic():
        if email is not None and email != user.email:
            user.email = email
            user.save(update_fields=["email"])
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
            _record(audit.Action.INVITATION_REVOKE, invitation, request=request, user=acting_user)
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
    if (
        invitation is None
        or invitation.state != Invitation.State.SENT
        or not invitation.user.is_active
    ):
        request.session.pop(SESSION_KEY, None)
        return None
    return invitation


def use(invitation: Invitation, *, used_for: str, request=None) -> User:
    """Spend the invitation (once: a second use raises :class:`InvitationRefused`) and return
    the person it was for. ``used_for`` is "password" or "oidc:<provider>"."""
    with audit.acting_as(invitation.user), transaction.atomic():
        current = Invitation.objects.select_for_update().get(pk=invitation.pk)
        # A person deactivated since the link was sent is not let in by it either.
        reason = current.state if current.user.is_active else Invitation.State.REVOKED
        spent = reason != Invitation.State.SENT
        if not spent:
            current.used_at = timezone.now()
            current.used_for = used_for[:60]
            current.save()
            _record(
                audit.Action.INVITATION_USE,
                current,
                request=request,
                user=current.user,
                detail=used_for,
            )
    if spent:
        # Outside the transaction, so that the refusal stays in the log.
        refuse(request, reason, current)
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
