"""The query forms of the municipality list and the health personnel look-up. Bad input is a
form error, never a server error."""

from django.utils.translation import gettext_lazy as _

from config import forms as config_forms
from config.forms import SearchField


class MunicipalitySearchForm(config_forms.Form):
    """?q= of the municipality list."""

    q = SearchField(label=_("Search by number or name"))


class PersonnelLookupForm(config_forms.Form):
    """?q= of the issue form's type-ahead: an HPR number or part of a name."""

    q = SearchField(label=_("Search"))
