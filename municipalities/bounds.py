"""What a person may type: the range of every date and the length of every free text, stated
once and read by the models' validators, the forms and the services of every app.

A year-9999 deadline once broke a case for good (the deadline arithmetic overflowed) and a
megabyte of grounds was shown on every page; these bounds keep input to what a case can hold.
"""

from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.formats import number_format
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# No case in this service predates it.
EARLIEST = date(2000, 1, 1)
# How far ahead anything may be set: a completion deadline at most this many years after the
# decision (extensions included), a planned or agreed date at most this many years from today.
YEARS_AHEAD = 5
# The stored ceiling, whatever today is: what a row may hold at all (model validators).
LATEST = date(2099, 12, 31)

# Free text, in characters.
GROUNDS_LENGTH = 4000  # grounds and requirements of an order, a course's description
REASON_LENGTH = 2000  # reasons, notes, descriptions
REPORT_LENGTH = 8000  # a supervisor's final report
LINE_LENGTH = 200  # one-line texts (names, titles)
TOPIC_LENGTH = 300  # the topic of a supervision session
# A reversal on appeal writes "Appeal reversed (body, date)." before the decision's note into
# the order's withdrawal reason; the model leaves room for it.
WITHDRAWAL_LENGTH = REASON_LENGTH + 200


def years_after(day: date, years: int) -> date:
    """The same day ``years`` later (29 February becomes 28 February), at most date.max."""
    year = min(day.year + years, date.max.year)
    try:
        return day.replace(year=year)
    except ValueError:
        return day.replace(year=year, day=28)


def today() -> date:
    return timezone.localdate()


def latest_ahead() -> date:
    """The last day a planned date (meeting, session, planned completion) may be set to."""
    return years_after(today(), YEARS_AHEAD)


def latest_deadline(decision_date: date) -> date:
    """The last completion deadline an order decided on ``decision_date`` may have."""
    return min(years_after(decision_date, YEARS_AHEAD), LATEST)


def shown(day: date) -> str:
    """31.01.2026 (the year in four digits also before year 1000, unlike strftime here)."""
    return f"{day:%d.%m.}{day.year:04d}"


def range_error(first: date, last: date) -> ValidationError:
    return ValidationError(
        gettext("Choose a date between %(first)s and %(last)s.")
        % {"first": shown(first), "last": shown(last)},
        code="date_range",
    )


@deconstructible
class StoredDateValidator:
    """Model validator: a date the service can hold (EARLIEST to LATEST). Form fields and
    services narrow it further (not in the future, within the deadline years)."""

    def __call__(self, value):
        if value is not None and not EARLIEST <= value <= LATEST:
            raise range_error(EARLIEST, LATEST)

    def __eq__(self, other):
        return isinstance(other, StoredDateValidator)


stored_date = StoredDateValidator()


def deadline_too_late(decision_date: date) -> ValidationError:
    return ValidationError(
        gettext("The deadline can be at most %(years)s years after the decision date, %(last)s.")
        % {"years": YEARS_AHEAD, "last": shown(latest_deadline(decision_date))},
        code="deadline_too_late",
    )


def check_values(model, /, as_names=None, **values) -> None:
    """What full_clean would say about these values of ``model``'s fields, for services that
    write a few fields of a row: the rest of the row (perhaps from before a bound) is not
    judged again. Raises ValidationError keyed by field, or by the name ``as_names`` gives it
    (the form's name for it)."""
    errors = {}
    for name, value in values.items():
        field = model._meta.get_field(name)
        try:
            field.run_validators(value)
        except ValidationError as error:
            errors[(as_names or {}).get(name, name)] = error.error_list
    if errors:
        raise ValidationError(errors)


def text_validators(limit: int) -> list:
    """For a model's TextField: full_clean refuses more than ``limit`` characters (a TextField's
    max_length alone only reaches the forms)."""
    return [MaxLengthValidator(limit)]


def _limit_text(limit: int) -> str:
    return gettext("At most %(count)s characters.") % {
        "count": number_format(limit, force_grouping=True)
    }


def _help_with_limit(help_text, limit) -> str:
    return f"{help_text} {_limit_text(limit)}" if help_text else _limit_text(limit)


# Help text that names the limit in the language of the page being rendered.
limit_text = lazy(_limit_text, str)
help_with_limit = lazy(_help_with_limit, str)


def _deadline_help(prefix="") -> str:
    text = gettext("At most %(years)s years after the decision date.") % {"years": YEARS_AHEAD}
    return f"{prefix} {text}" if prefix else text


deadline_help = lazy(_deadline_help, str)


def text_field(label, limit=REASON_LENGTH, *, help_text="", rows=3, **kwargs) -> forms.CharField:
    """A textarea with a maximum the person sees (help text, and the browser's maxlength)."""
    return forms.CharField(
        label=label,
        max_length=limit,
        widget=forms.Textarea(attrs={"rows": rows}),
        help_text=help_with_limit(help_text, limit),
        **kwargs,
    )


def line_field(label, limit=LINE_LENGTH, **kwargs) -> forms.CharField:
    """A one-line text with a maximum the person sees."""
    kwargs["help_text"] = help_with_limit(kwargs.get("help_text", ""), limit)
    return forms.CharField(label=label, max_length=limit, **kwargs)


def _resolved(bound) -> date:
    return bound() if callable(bound) else bound


class DateInput(forms.DateInput):
    """The browser's date picker, held to ``first``..``last`` (dates, or callables giving one
    when the page is drawn)."""

    input_type = "date"

    def __init__(self, *, first=None, last=None, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)
        self.first, self.last = first, last

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget_attrs = context["widget"]["attrs"]
        if self.first is not None:
            widget_attrs["min"] = _resolved(self.first).isoformat()
        if self.last is not None:
            widget_attrs["max"] = _resolved(self.last).isoformat()
        return context


class BoundedDateField(forms.DateField):
    """A date between ``first`` and ``last`` (dates, or callables giving one when the form is
    checked); a date outside is a form error naming the range, never a stored year 9999."""

    def __init__(self, *, first=EARLIEST, last=LATEST, **kwargs):
        kwargs.setdefault("widget", DateInput(first=first, last=last))
        kwargs.setdefault("error_messages", {"invalid": _("Enter a real date, e.g. 31.01.2026.")})
        super().__init__(**kwargs)
        self.first, self.last = first, last

    def validate(self, value):
        super().validate(value)
        if value is not None:
            first, last = _resolved(self.first), _resolved(self.last)
            if not first <= value <= last:
                raise range_error(first, last)


def past_date(label, **kwargs) -> BoundedDateField:
    """Something that has happened: from EARLIEST to today."""
    return BoundedDateField(label=label, last=today, **kwargs)


def planned_date(label, **kwargs) -> BoundedDateField:
    """Something that has happened or is planned: from EARLIEST to YEARS_AHEAD from today."""
    return BoundedDateField(label=label, last=latest_ahead, **kwargs)
