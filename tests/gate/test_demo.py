"""The demo prints a CI token that works with the gate at once."""

from django.core.management import call_command

from gate.demo import TOKEN_NAME, banner_lines
from gate.models import ApiToken


def test_the_demo_banner_token_asks_the_gate(db, settings, client):
    settings.DEBUG = True
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115

    lines = banner_lines("http://127.0.0.1:8000")
    raw = lines[1].strip()

    assert raw.startswith("prr_")
    assert any("curl -s -X POST http://127.0.0.1:8000/api/v1/gate" in line for line in lines)
    response = client.post(
        "/api/v1/gate",
        data='{"service": "payments-api", "environment": "prod", '
        '"commit_sha": "0123456789abcdef0123456789abcdef01234567"}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 200
    assert response.json()["decision"] == "deny"
    # A new demo run revokes the previous demo token.
    again = banner_lines()
    assert again[1].strip() != raw
    assert ApiToken.objects.filter(name=TOKEN_NAME, revoked_at__isnull=True).count() == 1
