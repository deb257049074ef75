"""SSO users are keyed by subject; groups map to roles and existing teams only."""

import pytest

from accounts.choices import Role
from accounts.models import User
from accounts.oidc import PortalOIDCBackend


@pytest.fixture
def backend(settings):
    settings.OIDC_GROUP_ROLE_MAP = {"prr-sre": Role.SRE, "prr-audit": Role.AUDITOR}
    settings.OIDC_TEAM_GROUP_PREFIX = "prr-team-"
    settings.OIDC_GROUPS_CLAIM = "groups"
    backend = PortalOIDCBackend.__new__(PortalOIDCBackend)
    backend.UserModel = User
    return backend


def test_new_sso_user_gets_mapped_roles_and_existing_teams(backend, team):
    user = backend.create_user(
        {
            "sub": "00u-abc",
            "preferred_username": "alice",
            "email": "alice@bank.example",
            "groups": ["prr-sre", "prr-team-payments", "prr-team-unknown", "other"],
        }
    )
    assert user.oidc_subject == "00u-abc"
    assert not user.has_usable_password()
    assert user.roles == {Role.SRE}
    assert set(user.memberships.values_list("team__slug", flat=True)) == {"payments"}


def test_groups_removed_at_the_idp_are_removed_at_next_sign_in(backend, team):
    user = backend.create_user(
        {"sub": "s1", "preferred_username": "bob", "groups": ["prr-sre", "prr-team-payments"]}
    )
    backend.update_user(user, {"sub": "s1", "groups": ["prr-audit"]})
    user = User.objects.get(pk=user.pk)
    assert user.roles == {Role.AUDITOR}
    assert not user.memberships.exists()


def test_users_are_matched_by_subject_not_by_email(backend, db):
    backend.create_user({"sub": "s1", "preferred_username": "carol", "email": "c@x"})
    assert backend.filter_users_by_claims({"sub": "s1", "email": "other@x"}).count() == 1
    assert backend.filter_users_by_claims({"sub": "s2", "email": "c@x"}).count() == 0
    assert backend.filter_users_by_claims({"email": "c@x"}).count() == 0


def test_username_clash_with_local_account_gets_a_distinct_name(backend, owner):
    user = backend.create_user({"sub": "abcdef123456", "preferred_username": "owner"})
    assert user.username == "owner-abcdef12"
    assert user.pk != owner.pk
