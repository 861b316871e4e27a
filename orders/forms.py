"""Forms for the order's steps. Errors are written for the person filling them in."""

import re

from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config import forms as config_forms
from config.converters import DatabaseId
from config.forms import SearchField
from courses.models import Course, EvidenceDocument, Measure
from courses.validators import evidence_content_type
from municipalities import bounds
from municipalities.models import HealthPersonnel, Municipality

from . import selectors
from .models import Appeal, FollowUp, Order, Review


class IssueOrderForm(config_forms.Form):
    issuing_authority = forms.ModelChoiceField(queryset=None, label=_("Issuing authority"))
    case_number = forms.RegexField(
        regex=r"^\d{4}/\d{1,7}$",
        label=_("Case number"),
        help_text=_("The authority's case number, e.g. 2026/1234."),
        error_messages={"invalid": _("Write the case number as year/number, e.g. 2026/1234.")},
    )
    hpr_number = forms.RegexField(
        regex=r"^\d{7,9}$",
        label=_("HPR number of the health personnel"),
        help_text=_("Type the HPR number, or part of the name to search the register."),
        error_messages={"invalid": _("An HPR number has seven to nine digits.")},
    )
    municipality_number = forms.RegexField(
        regex=r"^\d{4}$",
        label=_("Municipality number of the responsible municipality"),
        help_text=_(
            "Four digits, e.g. 0301. Leave empty to use the municipality where the person practises."
        ),
        required=False,
        error_messages={"invalid": _("A municipality number has four digits.")},
    )
    caseworker = forms.ModelChoiceField(queryset=None, label=_("Responsible caseworker"))
    legal_basis = forms.ChoiceField(choices=Order.LegalBasis.choices, label=_("Legal basis"))
    decision_date = bounds.past_date(_("Decision date"))
    grounds_summary = bounds.text_field(_("Summary of the grounds"), bounds.GROUNDS_LENGTH, rows=4)
    requires_course = forms.BooleanField(label=_("Course"), required=False)
    requires_supervision = forms.BooleanField(label=_("Supervision"), required=False)
    requirements = bounds.text_field(_("What the order requires"), bounds.GROUNDS_LENGTH, rows=4)
    deadline = bounds.planned_date(
        _("Completion deadline"),
        help_text=bounds.deadline_help(
            _("A deadline on a weekend or public holiday moves to the next working day.")
        ),
    )
    decision_received_on = bounds.past_date(
        _("Decision received by the health personnel"),
        required=False,
        help_text=_(
            "The three-week appeal period runs from this day. Leave empty if not known: the "
            "decision date is used until it is recorded."
        ),
    )

    def __init__(self, *args, authorities, caseworkers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["issuing_authority"].queryset = authorities
        self.fields["caseworker"].queryset = caseworkers
        self.fields["hpr_number"].widget.attrs["data-lookup-url"] = reverse("web:personnel_lookup")
        if len(authorities) == 1:
            self.fields["issuing_authority"].initial = authorities[0].pk
            self.fields["issuing_authority"].empty_label = None

    def clean_hpr_number(self):
        hpr = self.cleaned_data["hpr_number"]
        try:
            self.cleaned_data["health_personnel"] = HealthPersonnel.objects.select_related(
                "municipality"
            ).get(hpr_number=hpr)
        except HealthPersonnel.DoesNotExist:
            raise forms.ValidationError(
                _("No health personnel with HPR number %(hpr)s is registered."), params={"hpr": hpr}
            ) from None
        return hpr

    def clean_municipality_number(self):
        number = self.cleaned_data["municipality_number"]
        if number:
            try:
                self.cleaned_data["municipality"] = Municipality.objects.get(number=number)
            except Municipality.DoesNotExist:
                raise forms.ValidationError(
                    _("There is no municipality with number %(number)s."), params={"number": number}
                ) from None
        return number

    def clean(self):
        data = super().clean()
        if "municipality" not in data and "health_personnel" in data:
            data["municipality"] = data["health_personnel"].municipality
        decision, deadline = data.get("decision_date"), data.get("deadline")
        if decision and deadline and deadline <= decision:
            self.add_error("deadline", _("The deadline must be after the decision date."))
        elif decision and deadline and deadline > bounds.latest_deadline(decision):
            self.add_error("deadline", bounds.deadline_too_late(decision))
        received = data.get("decision_received_on")
        if decision and received and received < decision:
            self.add_error(
                "decision_received_on", _("The decision cannot be received before it was made.")
            )
        if not data.get("requires_course") and not data.get("requires_supervision"):
            self.add_error("requires_course", _("Choose course, supervision or both."))
        return data

    def service_arguments(self):
        data = self.cleaned_data
        return {
            name: data[name]
            for name in (
                "issuing_authority",
                "caseworker",
                "health_personnel",
                "municipality",
                "case_number",
                "legal_basis",
                "decision_date",
                "grounds_summary",
                "requires_course",
                "requires_supervision",
                "requirements",
                "deadline",
                "decision_received_on",
            )
        }


class MeasureForm(config_forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind of measure"),
        choices=[("", "–––")] + list(Measure.Kind.choices),
        required=False,
    )
    course = forms.ModelChoiceField(
        queryset=Course.objects.filter(active=True), label=_("Course"), required=False
    )
    supervisor_hpr = forms.RegexField(
        regex=r"^\d{7,9}$",
        label=_("HPR number of the supervisor"),
        required=False,
        help_text=_("The supervisor gets a login that shows only the orders they supervise."),
        error_messages={"invalid": _("An HPR number has seven to nine digits.")},
    )
    agreed_sessions = forms.IntegerField(
        label=_("Agreed number of sessions"), required=False, min_value=1, max_value=100
    )
    period_start = bounds.planned_date(_("Supervision from"), required=False)
    period_end = bounds.planned_date(_("Supervision to"), required=False)
    description = bounds.text_field(_("Description"), required=False, rows=2)
    planned_completion = bounds.planned_date(_("Planned completion"), required=False)

    def __init__(self, *args, personnel=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.personnel = personnel

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if not kind:
            if data.get("course") or data.get("supervisor_hpr") or data.get("planned_completion"):
                self.add_error("kind", _("Choose whether this is a course or supervision."))
            return data
        if kind == Measure.Kind.COURSE and not data.get("course"):
            self.add_error("course", _("Choose a course from the catalog."))
        if kind == Measure.Kind.SUPERVISION:
            self._clean_supervision(data)
        if not data.get("planned_completion"):
            self.add_error("planned_completion", _("Give a planned completion date."))
        return data

    def _clean_supervision(self, data):
        hpr = data.get("supervisor_hpr")
        if not hpr:
            if "supervisor_hpr" not in self.errors:
                self.add_error("supervisor_hpr", _("Give the supervisor's HPR number."))
            return
        data["supervisor"] = HealthPersonnel.objects.filter(hpr_number=hpr).first()
        if data["supervisor"] is not None and data["supervisor"] == self.personnel:
            self.add_error(
                "supervisor_hpr", _("The person under the order cannot be their own supervisor.")
            )
        if data["supervisor"] is None:
            self.add_error(
                "supervisor_hpr",
                _("No health personnel with HPR number %(hpr)s is registered.") % {"hpr": hpr},
            )
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and end < start:
            self.add_error("period_end", _("The period must end after it starts."))

    def measure(self):
        data = self.cleaned_data
        if not data.get("kind"):
            return None
        spec = {
            "kind": data["kind"],
            "course": data["course"] if data["kind"] == Measure.Kind.COURSE else None,
            "description": data["description"],
            "planned_completion": data["planned_completion"],
        }
        if data["kind"] == Measure.Kind.SUPERVISION:
            spec.update(
                supervisor=data["supervisor"],
                agreed_sessions=data.get("agreed_sessions"),
                period_start=data.get("period_start"),
                period_end=data.get("period_end"),
            )
        return spec


class BaseMeasureFormSet(forms.BaseFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        if not any(form.measure() for form in self.forms):
            raise forms.ValidationError(_("Plan at least one measure."))

    def measures(self):
        return [m for m in (form.measure() for form in self.forms) if m]


# One measure to begin with; «Legg til tiltak» adds another (measure_formset_grown).
MeasureFormSet = forms.formset_factory(MeasureForm, formset=BaseMeasureFormSet, extra=1, max_num=10)
ADD_MEASURE = "legg_til_tiltak"


def measure_formset_grown(data, *, prefix, personnel):
    """The plan's measures as typed so far, with one empty measure more (up to max_num),
    shown without errors: «Legg til tiltak» is no attempt to save. The typed values come
    back as the forms' initial values, so the page works without JavaScript."""
    try:
        typed = int(data.get(f"{prefix}-TOTAL_FORMS", 1))
    except ValueError:
        typed = 1
    typed = max(0, min(typed, MeasureFormSet.max_num - 1))
    initial = [
        {name: data.get(f"{prefix}-{i}-{name}", "") for name in MeasureForm.base_fields}
        for i in range(typed)
    ]
    return MeasureFormSet(prefix=prefix, initial=initial, form_kwargs={"personnel": personnel})


class PlanReceiptForm(config_forms.Form):
    received = forms.BooleanField(
        label=_("We confirm receipt of the order and take responsibility for carrying it out."),
        error_messages={"required": _("Confirm receipt of the order.")},
    )


class AcknowledgeForm(config_forms.Form):
    accepted = forms.BooleanField(
        label=_("I have read the plan and accept it."),
        error_messages={"required": _("Tick the box to accept the plan.")},
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class IdMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Django passes the posted ids to an ``__in`` lookup, where a number too large for the
    column is a database error (500); such an id is an invalid choice like any unknown one."""

    def _check_values(self, value):
        for pk in value or ():
            if not re.fullmatch(DatabaseId.regex, str(pk)):
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super()._check_values(value)


class ConfirmCompletionForm(config_forms.Form):
    note = bounds.text_field(_("How were the measures carried out?"), rows=4)
    existing_documents = IdMultipleChoiceField(
        queryset=EvidenceDocument.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Documents already on the case"),
    )
    files = MultipleFileField(
        label=_("Attach documents"),
        required=False,
        help_text=_(
            "PDF or image files, e.g. an attendance list, a course certificate or a supervisor's report."
        ),
    )
    document_kind = forms.ChoiceField(
        label=_("Kind of the attached documents"), choices=EvidenceDocument.Kind.choices
    )

    def __init__(self, *args, order, **kwargs):
        super().__init__(*args, **kwargs)
        documents = order.documents.filter(superseded_by__isnull=True)
        self.fields["existing_documents"].queryset = documents
        if not documents.exists():
            del self.fields["existing_documents"]
        # A measure that is not complete needs a written reason (issue: confirmation rule).
        self.incomplete = [
            m
            for m in order.measures.filter(status=Measure.Status.PLANNED)
            .select_related("course")
            .prefetch_related("meetings", "sessions")
            if not m.is_complete
        ]
        for measure in self.incomplete:
            self.fields[f"reason_{measure.pk}"] = bounds.text_field(
                _("Why is “%(measure)s” not carried out?") % {"measure": measure},
                rows=2,
                error_messages={
                    "required": _(
                        "This measure is not complete: give the reason, or complete it first."
                    )
                },
            )

    def reasons(self):
        return {m.pk: self.cleaned_data[f"reason_{m.pk}"] for m in self.incomplete}

    def clean_files(self):
        files = self.cleaned_data["files"]
        errors = []
        for f in files:
            try:
                evidence_content_type(f)
            except forms.ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise forms.ValidationError(errors)
        return files

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("files") and not data.get("existing_documents"):
            self.add_error("files", _("Attach at least one document."))
        return data


class SignOffForm(config_forms.Form):
    outcome = forms.ChoiceField(
        label=_("Decision"), choices=Review.Outcome.choices, widget=forms.RadioSelect
    )
    reason = bounds.text_field(
        _("Reason"), required=False, help_text=_("Required when the case is sent back.")
    )

    def clean(self):
        data = super().clean()
        if data.get("outcome") == Review.Outcome.RETURNED and not data.get("reason", "").strip():
            self.add_error("reason", _("Give the municipality a reason for sending it back."))
        return data


class FollowUpForm(config_forms.Form):
    action = forms.ChoiceField(
        label=_("What did you do?"), choices=FollowUp.Action.choices, widget=forms.RadioSelect
    )
    note = bounds.text_field(_("Note"), help_text=_("E.g. whom you spoke to and what was agreed."))


class ExtendDeadlineForm(config_forms.Form):
    new_deadline = bounds.planned_date(_("New deadline"), help_text=bounds.deadline_help())
    reason = bounds.text_field(_("Reason"))

    def __init__(self, *args, order, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order

    def clean_new_deadline(self):
        value = self.cleaned_data["new_deadline"]
        if value <= self.order.deadline:
            raise forms.ValidationError(_("The new deadline must be later than the current one."))
        if value > bounds.latest_deadline(self.order.decision_date):
            raise bounds.deadline_too_late(self.order.decision_date)
        return value


class WithdrawForm(config_forms.Form):
    reason = bounds.text_field(_("Reason for the withdrawal"))
    confirm = forms.BooleanField(
        label=_("I understand that the case is closed and becomes read-only."),
        error_messages={"required": _("Confirm that the case is to be withdrawn.")},
    )

    def __init__(self, *args, order, **kwargs):
        super().__init__(*args, **kwargs)


class RegisterAppealForm(config_forms.Form):
    received_on = bounds.past_date(_("Date the appeal was received"))
    note = bounds.text_field(_("Note"), required=False)

    def __init__(self, *args, order, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order

    def clean_received_on(self):
        value = self.cleaned_data["received_on"]
        if value > timezone.localdate():
            raise forms.ValidationError(_("The date cannot be in the future."))
        if value < self.order.decision_date:
            raise forms.ValidationError(_("An appeal cannot be received before the decision date."))
        return value


class DecideAppealForm(config_forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[c for c in Appeal.Outcome.choices if c[0] != Appeal.Outcome.PENDING],
        widget=forms.RadioSelect,
    )
    decided_by = forms.ChoiceField(
        label=_("Decided by"), choices=Appeal.DecidedBy.choices, widget=forms.RadioSelect
    )
    decided_on = bounds.past_date(_("Decision date"))
    note = bounds.text_field(_("Note"), required=False)

    def __init__(self, *args, appeal, **kwargs):
        super().__init__(*args, **kwargs)
        self.appeal = appeal

    def clean_decided_on(self):
        value = self.cleaned_data["decided_on"]
        if value < self.appeal.received_on or value > timezone.localdate():
            raise forms.ValidationError(
                _("The decision date must be between the day the appeal was received and today.")
            )
        return value


class DeadlineFilterForm(config_forms.Form):
    """GET filters of a list (my tasks; the case list adds its own). A bad value in one field (a stale bookmark, a hand-edited URL)
    drops that filter only, never the page nor the other filters."""

    due = forms.ChoiceField(
        label=_("Deadline"),
        required=False,
        choices=[
            ("", _("Any deadline")),
            ("overdue", _("Overdue")),
            ("soon", _("Due within 14 days")),
        ],
    )

    def values(self) -> dict:
        if not self.is_bound:
            return {name: "" for name in self.fields}
        self.is_valid()
        return {name: self.cleaned_data.get(name, "") for name in self.fields}


class CaseListFilterForm(DeadlineFilterForm):
    """The case list shows the open cases unless asked for others; a search looks in all of
    them (a case number asked for is found also when the case is closed)."""

    field_order = ["state", "due", "q"]

    state = forms.ChoiceField(
        label=_("Show"),
        required=False,
        initial="open",
        choices=[
            ("open", _("Open cases")),
            ("all", _("All cases")),
            ("closed", _("Closed cases")),
            ("appeal", _("Under appeal")),
        ],
    )
    q = SearchField(label=_("Search"))
    # The column the list is sorted by (selectors.CASE_SORTS), kept when the filters change.
    sort = forms.ChoiceField(
        required=False,
        widget=forms.HiddenInput,
        choices=[(f"{d}{key}", key) for key in selectors.CASE_SORTS for d in ("", "-")],
    )

    def values(self) -> dict:
        values = super().values()
        if not values["state"]:
            values["state"] = "all" if values["q"] else "open"
        return values
