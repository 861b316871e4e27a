from django.urls import path

from . import views

app_name = "courses"

urlpatterns = [
    path("kurs/", views.catalog, name="catalog"),
    path("kurs/ny/", views.course_create, name="course_create"),
    path("kurs/<id:pk>/", views.course_detail, name="course_detail"),
    path("kurs/<id:pk>/endre/", views.course_edit, name="course_edit"),
]
