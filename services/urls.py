from django.urls import path

from services import views

app_name = "services"
urlpatterns = [
    path("", views.service_list, name="list"),
    path("new/", views.service_create, name="create"),
    path("<slug:slug>/", views.service_detail, name="detail"),
    path("<slug:slug>/edit/", views.service_edit, name="edit"),
    path("<slug:slug>/aws-targets/new/", views.aws_target_create, name="aws_target_create"),
]
