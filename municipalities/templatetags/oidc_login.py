"""The login page's buttons for the OpenID Connect providers, one per configured provider."""

from django import template
from django.conf import settings

from municipalities.oidc import provider_links

register = template.Library()


@register.inclusion_tag("registration/oidc_buttons.html")
def oidc_buttons(next_url=""):
    return {"providers": provider_links(next_url), "local_accounts": settings.LOCAL_ACCOUNTS}
