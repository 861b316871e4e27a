"""The course catalog in the operators' admin site (config/admin.py): added and changed
through services.save_course, as on the catalog's own pages, with the same form's checks; a
course is never deleted, only made inactive. Measures and evidence belong to their cases and
are not here."""

from django.contrib import admin

from config.admin import OperatorHistoryAdmin, ServiceForm

from . import services
from .forms import CourseForm
from .models import Course


class CourseAdminForm(ServiceForm, CourseForm):
    class Meta(CourseForm.Meta):
        pass

    def save_through_service(self, request, data):
        return services.save_course(
            acting_user=request.user, course=self.instance if self.instance.pk else None, **data
        )


@admin.register(Course)
class CourseAdmin(OperatorHistoryAdmin):
    form = CourseAdminForm
    list_display = ["title", "provider", "format", "active"]
    list_filter = ["provider", "format", "active"]
    search_fields = ["title"]

    def has_add_permission(self, request):
        return self.has_view_permission(request)

    def has_change_permission(self, request, obj=None):
        return self.has_view_permission(request)
