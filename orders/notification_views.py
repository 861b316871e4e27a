"""The in-app list of notices, and the link every notice e-mail points to."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from audit import Action
from config.pages import page_of

from . import selectors, services
from .models import Notification
from .views import log_refused_probe


@login_required
@require_http_methods(["GET", "POST"])
def notification_list(request):
    mine = Notification.objects.filter(recipient=request.user)
    if request.method == "POST":
        # "Mark all as read": a change of the list only, never of the notices' content.
        services.mark_notifications_read(acting_user=request.user)
        return redirect("orders:notifications")
    page = page_of(request, mine.select_related("order"))
    for notice in page.object_list:
        notice.title = selectors.notice_title(notice)
    context = {"page": page, "unread": mine.filter(read_at__isnull=True).count()}
    return render(request, "orders/notifications.html", context)


@login_required
def open_notification(request, pk):
    """Mark the notice read and go to its case (or the task list, if the case is no longer
    the user's to see). Someone else's notice does not exist."""
    notification = Notification.objects.filter(pk=pk, recipient=request.user).first()
    if notification is None:
        # Someone else's notice (or none): logged on its case, as a look at the case would be.
        order_pk = Notification.objects.filter(pk=pk).values_list("order_id", flat=True).first()
        log_refused_probe(
            request, Action.OPEN_NOTIFICATION, f"notification:{pk}", order_pk=order_pk
        )
        raise Http404
    if notification.read_at is None:
        services.mark_notifications_read(acting_user=request.user, pk=pk)
    if selectors.orders_for_list(request.capabilities).filter(pk=notification.order_id).exists():
        return redirect("orders:case_detail", pk=notification.order_id)
    return redirect("orders:my_tasks")
