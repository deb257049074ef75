import pytest

from audit.context import Actor
from audit.models import AuditEvent
from portal.errors import DomainError
from services import services
from services.models import AwsTarget, Service

VALID = {
    "name": "Card Auth",
    "slug": "card-auth",
    "tier": 1,
    "data_classification": "pci",
    "environments": ["staging", "prod"],
    "repository": "acme/card-auth",
}


def test_owner_registers_service_and_it_is_audited(owner, team):
    service = services.service_create(actor=Actor.for_user(owner), team=team, **VALID)
    assert Service.objects.get(slug="card-auth").team == team
    event = AuditEvent.objects.get(action="service.create")
    assert event.actor_user == owner
    assert event.object_id == str(service.pk)
    assert event.after["tier"] == 1


def test_outsider_cannot_register_for_another_team(outsider, team):
    with pytest.raises(DomainError) as err:
        services.service_create(actor=Actor.for_user(outsider), team=team, **VALID)
    assert err.value.code == "not_allowed"
    assert not Service.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("slug", "Bad Slug!", "lowercase letters"),
        ("tier", 7, "not a valid choice"),
        ("repository", "not a repo", "owner/name"),
        ("environments", ["prod", "prod"], "listed twice"),
        ("environments", [], "cannot be blank"),
        ("data_classification", "secret", "not a valid choice"),
    ],
)
def test_invalid_service_fields_are_refused_and_nothing_saved(owner, team, field, value, message):
    with pytest.raises(DomainError) as err:
        services.service_create(actor=Actor.for_user(owner), team=team, **{**VALID, field: value})
    assert field in err.value.details
    assert message in " ".join(err.value.details[field])
    assert not Service.objects.exists()
    assert not AuditEvent.objects.filter(action="service.create").exists()


def test_duplicate_slug_is_refused(owner, team, service):
    with pytest.raises(DomainError) as err:
        services.service_create(
            actor=Actor.for_user(owner), team=team, **{**VALID, "slug": service.slug}
        )
    assert "slug" in err.value.details
    assert Service.objects.filter(slug=service.slug).count() == 1


TARGET = {
    "account_id": "123456789012",
    "regions": ["eu-west-1", "eu-central-1"],
    "role_arn": "arn:aws:iam::123456789012:role/prr-collector",
    "function_name_prefix": "card-auth",
}


def test_link_aws_target_generates_external_id(owner, service):
    target = services.aws_target_create(actor=Actor.for_user(owner), service=service, **TARGET)
    assert target.external_id.startswith("prr-")
    assert len(target.external_id) == 36
    other = services.aws_target_create(
        actor=Actor.for_user(owner),
        service=service,
        **{**TARGET, "account_id": "210987654321", "role_arn": "arn:aws:iam::210987654321:role/x"},
    )
    assert other.external_id != target.external_id


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"account_id": "12345"}, "account_id", "exactly 12 digits"),
        ({"role_arn": "arn:aws:iam::123456789012:user/bob"}, "role_arn", "not an IAM role ARN"),
        ({"role_arn": "arn:aws:iam::999999999999:role/x"}, "role_arn", "account 999999999999"),
        ({"regions": ["eu-west"]}, "regions", "Not AWS region names"),
        ({"regions": []}, "regions", "cannot be blank"),
        ({"function_name_prefix": "", "function_tags": {}}, "__all__", "how to find"),
    ],
)
def test_invalid_aws_target_is_refused(owner, service, overrides, field, message):
    with pytest.raises(DomainError) as err:
        services.aws_target_create(
            actor=Actor.for_user(owner), service=service, **{**TARGET, **overrides}
        )
    assert message in " ".join(err.value.details[field])
    assert not AwsTarget.objects.exists()


def test_same_account_twice_is_refused(owner, service):
    services.aws_target_create(actor=Actor.for_user(owner), service=service, **TARGET)
    with pytest.raises(DomainError, match="already linked"):
        services.aws_target_create(actor=Actor.for_user(owner), service=service, **TARGET)
    assert AwsTarget.objects.count() == 1


def test_update_records_only_changed_fields(owner, service):
    services.service_update(actor=Actor.for_user(owner), service=service, tier=3)
    event = AuditEvent.objects.get(action="service.update")
    assert event.before == {"tier": 1}
    assert event.after == {"tier": 3}


def test_slug_cannot_be_changed(owner, service):
    with pytest.raises(DomainError, match="cannot be changed: slug"):
        services.service_update(actor=Actor.for_user(owner), service=service, slug="new")
