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
