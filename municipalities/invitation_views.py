"""The invitation link's page: opening it keeps the invitation in the session for the first
login, or lets the person set a password where local accounts are allowed."""

from django.shortcuts import render
from django.utils.translation import gettext as _

from . import invitations


def open_invitation(request, token):
    try:
        invitation = invitations.find(token)
    except invitations.InvitationRefused as refused:
        try:
            invitations.refuse(request, refused.reason, refused.invitation)
        except invitations.InvitationRefused:
            pass
        return render(
            request,
            "registration/invitation_refused.html",
            {"reason": _(invitations.REASONS[refused.reason])},
            status=410 if refused.reason != "unknown" else 404,
        )
    request.session[invitations.SESSION_KEY] = invitation.pk
    return render(request, "registration/invitation.html", {"invitation": invitation})
