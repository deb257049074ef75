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
