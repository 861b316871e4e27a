"""The OpenID Connect login's two pages: the start (off to the provider) and the callback.
Everything they decide is in municipalities.oidc; here only the answer is chosen."""

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import oidc


def _refused(request, provider, refused: oidc.LoginRefused):
    oidc.record_refusal(request, provider, refused)
    return render(
        request,
        "registration/login_refused.html",
        {"reason": _(oidc.REASONS[refused.reason]), "provider": provider},
        status=refused.status,
    )


@require_GET
@never_cache
def oidc_login(request, provider):
    next_url = request.GET.get("next", "")
    if request.user.is_authenticated:
        return HttpResponseRedirect(oidc.safe_next(request, next_url))
    try:
        return HttpResponseRedirect(oidc.begin(request, provider, next_url))
    except oidc.LoginRefused as refused:
        return _refused(request, provider, refused)


@require_GET
@never_cache
def oidc_callback(request, provider):
    try:
        return HttpResponseRedirect(oidc.complete(request, provider))
    except oidc.LoginRefused as refused:
        return _refused(request, provider, refused)
