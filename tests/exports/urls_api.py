"""The portal's URLs plus the exports API, mounted as the lead will mount it."""

from django.urls import include, path

from portal.urls import urlpatterns as portal_urlpatterns

urlpatterns = [
    *portal_urlpatterns,
    path("api/v1/exports/", include("exports.api.urls")),
]
