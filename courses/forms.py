"""Forms for the course catalog: the catalog's filters, and the course form that authority
administrators use to add and change courses."""

from django import forms
from django.utils.translation import gettext_lazy as _

from config import forms as config_forms
from municipalities import bounds

from .models import Course


class CatalogFilterForm(config_forms.Form):
    provider = forms.ChoiceField(
        label=_("Provider"),
        required=False,
        choices=[("", _("All providers")), *Course.Provider.choices],
    )
    format = forms.ChoiceField(
        label=_("Format"),
        required=False,
        choices=[("", _("All formats")), *Course.Format.choices],
    )
    hide_inactive = forms.BooleanField(label=_("Hide inactive courses"), required=False)

    def courses(self):
        """The catalog narrowed by the filters given. A filter with an unknown value (an
        edited address) is ignored rather than answered with an error page."""
        self.is_valid()
        data = self.cleaned_data
        courses = Course.objects.all()
        if data.get("provider"):
            courses = courses.filter(provider=data["provider"])
        if data.get("format"):
            courses = courses.filter(format=data["format"])
        if data.get("hide_inactive"):
            courses = courses.filter(active=True)
        return courses


class CourseForm(config_forms.ModelForm):
    class Meta:
        model = Course
        fields = [
            "title",
            "provider",
            "format",
            "theme",
            "description",
            "expected_duration",
            "terms",
            "terms_url",
            "active",
        ]
        # The limits the model holds, shown where the text is typed.
        help_texts = {
            "title": bounds.limit_text(bounds.LINE_LENGTH),
            "theme": bounds.limit_text(bounds.LINE_LENGTH),
            "description": bounds.limit_text(bounds.GROUNDS_LENGTH),
            "terms": bounds.limit_text(bounds.GROUNDS_LENGTH),
        }

    def clean(self):
        data = super().clean()
        provider, title = data.get("provider"), data.get("title")
        if provider and title:
            # The database holds one course per provider and title; say so on the title field
            # instead of the generic constraint message. Case is ignored: "diabetes" next to
            # "Diabetes" would only confuse whoever plans measures.
            same = Course.objects.filter(provider=provider, title__iexact=title)
            if self.instance.pk:
                same = same.exclude(pk=self.instance.pk)
            if same.exists():
                self.add_error("title", duplicate_title_error(provider, title))
        return data


def duplicate_title_error(provider, title):
    return _("%(provider)s already has a course called “%(title)s” in the catalog.") % {
        "provider": Course.Provider(provider).label,
        "title": title,
    }
