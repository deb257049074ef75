"""Factories for the whole test suite (factory_boy)."""

import factory

from accounts.choices import MembershipRole
from accounts.models import Membership, RoleGrant, Team, User
from services.models import AwsTarget, Service


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-for-tests")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ["slug"]

    slug = factory.Sequence(lambda n: f"team-{n}")
    name = factory.LazyAttribute(lambda t: t.slug.replace("-", " ").title())


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    role = MembershipRole.MEMBER


class RoleGrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoleGrant

    user = factory.SubFactory(UserFactory)


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    team = factory.SubFactory(TeamFactory)
    slug = factory.Sequence(lambda n: f"service-{n}")
    name = factory.LazyAttribute(lambda s: s.slug.replace("-", " ").title())
    tier = 2
    repository = factory.LazyAttribute(lambda s: f"acme/{s.slug}")


class AwsTargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AwsTarget

    service = factory.SubFactory(ServiceFactory)
    account_id = "123456789012"
    regions = factory.LazyFunction(lambda: ["eu-west-1"])
    role_arn = factory.LazyAttribute(lambda t: f"arn:aws:iam::{t.account_id}:role/prr-collector")
    function_name_prefix = factory.LazyAttribute(lambda t: t.service.slug)


# --- controls (catalog) ---------------------------------------------------------------------


class CatalogVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "controls.CatalogVersion"
        django_get_or_create = ("version",)

    version = factory.Sequence(lambda n: f"2026.0.{n}")
    content_sha256 = factory.Sequence(lambda n: f"{n:064x}")
    is_current = False


class ControlFactory(factory.django.DjangoModelFactory):
    """A control of a catalog version; pass check_id="" for a manual control."""

    class Meta:
        model = "controls.Control"

    catalog_version = factory.SubFactory(CatalogVersionFactory)
    code = factory.Sequence(lambda n: f"PRR-TST-{n:03d}")
    section = "security"
    title = factory.LazyAttribute(lambda c: f"Control {c.code}")
    requirement = "The thing is configured."
    rationale = "Because it matters."
    aws_services = factory.LazyFunction(lambda: ["AWS Lambda"])
    enforcement = "Configured in the SAM template."
    check_id = ""
    evidence_description = "Configuration snapshot."
    validation_procedure = "Inspect the snapshot."
    severity = "high"
    mandatory_tiers = factory.LazyFunction(lambda: [1, 2])
    applicability = factory.LazyFunction(dict)
    freshness_days = 30


# --- evidence and reviews -----------------------------------------------------------------


def _now():
    from django.utils import timezone

    return timezone.now()


def _in_days(days):
    from datetime import timedelta

    return _now() + timedelta(days=days)


def _sha256_text(text):
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


class EvidenceFactory(factory.django.DjangoModelFactory):
    """Link evidence by default (no stored bytes); pass kind/storage_name for files."""

    class Meta:
        model = "evidence.Evidence"

    service = factory.SubFactory(ServiceFactory)
    kind = "link"
    url = factory.Sequence(lambda n: f"https://wiki.example.com/evidence/{n}")
    title = factory.LazyAttribute(lambda e: e.url)
    sha256 = factory.LazyAttribute(lambda e: _sha256_text(e.url))
    source_type = "user"
    source_label = "owner"
    collected_at = factory.LazyFunction(_now)


class WaiverFactory(factory.django.DjangoModelFactory):
    """A requested waiver expiring in 30 days; pass status/decided_by to approve it."""

    class Meta:
        model = "reviews.Waiver"

    service = factory.SubFactory(ServiceFactory)
    control_code = "PRR-TST-001"
    justification = "Vendor fix pending."
    compensating_controls = "Extra monitoring."
    risk_owner = "Head of Payments"
    requested_by = factory.SubFactory(UserFactory)
    expires_at = factory.LazyFunction(lambda: _in_days(30))


# --- gate: reviews in a given state, collection results ------------------------------------


class ReviewFactory(factory.django.DjangoModelFactory):
    """An approved review valid for 90 days; pass status=... for other states."""

    class Meta:
        model = "reviews.Review"

    service = factory.SubFactory(ServiceFactory)
    environment = "prod"
    catalog_version = factory.SubFactory(CatalogVersionFactory)
    status = "approved"
    opened_by = factory.SubFactory(UserFactory)
    approved_at = factory.LazyFunction(_now)
    expires_at = factory.LazyFunction(lambda: _in_days(90))
    approval_hash = "a" * 64


class ReviewItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "reviews.ReviewItem"

    review = factory.SubFactory(ReviewFactory)
    control = factory.SubFactory(ControlFactory)
    mandatory = True
    outcome = "pass"


class CollectionRunFactory(factory.django.DjangoModelFactory):
    """A finished (succeeded) run of a service's AWS target."""

    class Meta:
        model = "collection.CollectionRun"

    aws_target = factory.SubFactory(AwsTargetFactory)
    service = factory.LazyAttribute(lambda r: r.aws_target.service)
    status = "succeeded"
    account_id = factory.LazyAttribute(lambda r: r.aws_target.account_id)
    role_arn = factory.LazyAttribute(lambda r: r.aws_target.role_arn)
    regions = factory.LazyFunction(lambda: ["eu-west-1"])
    started_at = factory.LazyFunction(_now)
    finished_at = factory.LazyFunction(_now)


class CheckResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "collection.CheckResult"

    run = factory.SubFactory(CollectionRunFactory)
    check_id = "lambda.timeout_configured"
    resource = factory.Sequence(lambda n: f"arn:aws:lambda:eu-west-1:123456789012:function:f{n}")
    status = "pass"
    message = "ok"
    evaluated_at = factory.LazyFunction(_now)
