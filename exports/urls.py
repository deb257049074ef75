from django.urls import path

from exports import views

app_name = "exports"
urlpatterns = [
    path("", views.export_list, name="list"),
    path("jobs/status.json", views.jobs_status, name="jobs_status"),
    path("jobs/<int:pk>/download/", views.job_download, name="download"),
    path("review/<int:review_id>/", views.review_export, name="review_export"),
    path(
        "review/<int:review_id>/download.<str:fmt>",
        views.review_download,
        name="review_download",
    ),
    path("service/", views.service_export, name="service_export_any"),
    path("service/<slug:slug>/", views.service_export, name="service_export"),
    path("framework/", views.framework_export, name="framework_export"),
    path("public-key.pem", views.public_key, name="public_key"),
]
