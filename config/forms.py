"""Form pieces every app uses for what arrives in the address bar (?q= and the like): a query
parameter is parsed by a form like any other input, so a stray byte is a message in the form,
never a 500 from the database (PostgreSQL refuses a NUL in a string)."""

import re

from django import forms
from django.core.validators import ProhibitNullCharactersValidator, RegexValidator
from django.utils.translation import gettext_lazy as _

# C0 control characters (NUL, tab, newline, ...) and DEL: never part of a one-line term.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")

reject_control_characters = RegexValidator(
    CONTROL_CHARACTERS,
    _("The text contains characters that cannot be used, such as control characters."),
    code="control_characters",
    inverse_match=True,
)


class SearchField(forms.CharField):
    """A one-line search term: optional, bounded, stripped, without control characters."""

    def __init__(self, *, max_length=100, required=False, **kwargs):
        super().__init__(max_length=max_length, required=required, **kwargs)
        # In place of CharField's own NUL check, which this one covers: one message, not two.
        self.validators = [
            v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ] + [reject_control_characters]
