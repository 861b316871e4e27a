"""The course catalog: every logged-in user may read it; authority administrators add and
change courses. A course is never deleted, only made inactive."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_safe

import audit
from audit.timeline import history_entries
from config.pages import form_errors_from

from . import services
from .forms import CatalogFilterForm, CourseForm, duplicate_title_error
from .models import Course


def _require_administrator(request, target):
    # 404, not 403: the edit pages are not revealed to those who may not use them. The
    # attempt is logged like every refusal.
    if not request.capabilities.may_edit_courses():
        audit.record(
            request=request,
            action=audit.Action.EDIT_COURSE,
            target=target,
            outcome="refused",
            capacity=request.capabilities.capacity(),
        )
        raise Http404


def _save(request, form, course=None):
    """Save through the service; its validation errors go back onto the form."""
    try:
        with transaction.atomic():
            return services.save_course(
                acting_user=request.user, course=course, **form.cleaned_data
            )
    except ValidationError as error:
        form_errors_from(error, form)
    except IntegrityError:
        # Another administrator saved the same provider and title a moment earlier.
        data = form.cleaned_data
        form.add_error("title", duplicate_title_error(data["provider"], data["title"]))
    return None


def _history_of(course):
    """Who changed what, newest first, and the first recorded version when it is an edit:
    the seeded courses were written by a migration, which records no history, so their first
    edit has nothing to compare with and its recorded values are shown instead."""
    rows = course.history.all()
    first = rows.order_by("history_date", "history_id").select_related("history_user").first()
    untracked_start = first if first is not None and first.history_type != "+" else None
    entries = history_entries(
        rows,
        kind="course",
        created=_("Course changed") if untracked_start else _("Added to the catalog"),
        changed=_("Course changed"),
        fields=CourseForm._meta.fields,
    )
    return entries[::-1], untracked_start


@login_required
@require_safe
def catalog(request):
    filters = CatalogFilterForm(request.GET)
    context = {
        "filters": filters,
        "courses": list(filters.courses()),
        "may_edit": request.capabilities.may_edit_courses(),
    }
    return render(request, "courses/catalog.html", context)


@login_required
@require_safe
def course_detail(request, pk):
    course = get_object_or_404(Course, pk=pk)
    history, untracked_start = _history_of(course)
    context = {
        "course": course,
        "history": history,
        "untracked_start": untracked_start,
        "may_edit": request.capabilities.may_edit_courses(),
    }
    return render(request, "courses/course_detail.html", context)


def _course_form_page(request, course=None):
    # The form writes its input onto the instance; the page names the course as it was.
    saved_title = course.title if course else ""
    form = CourseForm(request.POST or None, instance=course)
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, course)
        if saved is not None:
            messages.success(request, _("The course is saved."))
            return redirect("courses:course_detail", pk=saved.pk)
    context = {"form": form, "course": course, "saved_title": saved_title}
    return render(request, "courses/course_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def course_create(request):
    _require_administrator(request, "course:new")
    return _course_form_page(request)


@login_required
@require_http_methods(["GET", "POST"])
def course_edit(request, pk):
    _require_administrator(request, f"course:{pk}")
    return _course_form_page(request, get_object_or_404(Course, pk=pk))
