"""/api/v1/: the REST API (schema at schema/, interactive docs at docs/)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from accounts.api.views import TeamViewSet
from audit.api.views import AuditEventViewSet
from collection.api.views import CollectionRunViewSet
from controls.api.views import (
    CatalogVersionViewSet,
    ControlViewSet,
    FrameworkViewSet,
    RequirementViewSet,
)
from evidence.api.views import EvidenceViewSet
from gate.api.views import (
    ApiTokenViewSet,
    BreakGlassViewSet,
    CiEvidenceView,
    GateDecisionViewSet,
    GateView,
    JwksView,
)
from reviews.api.views import ReviewViewSet, WaiverViewSet
from services.api.views import AwsTargetViewSet, ServiceViewSet

router = DefaultRouter()
router.register("teams", TeamViewSet, basename="team")
router.register("services", ServiceViewSet, basename="service")
router.register("aws-targets", AwsTargetViewSet, basename="aws-target")
router.register("catalog/versions", CatalogVersionViewSet, basename="catalog-version")
router.register("catalog/controls", ControlViewSet, basename="control")
router.register("catalog/frameworks", FrameworkViewSet, basename="framework")
router.register("catalog/requirements", RequirementViewSet, basename="requirement")
router.register("reviews", ReviewViewSet, basename="review")
router.register("waivers", WaiverViewSet, basename="waiver")
router.register("evidence", EvidenceViewSet, basename="evidence")
router.register("collection/runs", CollectionRunViewSet, basename="collection-run")
router.register("audit/events", AuditEventViewSet, basename="audit-event")
router.register("gate/decisions", GateDecisionViewSet, basename="gate-decision")
router.register("gate/break-glass", BreakGlassViewSet, basename="break-glass")
router.register("tokens", ApiTokenViewSet, basename="api-token")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("gate", GateView.as_view(), name="gate"),
    path("services/<slug:slug>/ci-evidence", CiEvidenceView.as_view(), name="ci-evidence"),
    path("jwks.json", JwksView.as_view(), name="jwks"),
    path("exports/", include("exports.api.urls")),
    path("", include(router.urls)),
]
