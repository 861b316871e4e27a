"""The login page's buttons for the OpenID Connect providers, one per configured provider
(read from settings at each render, so only what is configured is offered)."""

from urllib.parse import urlencode

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

register = template.Library()


@register.inclusion_tag("registration/oidc_buttons.html")
def oidc_buttons(next_url=""):
    query = "?" + urlencode({"next": next_url}) if next_url else ""
    return {
        "providers": [
            {
                "name": name,
                "label": _(config["label"]),
                "url": reverse("oidc_login", kwargs={"provider": name}) + query,
            }
            for name, config in settings.OIDC_PROVIDERS.items()
        ],
        "local_accounts": settings.LOCAL_ACCOUNTS,
    }
