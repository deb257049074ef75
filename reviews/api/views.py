"""Reviews and waivers over the API: every transition goes through ``reviews.workflow``."""

from django.db.models import Prefetch
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from audit.context import Actor
from evidence.models import Evidence
from gate.api.base import ServiceScopedMixin
from gate.principals import visible_services
from portal.errors import DomainError
from reviews import workflow
from reviews.api import serializers as s
from reviews.models import ItemEvidence, Review, ReviewItem, SignOff, Waiver


def _service(request, slug: str):
    service = visible_services(request).filter(slug=slug).first()
    if service is None:
        raise DomainError(
            f"Unknown service {slug!r}.", code="not_found", details={"service": ["not found"]}
        )
    return service


def _validated(serializer_class, request) -> dict:
    """The request body checked by ``serializer_class`` (if not: a 400 in the API's error shape)."""
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


def _of_service(model, pk, service, name: str):
    """The ``model`` row ``pk`` of ``service`` that a request body names in field ``name``."""
    obj = model.objects.filter(pk=pk, service=service).first()
    if obj is None:
        raise DomainError(f"No such {name} for this service.", details={name: ["not found"]})
    return obj


class TransitionMixin:
    """Workflow actions on the viewset's object. The body is checked first (a bad body is a 400
    before the object is looked up), then the transition runs as the caller with the object and
    the body's fields by name: an input serializer lists exactly the transition's arguments,
    and one the caller leaves out takes the transition's default."""

    #: the transition's keyword for the viewset's object
    object_name = ""

    def transition(self, request, input_class, fn):
        values = _validated(input_class, request)
        return fn(
            actor=Actor.from_request(request), **{self.object_name: self.get_object()}, **values
        )


class ReviewFilter(filters.FilterSet):
    service = filters.CharFilter(field_name="service__slug")
    team = filters.CharFilter(field_name="service__team__slug")

    class Meta:
        model = Review
        fields = ["service", "team", "environment", "status"]


ITEM_ID = OpenApiParameter("item_id", int, OpenApiParameter.PATH)


@extend_schema(tags=["reviews"])
class ReviewViewSet(
    ServiceScopedMixin,  # first: the API schema describes operations by the first docstring
    TransitionMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    filterset_class = ReviewFilter
    ordering_fields = ["created_at", "submitted_at", "approved_at", "expires_at"]
    ordering = ["-created_at"]
    object_name = "review"

    def base_queryset(self):
        qs = Review.objects.select_related(
            "service__team", "catalog_version", "opened_by", "submitted_by"
        )
        if self.action == "retrieve":
            attachments = ItemEvidence.objects.filter(removed_at__isnull=True)
            items = (
                ReviewItem.objects.select_related("control", "verdict_by")
                .prefetch_related(Prefetch("attachments", queryset=attachments, to_attr="current"))
                .order_by("control__position", "control__code")
            )
            qs = qs.prefetch_related(
                Prefetch("items", queryset=items, to_attr="item_list"),
                Prefetch("signoffs", queryset=SignOff.objects.select_related("user")),
            )
        return qs

    def get_serializer_class(self):
        return s.ReviewDetailSerializer if self.action == "retrieve" else s.ReviewSerializer

    def _detail(self, review, code=status.HTTP_200_OK):
        fresh = self.base_queryset_for_detail().get(pk=review.pk)
        return Response(s.ReviewDetailSerializer(fresh).data, status=code)

    def base_queryset_for_detail(self):
        action_name, self.action = self.action, "retrieve"
        try:
            return self.base_queryset()
        finally:
            self.action = action_name

    @extend_schema(request=s.ReviewOpenSerializer, responses={201: s.ReviewDetailSerializer})
    def create(self, request):
        """Open a review of a service for an environment."""
        values = _validated(s.ReviewOpenSerializer, request)
        review = workflow.review_open(
            actor=Actor.from_request(request),
            service=_service(request, values["service"]),
            environment=values["environment"],
        )
        return self._detail(review, status.HTTP_201_CREATED)

    @extend_schema(request=s.VersionedSerializer, responses={200: s.ReviewDetailSerializer})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._detail(self.transition(request, s.VersionedSerializer, workflow.review_submit))

    @extend_schema(request=s.SignOffInputSerializer, responses={200: s.ReviewDetailSerializer})
    @action(detail=True, methods=["post"], url_path="sign-off")
    def sign_off(self, request, pk=None):
        signoff = self.transition(request, s.SignOffInputSerializer, workflow.signoff_record)
        return self._detail(signoff.review)

    @extend_schema(request=s.RejectInputSerializer, responses={200: s.ReviewDetailSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Send the review back to its owners (changes requested)."""
        review = self.transition(request, s.RejectInputSerializer, workflow.review_request_changes)
        return self._detail(review)

    def _item(self, review, item_id) -> ReviewItem:
        item = (
            ReviewItem.objects.select_related("control", "review__service__team")
            .filter(pk=item_id, review=review)
            .first()
        )
        if item is None:
            raise DomainError("No such item in this review.", code="not_found")
        return item

    def _item_response(self, review, item):
        return Response(s.ReviewItemSerializer(self._item(review, item.pk)).data)

    @extend_schema(
        request=s.ItemUpdateSerializer,
        responses={200: s.ReviewItemSerializer},
        parameters=[ITEM_ID],
    )
    @action(detail=True, methods=["patch"], url_path=r"items/(?P<item_id>[0-9]+)")
    def item(self, request, pk=None, item_id=None):
        """Answer one checklist item (outcome, reason, waiver)."""
        review = self.get_object()
        item = self._item(review, item_id)
        values = dict(_validated(s.ItemUpdateSerializer, request))
        waiver_id = values.pop("waiver", None)
        waiver = _of_service(Waiver, waiver_id, review.service, "waiver") if waiver_id else None
        item = workflow.item_update(
            actor=Actor.from_request(request), item=item, waiver=waiver, **values
        )
        return self._item_response(review, item)

    @extend_schema(
        request=s.ItemVerdictSerializer,
        responses={200: s.ReviewItemSerializer},
        parameters=[ITEM_ID],
    )
    @action(detail=True, methods=["post"], url_path=r"items/(?P<item_id>[0-9]+)/verdict")
    def item_verdict(self, request, pk=None, item_id=None):
        """A reviewer accepts or rejects one item."""
        review = self.get_object()
        values = _validated(s.ItemVerdictSerializer, request)
        item = workflow.item_verdict(
            actor=Actor.from_request(request), item=self._item(review, item_id), **values
        )
        return self._item_response(review, item)

    @extend_schema(
        request=s.ItemEvidenceSerializer,
        responses={200: s.ReviewItemSerializer},
        parameters=[ITEM_ID],
    )
    @action(detail=True, methods=["post"], url_path=r"items/(?P<item_id>[0-9]+)/evidence")
    def item_evidence(self, request, pk=None, item_id=None):
        """Attach evidence of the same service to an item."""
        review = self.get_object()
        values = dict(_validated(s.ItemEvidenceSerializer, request))
        evidence = _of_service(Evidence, values.pop("evidence"), review.service, "evidence")
        item = self._item(review, item_id)
        workflow.item_attach_evidence(
            actor=Actor.from_request(request), item=item, evidence=evidence, **values
        )
        return self._item_response(review, item)


class WaiverFilter(filters.FilterSet):
    service = filters.CharFilter(field_name="service__slug")

    class Meta:
        model = Waiver
        fields = ["service", "control_code", "status"]


@extend_schema(tags=["waivers"])
class WaiverViewSet(
    ServiceScopedMixin,  # first: the API schema describes operations by the first docstring
    TransitionMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.WaiverSerializer
    filterset_class = WaiverFilter
    ordering_fields = ["created_at", "expires_at"]
    ordering = ["-created_at"]
    object_name = "waiver"

    def base_queryset(self):
        return Waiver.objects.select_related("service__team", "requested_by", "decided_by")

    @extend_schema(request=s.WaiverRequestSerializer, responses={201: s.WaiverSerializer})
    def create(self, request):
        """Request a waiver (risk acceptance) for one control."""
        values = dict(_validated(s.WaiverRequestSerializer, request))
        service = _service(request, values.pop("service"))
        waiver = workflow.waiver_request(
            actor=Actor.from_request(request), service=service, **values
        )
        return Response(s.WaiverSerializer(waiver).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.WaiverDecideSerializer, responses={200: s.WaiverSerializer})
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        waiver = self.transition(request, s.WaiverDecideSerializer, workflow.waiver_decide)
        return Response(s.WaiverSerializer(waiver).data)

    @extend_schema(request=s.WaiverRevokeSerializer, responses={200: s.WaiverSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        waiver = self.transition(request, s.WaiverRevokeSerializer, workflow.waiver_revoke)
        return Response(s.WaiverSerializer(waiver).data)
