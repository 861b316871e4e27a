from django.urls import path

from courses.actions import MEASURE_ACTIONS

from . import measure_views, notification_views, views

app_name = "orders"

urlpatterns = [
    path("oppgaver/", views.my_tasks, name="my_tasks"),
    path("saker/", views.case_list, name="case_list"),
    path("saker/ny/", views.issue_order, name="issue_order"),
    path("saker/<id:pk>/", views.case_detail, name="case_detail"),
    path("saker/<id:pk>/innsyn/", views.case_readers, name="case_readers"),
    path("varsler/", notification_views.notification_list, name="notifications"),
    path("varsler/<id:pk>/", notification_views.open_notification, name="notification"),
    path("saker/<id:pk>/steg/<id:task_pk>/", views.task_step, name="task_step"),
    path("saker/<id:pk>/frist/", views.extend_deadline, name="extend_deadline"),
    path("saker/<id:pk>/trekk-tilbake/", views.withdraw_order, name="withdraw_order"),
    path("saker/<id:pk>/klage/", views.register_appeal, name="register_appeal"),
    path("saker/<id:pk>/klage/<id:appeal_pk>/", views.decide_appeal, name="decide_appeal"),
    path(
        "saker/<id:pk>/dokumenter/<id:document_pk>/",
        views.download_document,
        name="download_document",
    ),
    path("mine-tiltak/", measure_views.my_measures, name="my_measures"),
    path(
        "saker/<id:pk>/tiltak/<id:measure_pk>/",
        measure_views.measure_detail,
        name="measure_detail",
    ),
    # One address per measure action, from its row (courses.actions).
    *[
        path(
            f"saker/<id:pk>/tiltak/<id:measure_pk>/{action.segment}/",
            measure_views.measure_action,
            {"action": action.name},
            name=f"measure_{action.name}",
        )
        for action in MEASURE_ACTIONS.values()
    ],
    *[
        path(
            f"saker/<id:pk>/tiltak/<id:measure_pk>/{segment}/",
            measure_views.supervisor_invitation,
            {"action": action},
            name=f"supervisor_{action}",
        )
        for segment, action in [
            ("veileder-invitasjon", "invite"),
            ("veileder-invitasjon/trekk-tilbake", "revoke_invitation"),
        ]
    ],
]
