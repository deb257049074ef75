import pytest
from django.core.management import CommandError, call_command

from accounts.choices import Role
from accounts.models import User
from services.models import Service


def test_seed_demo_refuses_without_debug(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG must be on"):
        call_command("seed_demo")
    assert not User.objects.exists()


def test_seed_demo_creates_the_cast_and_is_rerunnable(db, settings):
    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")
    users = {u.username: u for u in User.objects.all()}
    assert set(users) == {
        "owner",
        "teammate",
        "outsider",
        "sre",
        "security",
        "risk",
        "auditor",
        "admin",
    }
    assert all(u.check_password("prr-demo") for u in users.values())
    assert users["sre"].roles == {Role.SRE}
    assert users["admin"].is_platform_admin and users["admin"].is_staff
    payments = set(Service.objects.filter(team__slug="payments").values_list("slug", flat=True))
    assert payments == {"payments-api", "payments-ledger"}
    assert users["outsider"].team_ids == {Service.objects.get(slug="loan-engine").team_id}
    assert Service.objects.count() == 3


@pytest.mark.parametrize(
    ("username", "visible"),
    [
        ("owner", {"Payments API", "Payments Ledger"}),
        ("outsider", {"Loan Engine"}),
        ("auditor", {"Payments API", "Payments Ledger", "Loan Engine"}),
    ],
)
def test_demo_users_see_their_services_after_signing_in(db, settings, client, username, visible):
    settings.DEBUG = True
    call_command("seed_demo")
    assert client.login(username=username, password="prr-demo")
    body = client.get("/services/").content.decode()
    for name in {"Payments API", "Payments Ledger", "Loan Engine"}:
        assert (name in body) is (name in visible), name
