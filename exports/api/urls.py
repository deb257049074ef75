"""Mount under /api/v1/ with: path("exports/", include("exports.api.urls"))."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from exports.api import views

app_name = "exports-api"

router = SimpleRouter()
router.register("jobs", views.ExportJobViewSet, basename="job")

urlpatterns = [
    path("public-key/", views.public_key, name="public-key"),
    path("reviews/<int:review_id>/<str:fmt>/", views.review_export_now, name="review-now"),
    *router.urls,
]
