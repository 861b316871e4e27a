"""The invitation link's pages. Opening the link keeps the invitation in the session and
redirects to /invitasjon/, so the token is left in no address bar, history or referrer; that
page offers the configured OpenID Connect logins (the first one binds to the invitation) and,
where local accounts are allowed, a form to set a password."""

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.forms import SetPasswordForm
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from . import accounts, invitations, oidc
from . import login as login_method

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _private(response):
    """The token must not travel on in a Referer header or sit in a cache."""
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response


def _refused(request, reason, invitation=None):
    try:
        invitations.refuse(request, reason, invitation)
    except invitations.InvitationRefused:
        pass
    response = render(
        request,
        "registration/invitation_refused.html",
        {"reason": _(invitations.REASONS[reason])},
        status=404 if reason in ("unknown", "missing") else 410,
    )
    return _private(response)


@never_cache
@require_safe
def open_invitation(request, token):
    try:
        invitation = invitations.find(token)
    except invitations.InvitationRefused as refused:
        return _refused(request, refused.reason, refused.invitation)
    request.session[invitations.SESSION_KEY] = invitation.pk
    return _private(redirect("municipalities:invitation_page"))


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_page(request):
    invitation = invitations.pending(request)
    if invitation is None:
        return _refused(request, "missing")
    user = invitation.user
    form = None
    if settings.LOCAL_ACCOUNTS:
        form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            # Spent first, under its row lock: of two tabs posting at once only one gets in.
            invitations.use(invitation, used_for=login_method.PASSWORD, request=request)
        except invitations.InvitationRefused as refused:
            return _refused(request, refused.reason, refused.invitation)
        # The form validated the password; the account is written by the service, as the person.
        accounts.set_own_password(
            user=user, raw_password=form.cleaned_data["new_password1"], acting_user=user
        )
        login(request, user, backend=MODEL_BACKEND)
        login_method.mark(request, login_method.PASSWORD)
        return redirect("orders:my_tasks")
    context = {
        "invitation": invitation,
        "person": user,
        "form": form,
        "providers": oidc.provider_links(),
    }
    return _private(render(request, "registration/invitation.html", context))
