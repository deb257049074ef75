"""Teams, read-only: members see their teams; reviewers, auditors and admins see all."""

from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets

from accounts.models import Membership, Team
from gate.principals import caller_of, visible_services


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["username", "role"]
        read_only_fields = fields


class TeamSerializer(serializers.ModelSerializer):
    services = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)

    class Meta:
        model = Team
        fields = ["slug", "name", "description", "contact_email", "services", "created_at"]
        read_only_fields = fields


class TeamDetailSerializer(TeamSerializer):
    members = MemberSerializer(source="memberships", many=True, read_only=True)

    class Meta(TeamSerializer.Meta):
        fields = [*TeamSerializer.Meta.fields, "members"]
        read_only_fields = fields


@extend_schema(tags=["teams"])
class TeamViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_field = "slug"
    filterset_fields = ["slug"]
    ordering_fields = ["name", "slug", "created_at"]
    ordering = ["name"]

    def get_serializer_class(self):
        return TeamDetailSerializer if self.action == "retrieve" else TeamSerializer

    def get_queryset(self):
        qs = Team.objects.prefetch_related("services", "memberships__user")
        if getattr(self, "swagger_fake_view", False):
            return qs.none()
        user = self.request.user
        caller = caller_of(self.request)
        if caller is not None and caller.service_ids is not None:
            return qs.filter(pk__in=visible_services(self.request).values("team_id"))
        if user.sees_all_services:
            return qs
        return qs.filter(Q(pk__in=user.team_ids))
