"""Organisations and people in the operators' admin site (config/admin.py).

Writes go through the same services as the app's pages: a person is made by new_login and
invited, changed or deactivated by change_person (which ends a deactivated person's sessions);
an appointment is made by appoint (with the invitation the appointment page sends) and ended,
never deleted, by end_appointment; invitations are sent again or revoked as on the
organisation's page. The reference data (authorities, municipalities, GP offices, the health
personnel register) is not edited here: it comes from its files, which would undo an edit made
here. The authorities and municipalities are updated from their files here by the same service
as `manage.py load_reference_data` (with the operator in their history); the GP register comes
in through `manage.py import_gp_register`.
"""

from django.contrib import admin, messages
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from config.admin import OperatorAdmin, OperatorHistoryAdmin, ServiceForm

from . import appointments, bounds, invitations, services
from .models import (
    Appointment,
    Authority,
    GPOffice,
    HealthPersonnel,
    Invitation,
    LoginIdentity,
    Municipality,
    User,
)
from .views import INVITATION_ACTIONS

# --- reference data: read-only, with its history, updated from its files


class ReferenceDataAdmin(OperatorHistoryAdmin):
    """The list has a button that loads the reference files again (load_reference_data)."""

    change_list_template = "admin/municipalities/reference_data_change_list.html"

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_update_from_files"
        update = path("oppdater/", self.admin_site.admin_view(self.update_from_files), name=name)
        return [update, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        url = f"admin:{self.opts.app_label}_{self.opts.model_name}_update_from_files"
        extra_context = {**(extra_context or {}), "update_from_files_url": reverse(url)}
        return super().changelist_view(request, extra_context)

    def update_from_files(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            summary = services.load_reference_data(acting_user=request.user)
        except services.ReferenceDataError as error:
            messages.error(request, _("The reference files were not loaded: %s") % error)
        else:
            a, m = summary.authorities, summary.municipalities
            messages.info(
                request,
                _(
                    "Authorities: %(created)d created, %(updated)d updated, "
                    "%(unchanged)d unchanged."
                )
                % {"created": len(a.created), "updated": len(a.updated),
                   "unchanged": len(a.unchanged)},
            )  # fmt: skip
            messages.info(
                request,
                _(
                    "Municipalities: %(created)d created, %(updated)d updated, "
                    "%(unchanged)d unchanged, %(ceased)d ceased."
                )
                % {"created": len(m.created), "updated": len(m.updated),
                   "unchanged": len(m.unchanged), "ceased": len(m.ceased)},
            )  # fmt: skip
            if summary.unlisted:
                messages.warning(
                    request,
                    _("%(count)d municipalities need a decision.")
                    % {"count": len(summary.unlisted)},
                )
            messages.success(
                request,
                _("Reference data loaded.")
                if summary.changed_anything
                else _("The reference data was already up to date; nothing changed."),
            )
        return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")


@admin.register(Authority)
class AuthorityAdmin(ReferenceDataAdmin):
    list_display = ["name", "kind", "org_number"]
    list_filter = ["kind"]
    search_fields = ["name", "=org_number"]


@admin.register(Municipality)
class MunicipalityAdmin(ReferenceDataAdmin):
    list_display = ["number", "name", "county", "authority", "valid_to", "successor"]
    list_filter = [("valid_to", admin.EmptyFieldListFilter), "authority"]
    list_select_related = ["authority", "successor"]
    search_fields = ["=number", "name"]


@admin.register(GPOffice)
class GPOfficeAdmin(OperatorHistoryAdmin):
    list_display = ["name", "org_number", "municipality", "postal_town"]
    list_select_related = ["municipality"]
    search_fields = ["=org_number", "name"]


@admin.register(HealthPersonnel)
class HealthPersonnelAdmin(OperatorHistoryAdmin):
    personal_data = True
    list_display = ["name", "hpr_number", "profession", "municipality", "gp_office", "user"]
    list_filter = ["profession", "list_open"]
    list_select_related = ["municipality", "gp_office", "user"]
    search_fields = ["=hpr_number", "name"]

    def view_authority_id(self, obj):
        return obj.municipality.authority_id


# --- people


class NewPersonAdminForm(ServiceForm):
    """A new login without a password; the invitation lets them in."""

    refused_message = _("The person could not be created.")

    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "email"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("first_name", "last_name", "email"):
            self.fields[name].required = True

    def save_through_service(self, request, data):
        user = appointments.new_login(
            username=data["username"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            email=data["email"],
        )
        invitation = invitations.invite_if_needed(
            acting_user=request.user, user=user, request=request
        )
        if invitation is not None:
            self.notices.append(invitations.sent_message(invitation))
        return user


class PersonAdminForm(ServiceForm):
    refused_message = _("The change could not be saved.")

    class Meta:
        model = User
        fields = ["first_name", "last_name", "email", "is_active"]
        help_texts = {
            "is_active": _(
                "A person who leaves is deactivated, never deleted: their sessions end at once, "
                "and the access log and history keep their name."
            )
        }

    def save_through_service(self, request, data):
        return appointments.change_person(
            acting_user=request.user, user=self.instance, request=request, **data
        )


@admin.register(User)
class UserAdmin(OperatorAdmin):
    personal_data = True
    list_display = [
        "username",
        "first_name",
        "last_name",
        "email",
        "is_active",
        "is_superuser",
        "last_login",
    ]
    list_filter = ["is_active", "is_superuser"]
    search_fields = ["username", "first_name", "last_name", "email"]
    ordering = ["username"]
    # Rights come from appointments (and operators from createsuperuser), not from here.
    readonly_fields = ["username", "is_superuser", "last_login", "date_joined"]

    def has_add_permission(self, request):
        return self.has_view_permission(request)

    def has_change_permission(self, request, obj=None):
        return self.has_view_permission(request)

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = NewPersonAdminForm if obj is None else PersonAdminForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return NewPersonAdminForm._meta.fields
        return [
            "username",
            *PersonAdminForm._meta.fields,
            "is_superuser",
            "last_login",
            "date_joined",
        ]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields


# --- appointments


class AppointAdminForm(ServiceForm):
    """As the appointment page: the role for an authority, or (municipal leader) for a
    municipality; with the reason; the person is invited if they have never logged in."""

    reason = bounds.text_field(_("Reason"))
    refused_message = _(
        "This appointment is not allowed: a municipal leader is appointed for a municipality "
        "that has not ceased, the other roles for an authority."
    )

    class Meta:
        model = Appointment
        fields = ["user", "role", "authority", "municipality", "reason"]
        help_texts = {
            "authority": _("For a caseworker, administrator or security officer."),
            "municipality": _("For a municipal leader."),
        }

    def clean(self):
        data = super().clean()
        leader = data.get("role") == Appointment.Role.LEADER
        needed, unused = ("municipality", "authority") if leader else ("authority", "municipality")
        if data.get(unused):
            self.add_error(unused, _("Leave this empty for the role chosen."))
        if not data.get(needed) and needed not in self.errors:
            self.add_error(needed, _("Choose where the person is appointed."))
        return data

    def save_through_service(self, request, data):
        leader = data["role"] == Appointment.Role.LEADER
        appointment = appointments.appoint(
            acting_user=request.user,
            user=data["user"],
            role=data["role"],
            organisation=data["municipality"] if leader else data["authority"],
            reason=data["reason"],
        )
        invitation = invitations.invite_if_needed(
            acting_user=request.user, user=data["user"], request=request
        )
        if invitation is not None:
            self.notices.append(invitations.sent_message(invitation))
        return appointment


class EndAppointmentAdminForm(ServiceForm):
    """Saving ends the appointment: the grant goes at once, the row stays with the reason."""

    end_reason = bounds.text_field(
        _("Reason for ending"),
        help_text=_("Saving ends the appointment now and removes the access it gave."),
    )

    class Meta:
        model = Appointment
        fields = ["end_reason"]

    def save_through_service(self, request, data):
        return appointments.end_appointment(
            acting_user=request.user, appointment=self.instance, reason=data["end_reason"]
        )


class ActiveFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", _("Active")), ("ended", _("Ended"))]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(ended_at__isnull=True)
        if self.value() == "ended":
            return queryset.filter(ended_at__isnull=False)
        return queryset


@admin.register(Appointment)
class AppointmentAdmin(OperatorHistoryAdmin):
    personal_data = True
    list_display = ["user", "role", "authority", "municipality", "appointed_at", "ended_at"]
    list_filter = [ActiveFilter, "role", "authority"]
    list_select_related = ["user", "authority", "municipality"]
    search_fields = ["=user__username"]
    autocomplete_fields = ["user", "municipality"]
    shown = [
        "user",
        "role",
        "authority",
        "municipality",
        "reason",
        "appointed_by",
        "appointed_at",
        "ended_at",
        "ended_by",
        "end_reason",
    ]

    def has_add_permission(self, request):
        return self.has_view_permission(request)

    def has_change_permission(self, request, obj=None):
        # An active appointment's one change is its end; an ended one is history.
        return self.has_view_permission(request) and (obj is None or obj.ended_at is None)

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = AppointAdminForm if obj is None else EndAppointmentAdminForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return AppointAdminForm._meta.fields if obj is None else self.shown

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [name for name in self.shown if obj.ended_at is not None or name != "end_reason"]

    def view_authority_id(self, obj):
        return obj.authority_id or obj.municipality.authority_id


# --- the ways in


@admin.register(Invitation)
class InvitationAdmin(OperatorHistoryAdmin):
    personal_data = True
    list_display = ["user", "email", "state_shown", "created_at", "expires_at", "created_by"]
    list_select_related = ["user", "created_by"]
    search_fields = ["=user__username", "=email"]
    actions = ["send_again", "revoke"]
    exclude = ["token_hash"]

    @admin.display(description=_("status"))
    def state_shown(self, invitation):
        return invitation.get_state_display()

    def _act(self, request, queryset, action):
        _logged_as, act = INVITATION_ACTIONS[action]
        for invitation in queryset.select_related("user"):
            act(request, invitation)

    @admin.action(description=_("Send a new invitation link"), permissions=["view"])
    def send_again(self, request, queryset):
        self._act(request, queryset, "resend")

    @admin.action(description=_("Revoke the invitation"), permissions=["view"])
    def revoke(self, request, queryset):
        self._act(request, queryset, "revoke")


@admin.register(LoginIdentity)
class LoginIdentityAdmin(OperatorAdmin):
    personal_data = True
    list_display = ["user", "provider", "created_at", "last_login_at"]
    list_filter = ["provider"]
    list_select_related = ["user"]
    search_fields = ["=user__username"]
