"""The login pages: user name and password (where local accounts are allowed), the two-factor
step, password reset by e-mail, and the page that says a session has ended."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views import i18n as i18n_views
from django.views.decorators.http import require_http_methods, require_POST

import audit

from . import access, accounts, login, two_factor, user_sessions
from .forms import TwoFactorCodeForm
from .login_events import account_target
from .models import User

LOCAL_ACCOUNTS_OFF = "local_accounts_off"


class LoginView(auth_views.LoginView):
    """Django's login page; the password form only where the deployment allows local
    accounts, and a password login is marked so two-factor can be asked of it."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return super().get_context_data(local_accounts=settings.LOCAL_ACCOUNTS, **kwargs)

    def post(self, request, *args, **kwargs):
        if not settings.LOCAL_ACCOUNTS:
            audit.record(
                request=request,
                action=audit.Action.LOGIN,
                target=account_target(request.POST.get("username", "")),
                outcome="refused",
                detail=LOCAL_ACCOUNTS_OFF,
            )
            context = self.get_context_data(form=self.get_form_class()(request))
            return self.render_to_response(context, status=403)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        response = super().form_valid(form)
        login.mark(self.request, login.PASSWORD)
        return response


def _next_url(request) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(url, {request.get_host()}, request.is_secure()):
        return url
    return reverse(settings.LOGIN_REDIRECT_URL)


def _waiting_user(request):
    """The user at the two-factor step; anyone else has nothing to do there."""
    if not two_factor.required(request):
        raise Http404
    return request.user


@require_http_methods(["GET", "POST"])
def two_factor_code(request):
    user = _waiting_user(request)
    if two_factor.confirmed_device(user) is None:
        return redirect(f"{reverse('two_factor_enrol')}?{request.GET.urlencode()}")
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if two_factor.verify(request, form.cleaned_data["code"]):
            return redirect(_next_url(request))
        form.add_error("code", _wrong_code())
    return render(
        request, "registration/two_factor.html", {"form": form, "next": _next_url(request)}
    )


@require_http_methods(["GET", "POST"])
def two_factor_enrol(request):
    user = _waiting_user(request)
    if two_factor.confirmed_device(user) is not None:
        # Setting up a new device would get round the one already set up.
        return redirect(f"{reverse('two_factor')}?{request.GET.urlencode()}")
    device = two_factor.pending_device(user)
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = two_factor.confirm_enrolment(request, device, form.cleaned_data["code"])
        if codes is not None:
            return render(
                request,
                "registration/two_factor_codes.html",
                {"codes": codes, "next": _next_url(request)},
            )
        form.add_error("code", _wrong_code())
    context = {
        "form": form,
        "next": _next_url(request),
        "secret": two_factor.secret_of(device),
        "qr": two_factor.qr_svg(device),
    }
    return render(request, "registration/two_factor_enrol.html", context)


def _wrong_code():
    return gettext("The code is wrong or has been used. Wait a moment and try a new code.")


def session_ended(request):
    reason = request.GET.get("grunn")
    if reason not in (user_sessions.IDLE, user_sessions.LIFETIME):
        reason = ""
    context = {
        "reason": reason,
        "idle_minutes": settings.SESSION_IDLE_MINUTES,
        "max_hours": settings.SESSION_MAX_HOURS,
    }
    return render(request, "registration/session_ended.html", context)


class LocalAccountsOnly:
    """Password reset exists only where local accounts are allowed."""

    def dispatch(self, request, *args, **kwargs):
        if not settings.LOCAL_ACCOUNTS:
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class PasswordResetView(LocalAccountsOnly, auth_views.PasswordResetView):
    """The same page whether or not the address belongs to anyone; the e-mail holds only the
    link."""

    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    @property
    def extra_email_context(self):
        # The configured address, not the Host header the request came with.
        return {"site_url": settings.SITE_URL}

    def form_valid(self, form):
        users = list(form.get_users(form.cleaned_data["email"]))
        response = super().form_valid(form)
        for user in users or [None]:
            audit.record(
                request=self.request,
                action=audit.Action.PASSWORD_RESET_REQUEST,
                target=user if user is not None else "account:unknown",
                capacity=access.OrganisationCapabilities.of(user).capacity()
                if user is not None
                else None,
            )
        return response


class PasswordResetDoneView(LocalAccountsOnly, auth_views.PasswordResetDoneView):
    pass


class PasswordResetConfirmView(LocalAccountsOnly, auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("password_reset_complete")

    def dispatch(self, *args, **kwargs):
        response = super().dispatch(*args, **kwargs)
        # A valid link first redirects (its token moved into the session): not a refusal.
        if not self.validlink and response.status_code == 200:
            # The link names nothing that can be used: 404, like an unknown invitation.
            response.status_code = 404
            audit.record(
                request=self.request,
                action=audit.Action.PASSWORD_RESET,
                target="account:reset-link",
                outcome="refused",
                detail="invalid_or_used_link",
            )
        return response

    def form_valid(self, form):
        # Django's form_valid would save the password through the form; the service writes it
        # instead, as the person the link was for, and the rest is Django's: the link's token
        # leaves the session, then the redirect.
        accounts.set_own_password(
            user=form.user, raw_password=form.cleaned_data["new_password1"], acting_user=form.user
        )
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        response = super(auth_views.PasswordResetConfirmView, self).form_valid(form)
        audit.record(
            request=self.request,
            user=form.user,
            action=audit.Action.PASSWORD_RESET,
            target=form.user,
            capacity=access.OrganisationCapabilities.of(form.user).capacity(),
        )
        # Whoever knew the old password is logged out everywhere.
        user_sessions.end_sessions(form.user, reason="password_reset")
        return response


class PasswordResetCompleteView(LocalAccountsOnly, auth_views.PasswordResetCompleteView):
    pass


@require_POST
def set_language(request):
    """The language buttons: Django's switch (the cookie, then back to the page), and for a
    logged-in user their choice saved too, so their pages, e-mails and notices follow it on
    every device (User.language; config.middleware.LanguageMiddleware)."""
    response = i18n_views.set_language(request)
    code = request.POST.get("language", "")
    if request.user.is_authenticated and code in dict(settings.LANGUAGES):
        User.objects.filter(pk=request.user.pk).update(language=code)
    return response
