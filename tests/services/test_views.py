import pytest
from django.urls import reverse

from audit.models import AuditEvent
from services.models import Service


@pytest.mark.parametrize(
    ("role", "sees_own", "sees_other"),
    [
        ("owner", True, False),
        ("teammate", True, False),
        ("outsider", False, True),
        ("sre", True, True),
        ("security", True, True),
        ("risk", True, True),
        ("auditor", True, True),
        ("admin", True, True),
    ],
)
def test_service_list_shows_only_visible_services(
    cast, client_for, service, other_service, role, sees_own, sees_other
):
    body = client_for(cast[role]).get(reverse("services:list")).content.decode()
    assert (service.name in body) is sees_own
    assert (other_service.name in body) is sees_other


@pytest.mark.parametrize("role", ["outsider"])
def test_invisible_service_detail_is_404(cast, client_for, service, role):
    response = client_for(cast[role]).get(reverse("services:detail", args=[service.slug]))
    assert response.status_code == 404


def test_teammate_sees_detail_with_targets(client_for, teammate, service):
    response = client_for(teammate).get(reverse("services:detail", args=[service.slug]))
    assert response.status_code == 200
    assert b"Payments API" in response.content
    assert b"No AWS account linked yet." in response.content


@pytest.mark.parametrize("role", ["sre", "auditor"])
def test_readers_cannot_edit_and_the_attempt_is_audited(cast, client_for, service, role):
    response = client_for(cast[role]).post(
        reverse("services:edit", args=[service.slug]), {"name": "Hacked"}
    )
    assert response.status_code == 404
    service.refresh_from_db()
    assert service.name == "Payments API"
    denial = AuditEvent.objects.get(action="service.update")
    assert denial.outcome == "denied"
    assert denial.actor_label == role


def test_anonymous_is_sent_to_login(client, service):
    response = client.get(reverse("services:list"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_register_form_shows_errors_and_saves_nothing(client_for, owner, team):
    response = client_for(owner).post(
        reverse("services:create"),
        {
            "team": team.pk,
            "name": "X",
            "slug": "bad slug",
            "tier": 1,
            "data_classification": "internal",
            "environments": "prod",
            "repository": "acme/x",
        },
    )
    assert response.status_code == 200
    assert b"lowercase letters" in response.content
    assert not Service.objects.filter(name="X").exists()


def test_register_form_creates_service(client_for, owner, team):
    response = client_for(owner).post(
        reverse("services:create"),
        {
            "team": team.pk,
            "name": "Card Auth",
            "slug": "card-auth",
            "tier": 2,
            "data_classification": "pci",
            "environments": "staging, prod",
            "repository": "acme/card-auth",
            "requires_vpc": "on",
        },
    )
    assert response.status_code == 302
    service = Service.objects.get(slug="card-auth")
    assert service.environments == ["staging", "prod"]
    assert service.requires_vpc is True


def test_outsider_cannot_pick_another_team_in_the_form(client_for, outsider, team):
    response = client_for(outsider).post(
        reverse("services:create"),
        {
            "team": team.pk,
            "name": "Sneaky",
            "slug": "sneaky",
            "tier": 2,
            "data_classification": "internal",
            "environments": "prod",
        },
    )
    assert response.status_code == 200
    assert b"Select a valid choice" in response.content
    assert not Service.objects.filter(slug="sneaky").exists()


def test_aws_target_form_reports_bad_arn(client_for, owner, service):
    response = client_for(owner).post(
        reverse("services:aws_target_create", args=[service.slug]),
        {
            "account_id": "123456789012",
            "regions": "eu-west-1",
            "role_arn": "nope",
            "function_name_prefix": "pay",
            "collection_interval_hours": 24,
        },
    )
    assert response.status_code == 200
    assert b"not an IAM role ARN" in response.content
    assert not service.aws_targets.exists()
