"""The cast every test can use: a team with an owner and a teammate, an outsider in another
team, reviewers (SRE, security, risk), an auditor and a platform admin."""

import pytest
from django.db import connection

from accounts.choices import MembershipRole, Role
from tests.factories import (
    MembershipFactory,
    RoleGrantFactory,
    ServiceFactory,
    TeamFactory,
    UserFactory,
)

ROLES = ["owner", "teammate", "outsider", "sre", "security", "risk", "auditor", "admin"]


@pytest.fixture
def team(db):
    return TeamFactory(slug="payments", name="Payments")


@pytest.fixture
def other_team(db):
    return TeamFactory(slug="lending", name="Lending")


@pytest.fixture
def owner(team):
    user = UserFactory(username="owner")
    MembershipFactory(user=user, team=team, role=MembershipRole.OWNER)
    return user


@pytest.fixture
def teammate(team):
    user = UserFactory(username="teammate")
    MembershipFactory(user=user, team=team, role=MembershipRole.MEMBER)
    return user


@pytest.fixture
def outsider(other_team):
    user = UserFactory(username="outsider")
    MembershipFactory(user=user, team=other_team, role=MembershipRole.OWNER)
    return user


def _role_user(username, role):
    user = UserFactory(username=username)
    RoleGrantFactory(user=user, role=role)
    return user


@pytest.fixture
def sre(db):
    return _role_user("sre", Role.SRE)


@pytest.fixture
def security(db):
    return _role_user("security", Role.SECURITY)


@pytest.fixture
def risk(db):
    return _role_user("risk", Role.RISK)


@pytest.fixture
def auditor(db):
    return _role_user("auditor", Role.AUDITOR)


@pytest.fixture
def admin_user(db):
    user = _role_user("admin", Role.PLATFORM_ADMIN)
    user.is_staff = True
    user.is_superuser = True
    user.save()
    return user


@pytest.fixture
def cast(owner, teammate, outsider, sre, security, risk, auditor, admin_user):
    """Every role by name, for parametrized permission tests."""
    return {
        "owner": owner,
        "teammate": teammate,
        "outsider": outsider,
        "sre": sre,
        "security": security,
        "risk": risk,
        "auditor": auditor,
        "admin": admin_user,
    }


@pytest.fixture
def service(team):
    return ServiceFactory(team=team, slug="payments-api", name="Payments API", tier=1)


@pytest.fixture
def other_service(other_team):
    return ServiceFactory(team=other_team, slug="loan-engine", name="Loan Engine", tier=2)


@pytest.fixture
def media(settings, tmp_path):
    """Stored evidence files go to a throwaway folder (returned); use it in modules that
    upload with ``pytestmark = pytest.mark.usefixtures("media")``."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path},
        },
    }
    return tmp_path


@pytest.fixture
def client_for(client):
    """``client_for(user)`` returns a test client signed in as that user."""

    def _login(user):
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def postgres_only(db):
    """Skip unless the suite runs on PostgreSQL (triggers, row locks, real concurrency)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL (make test starts one when it can)")
