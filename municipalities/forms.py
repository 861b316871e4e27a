"""Forms for appointing the people who act for an organisation."""

from django import forms
from django.utils.translation import gettext_lazy as _

from config import forms as config_forms

from . import bounds
from .appointments import new_login
from .models import Appointment, User


class AppointForm(config_forms.Form):
    role = forms.ChoiceField(label=_("Role"), widget=forms.RadioSelect)
    username = forms.RegexField(
        regex=r"^[\w.@+-]+$",
        max_length=150,
        label=_("User name"),
        help_text=_("An existing user, or a new one: then fill in name and e-mail below."),
    )
    first_name = forms.CharField(label=_("First name"), required=False, max_length=150)
    last_name = forms.CharField(label=_("Last name"), required=False, max_length=150)
    email = forms.EmailField(label=_("E-mail"), required=False)
    reason = bounds.text_field(_("Reason"))

    def __init__(self, *args, roles, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(r, Appointment.Role(r).label) for r in roles]
        if len(roles) == 1:
            self.fields["role"].initial = roles[0]

    def clean(self):
        data = super().clean()
        username = data.get("username")
        if not username:
            return data
        data["user"] = User.objects.filter(username=username).first()
        if data["user"] is None:
            for name in ("first_name", "last_name", "email"):
                if not data.get(name):
                    self.add_error(name, _("Required for a new user."))
        return data

    def person(self):
        """The existing user, or a new one without a password (an invitation lets them in)."""
        data = self.cleaned_data
        if data["user"] is not None:
            return data["user"]
        return new_login(
            username=data["username"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            email=data["email"],
        )


class EndAppointmentForm(config_forms.Form):
    reason = bounds.text_field(_("Reason"))


class TwoFactorCodeForm(config_forms.Form):
    """A six-digit code from the authenticator app, or a recovery code."""

    code = forms.RegexField(
        regex=r"^[0-9A-Za-z ]{6,20}$",
        max_length=20,
        label=_("Code"),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text"}),
    )
