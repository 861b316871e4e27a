"""The operators' admin site (Drift): Django's admin at settings.PALEGG_ADMIN_PATH, for
superusers who logged in through the app's own login page and passed its two-factor step, and
the pieces every app's admin.py builds on.

The admin writes nothing the services would not: a ModelAdmin that adds or changes rows does
it through a service (ServiceForm), so change history and the access log are kept as on the
app's own pages; everything else is shown read-only, and nothing is deleted here. A look at
personal data is an access event like a look at a case (OperatorAdmin.personal_data).
"""

from functools import wraps

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

import audit
from config.forms import CONTROL_CHARACTERS

# The apps whose models are on this site, each with an OperatorAdmin. Other packages register
# admins of their own when the admin is installed (django-otp's show each device's secret key,
# django-axes' would open a locked account without the access log, django.contrib.auth's
# groups would grant rights beside the appointments): those registrations are not taken.
PROJECT_APPS = ("audit", "municipalities", "courses", "orders")


class OperatorsAdminSite(admin.AdminSite):
    site_header = _("Pålegg – operations")
    site_title = _("Pålegg – operations")
    index_title = _("Operators' tools")
    # An operator's account has no role in the app's own pages (User.has_perm).
    site_url = None

    def __init__(self, name="admin"):
        super().__init__(name)
        # Nothing is deleted here (OperatorAdmin.has_delete_permission): not offered either.
        self.disable_action("delete_selected")

    def register(self, model_or_iterable, admin_class=None, **options):
        if admin_class is not None and issubclass(admin_class, OperatorAdmin):
            super().register(model_or_iterable, admin_class, **options)
            return
        models = [model_or_iterable] if isinstance(model_or_iterable, type) else model_or_iterable
        ours = [m for m in models if m._meta.app_label in PROJECT_APPS]
        if ours:
            raise ImproperlyConfigured(
                f"{ours[0]._meta.label}: register it with an OperatorAdmin (config/admin.py), "
                "which writes only through the services."
            )

    def autocomplete_view(self, request):
        """The choices offered while typing in a form (people, for an appointment): a look
        at personal data like a list's."""
        audit.record(
            request=request,
            action=audit.Action.ADMIN_VIEW,
            target="admin:autocomplete",
            capacity=audit.OPERATIONS,
            detail=CONTROL_CHARACTERS.sub("?", request.GET.urlencode()),
        )
        return super().autocomplete_view(request)

    def has_permission(self, request):
        """Operators only: active superusers whose session has passed the app's two-factor step
        (django-otp's is_verified; municipalities.two_factor asks it of every superuser,
        however they logged in). Staff who are not superusers, and the app's administrators
        (an appointment, not a superuser), get nothing here."""
        user = request.user
        return user.is_active and user.is_superuser and user.is_verified()

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def guarded(request, *args, **kwargs):
            # Someone not logged in goes to the app's login page (lockout, two-factor), never
            # to a second password form; anyone else who is not an operator finds nothing.
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not self.has_permission(request):
                raise Http404
            return inner(request, *args, **kwargs)

        return guarded

    def login(self, request, extra_context=None):
        """There is one login page, the app's; the admin's own would bypass its lockout and
        its two-factor step."""
        if request.user.is_authenticated:
            if not self.has_permission(request):
                raise Http404
            return redirect("admin:index")
        return redirect_to_login(request.GET.get("next") or reverse("admin:index"))

    def password_change(self, request, extra_context=None):
        """A password is set one way: the app's reset by e-mail, which is logged and ends the
        person's other sessions."""
        return redirect("password_reset")

    def password_change_done(self, request, extra_context=None):
        return redirect("password_reset")


class CappedCountPaginator(Paginator):
    """Counts no further than CAP rows. An exact COUNT(*) reads the whole table, and the access
    log grows by every look (this page's own included); beyond the cap, narrow the list with
    its filters or search."""

    CAP = 10_000

    @cached_property
    def count(self):
        return self.object_list[: self.CAP].count()


class OperatorAdmin(admin.ModelAdmin):
    """What every ModelAdmin of the site shares. The site decides who is an operator; an
    operator may look at every registered model, and add or change only where a subclass
    allows it, through a service (ServiceForm). Nothing is deleted: people are deactivated,
    appointments ended, courses made inactive, and history and the access log stay.

    ``personal_data``: each look at the list, an object or its history is an access event
    (ADMIN_VIEW) with the operator's capacity (audit.OPERATIONS); ``view_authority_id`` names
    the authority whose security officer should see it too."""

    personal_data = False
    show_full_result_count = False
    list_per_page = 50

    def has_module_permission(self, request):
        return self.admin_site.has_permission(request)

    def has_view_permission(self, request, obj=None):
        return self.admin_site.has_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # --- writes go through the services

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if issubclass(form, ServiceForm):
            # modelform_factory made this class for this request: the service's acting user.
            form.request = request
        return form

    def save_model(self, request, obj, form, change):
        if not isinstance(form, ServiceForm):
            raise ImproperlyConfigured(
                f"{type(self).__name__}: the admin saves only through a service (ServiceForm)."
            )
        for notice in form.notices:
            messages.info(request, notice)

    def save_related(self, request, form, formsets, change):
        """The service has saved everything there is."""

    # --- looks at personal data are logged

    def view_authority_id(self, obj) -> int | None:
        return None

    def log_view(self, request, obj=None, detail=""):
        if not self.personal_data or request.method not in ("GET", "HEAD"):
            return
        capacity = audit.OPERATIONS
        if obj is not None:
            capacity = audit.Capacity(
                capacity.role, capacity.organisation, self.view_authority_id(obj)
            )
        audit.record(
            request=request,
            action=audit.Action.ADMIN_VIEW,
            target=obj if obj is not None else f"{self.model._meta.label_lower}:",
            capacity=capacity,
            detail=CONTROL_CHARACTERS.sub("?", detail),
        )

    def object_for(self, request, object_id):
        """The object the URL names, or 404 (also for an id of the wrong shape)."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        return obj

    def changelist_view(self, request, extra_context=None):
        self.log_view(request, detail=request.GET.urlencode())
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if self.personal_data and request.method in ("GET", "HEAD"):
            obj = self.get_object(request, unquote(object_id))
            if obj is not None:
                self.log_view(request, obj)
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self.log_view(request, self.object_for(request, object_id), "history")
        return super().history_view(request, object_id, extra_context)


class OperatorHistoryAdmin(OperatorAdmin, SimpleHistoryAdmin):
    """For models with change history (simple-history): the history is shown, never reverted
    (SIMPLE_HISTORY_REVERT_DISABLED; a version's form is not saved back either)."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied
        obj = self.object_for(request, object_id)
        history = self.model.history.model
        try:
            history._meta.pk.to_python(version_id)
        except ValidationError:
            raise Http404 from None
        self.log_view(request, obj, f"history:{version_id}"[:60])
        return super().history_form_view(request, object_id, version_id, extra_context)


_UNUSABLE = _("The text contains characters that cannot be used, such as control characters.")


def _is_text(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


class ServiceForm(forms.ModelForm):
    """An admin form whose saving is a service call (``save_through_service``). The call is the
    last step of validation, in a savepoint: a service's refusal (ValidationError,
    PermissionDenied) is then an error on the form, as on the app's own pages, never a 500;
    the admin afterwards saves nothing itself. ModelForm's own model validation is left to the
    service, which validates what it saves. ``notices`` are shown to the operator after."""

    # Set by OperatorAdmin.get_form (or given): whose request, as whom the service acts.
    request = None
    refused_message = _("This change is not allowed.")

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        if request is not None:
            self.request = request
        self.saved = None
        self.notices = []

    def save_through_service(self, request, data):
        raise NotImplementedError

    def _post_clean(self):
        # A lone surrogate cannot reach a form from a request (the body is decoded with
        # replacement), but one handed to a form directly must not reach the database.
        for name, value in list(self.cleaned_data.items()):
            if isinstance(value, str) and not _is_text(value):
                self.add_error(name, _UNUSABLE)
        if self._errors:
            return
        if self.request is None:
            self.add_error(None, self.refused_message)
            return
        try:
            with transaction.atomic():
                self.saved = self.save_through_service(self.request, self.cleaned_data)
        except ValidationError as error:
            self.add_service_errors(error)
        except PermissionDenied:
            self.add_error(None, self.refused_message)
        except IntegrityError:
            # Someone saved the same a moment earlier (a unique constraint).
            self.add_error(None, _("This was saved by someone else just now. Check and try again."))

    def add_service_errors(self, error):
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for field, messages_ in error.message_dict.items():
            self.add_error(field if field in self.fields else None, messages_)

    def save(self, commit=True):
        return self.saved

    def save_m2m(self):
        """The service has saved everything there is."""
