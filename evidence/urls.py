from django.urls import path

from evidence import views

app_name = "evidence"
urlpatterns = [
    path("<int:pk>/", views.evidence_detail, name="detail"),
    path("<int:pk>/download/", views.evidence_download, name="download"),
    path("service/<slug:slug>/", views.service_evidence, name="service"),
]
