"""The security officer's search form for the access log. Bad input is a form error on the
page, never a server error."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from audit.actions import Action
from config import forms as config_forms
from config.forms import SearchField
from municipalities import bounds
from orders.models import Order

CASE_NUMBER = re.compile(r"^\d{4}/\d{1,7}$")
CASE_ID = re.compile(r"^\d{1,18}$")


class AuditSearchForm(config_forms.Form):
    user = SearchField(
        label=_("User"),
        max_length=150,
        help_text=_("User name or name, or part of it."),
    )
    case = SearchField(
        label=_("Case"),
        max_length=30,
        help_text=_("Case number, e.g. 2026/1234, or the case's id."),
    )
    # The log starts with the service (bounds.EARLIEST); the bounds also keep the date
    # arithmetic and the database's time zone conversion clear of the ends of the calendar.
    date_from = bounds.BoundedDateField(label=_("From date"), required=False)
    date_to = bounds.BoundedDateField(
        label=_("To date"), required=False, help_text=_("Both dates are included.")
    )
    action = forms.ChoiceField(
        label=_("Action"),
        required=False,
        error_messages={"invalid_choice": _("Choose an action from the list.")},
    )

    def __init__(self, *args, actions=Action.values, **kwargs):
        """``actions``: the codes offered; the access log's whole vocabulary (audit.actions),
        not the ones that occur, which would be a scan of the log on every search."""
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("All actions"))] + [
            (action, Action(action).label) for action in actions
        ]

    def clean_case(self):
        value = self.cleaned_data["case"]
        if value and not (CASE_NUMBER.match(value) or CASE_ID.match(value)):
            raise forms.ValidationError(
                _("Write a case number as year/number, e.g. 2026/1234, or a case id (digits).")
            )
        return value

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The period ends before it starts."))
        return data

    def case_ids(self) -> list[str] | None:
        """The order ids the case filter stands for (``None``: no case filter). A case number
        is unique per authority only, so it may stand for more than one order; one that
        matches none simply finds no events (and tells nothing about other authorities)."""
        value = self.cleaned_data.get("case")
        if not value:
            return None
        if CASE_ID.match(value):
            return [str(int(value))]  # as stored: "7", not "007"
        return [
            str(pk) for pk in Order.objects.filter(case_number=value).values_list("pk", flat=True)
        ]

    def search_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "user": data["user"],
            "case_ids": self.case_ids(),
            "date_from": data["date_from"],
            "date_to": data["date_to"],
            "action": data["action"],
        }

    def described(self) -> str:
        """The filters as one line for the access log: what the officer asked for."""
        data = self.cleaned_data
        parts = [
            f"{name}={data[name]}"  # a date prints as 2026-01-31
            for name in ("user", "case", "date_from", "date_to", "action")
            if data.get(name)
        ]
        return "; ".join(parts) or "(no filters)"
