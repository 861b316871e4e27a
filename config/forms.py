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


def _named(label) -> str:
    """A label inside a sentence: «Saksnummer» → «saksnummer», but «HPR-nummer» stays."""
    text = str(label).strip().rstrip(":")
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


class NamedErrorsMixin:
    """A missing answer names what to fill in («Fyll inn saksnummer.», «Velg kommune.»)
    instead of the generic «Feltet er påkrevet.», which says nothing in an error summary read
    out of context. A field's own "required" message, where it has one, is kept."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        generic = forms.Field.default_error_messages["required"]
        for field in self.fields.values():
            if not field.label or field.error_messages.get("required") != generic:
                continue
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                message = _("Tick the box if you agree: %(what)s.")
            elif isinstance(widget, forms.FileInput):
                message = _("Attach %(what)s.")
            elif isinstance(widget, (forms.Select, forms.RadioSelect, forms.CheckboxSelectMultiple)):
                message = _("Choose %(what)s.")
            else:
                message = _("Fill in %(what)s.")
            field.error_messages["required"] = message % {"what": _named(field.label)}


class Form(NamedErrorsMixin, forms.Form):
    """The project's form: errors that name what to fix."""


class ModelForm(NamedErrorsMixin, forms.ModelForm):
    """The project's model form: errors that name what to fix."""
