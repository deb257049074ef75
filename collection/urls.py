from django.urls import path

from collection import views

app_name = "collection"
urlpatterns = [
    path("targets/<int:target_id>/collect/", views.run_start, name="run_start"),
    path("runs/<int:run_id>/", views.run_detail, name="run_detail"),
    path("runs/<int:run_id>/progress", views.run_progress, name="run_progress"),
    path("snapshots/<int:snapshot_id>/", views.snapshot_detail, name="snapshot_detail"),
]
