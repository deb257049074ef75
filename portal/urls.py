from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from accounts.views import home
from gate.api.views import JwksView
from portal import health

admin.site.site_header = "PRR Portal administration"

urlpatterns = [
    path("", home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # The portal's public signing keys (gate verdicts, audit checkpoints, export bundles).
    path(".well-known/jwks.json", JwksView.as_view(schema=None), name="well_known_jwks"),
    path("accounts/", include("accounts.urls")),
    path("services/", include("services.urls")),
    path("catalog/", include("controls.urls")),
    path("reviews/", include("reviews.urls")),
    path("evidence/", include("evidence.urls")),
    path("collection/", include("collection.urls")),
    path("audit/", include("audit.urls")),
    path("gate/", include("gate.urls")),
    path("exports/", include("exports.urls")),
    path("notifications/", include("notifications.urls")),
    path("", include("dashboards.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(("portal.api_urls", "api"))),
]

if settings.OIDC_ENABLED:
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))

handler404 = "portal.api.not_found"
