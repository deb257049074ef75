"""Maker-checker from every door: nobody approves a review of their own team or one they
submitted, whether through the HTML page, the REST API, the admin, or a second account
claiming the same SSO subject.

The service-level rules and concurrent approve/reject are tested in tests/reviews
(test_workflow.py: owner/teammate/submitter with reviewer roles; test_concurrency.py:
concurrent approve and request-changes on PostgreSQL); this file goes through the doors.
"""

from __future__ import annotations

import json

import pytest
from django.db import IntegrityError, transaction

from accounts.choices import Role
from audit.choices import Outcome
from audit.models import AuditEvent
from reviews.choices import ReviewStatus
from reviews.models import SignOff
from tests.factories import RoleGrantFactory, UserFactory
from tests.reviews import conftest as reviews_fixtures

# The reviews suite's fixtures: a small catalog and a review its owner submitted.
catalog = reviews_fixtures.catalog
draft = reviews_fixtures.draft
submitted = reviews_fixtures.submitted

pytestmark = pytest.mark.django_db


@pytest.fixture
def maker(owner):
    """The service owner who submitted the review, who also holds the SRE reviewer role."""
    RoleGrantFactory(user=owner, role=Role.SRE)
    return owner


def _unchanged(review):
    review.refresh_from_db()
    assert review.status == ReviewStatus.SUBMITTED
    assert not SignOff.objects.filter(review=review).exists()


def test_self_approval_through_the_html_page_is_refused(client, submitted, maker):
    client.force_login(maker)
    response = client.post(
        f"/reviews/{submitted.pk}/signoff/",
        {"role": "sre", "comment": "LGTM", "version": submitted.version},
        follow=True,
    )

    assert response.status_code == 200
    _unchanged(submitted)
    denied = AuditEvent.objects.filter(action="review.signoff", outcome=Outcome.DENIED)
    assert denied.filter(actor_user=maker).exists()


def test_self_approval_through_the_api_is_refused(client, submitted, maker):
    client.force_login(maker)
    response = client.post(
        f"/api/v1/reviews/{submitted.pk}/sign-off/",
        data=json.dumps({"role": "sre", "expected_version": submitted.version}),
        content_type="application/json",
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_allowed"
    _unchanged(submitted)


def test_self_approval_through_the_admin_is_refused(client, submitted, maker, admin_user):
    """The admin is read-only for reviews and sign-offs, even for a platform admin."""
    RoleGrantFactory(user=admin_user, role=Role.SRE)
    client.force_login(admin_user)
    add = client.post(
        "/admin/reviews/signoff/add/",
        {"review": submitted.pk, "role": "sre", "user": maker.pk, "comment": "x"},
    )
    change = client.post(
        f"/admin/reviews/review/{submitted.pk}/change/", {"status": ReviewStatus.APPROVED}
    )

    assert add.status_code == 403
    assert change.status_code == 403
    _unchanged(submitted)


def test_a_second_account_cannot_claim_the_same_sso_subject(submitted, maker):
    from accounts.models import User
    from accounts.oidc import PortalOIDCBackend

    backend = PortalOIDCBackend.__new__(PortalOIDCBackend)  # no IdP endpoints needed here
    backend.UserModel = User
    maker.oidc_subject = "idp|maker-42"
    maker.save()

    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(username="maker-alt", oidc_subject="idp|maker-42")
    # Signing in again with that subject yields the same account, which may not approve.
    found = list(backend.filter_users_by_claims({"sub": "idp|maker-42"}))
    assert found == [maker]


def test_a_second_account_of_the_same_person_in_the_same_team_is_still_refused(
    client, submitted, team
):
    """A reviewer account that is a member of the owning team (a person's second login under
    another subject, mapped to the same team group) cannot approve either."""
    from accounts.choices import MembershipRole
    from tests.factories import MembershipFactory

    alt = UserFactory(username="maker-alt", oidc_subject="idp|maker-alt")
    RoleGrantFactory(user=alt, role=Role.SRE)
    MembershipFactory(user=alt, team=team, role=MembershipRole.MEMBER)
    client.force_login(alt)

    response = client.post(
        f"/api/v1/reviews/{submitted.pk}/sign-off/",
        data=json.dumps({"role": "sre", "expected_version": submitted.version}),
        content_type="application/json",
    )

    assert response.status_code == 403
    _unchanged(submitted)
