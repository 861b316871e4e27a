from django.urls import path

from . import views

app_name = "orders"

urlpatterns = [
    path("oppgaver/", views.my_tasks, name="my_tasks"),
    path("saker/", views.case_list, name="case_list"),
    path("saker/ny/", views.issue_order, name="issue_order"),
    path("saker/<int:pk>/", views.case_detail, name="case_detail"),
    path("kommuner/", views.municipality_list, name="municipality_list"),
    path("kommuner/<str:number>/", views.municipality_overview, name="municipality_overview"),
    path("oppslag/helsepersonell/", views.personnel_lookup, name="personnel_lookup"),
    path("saker/<int:pk>/steg/<int:task_pk>/", views.task_step, name="task_step"),
    path("saker/<int:pk>/frist/", views.extend_deadline, name="extend_deadline"),
    path("saker/<int:pk>/trekk-tilbake/", views.withdraw_order, name="withdraw_order"),
    path("saker/<int:pk>/klage/", views.register_appeal, name="register_appeal"),
    path("saker/<int:pk>/klage/<int:appeal_pk>/", views.decide_appeal, name="decide_appeal"),
    path(
        "saker/<int:pk>/dokumenter/<int:document_pk>/",
        views.download_document,
        name="download_document",
    ),
]
