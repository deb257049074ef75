"""The API tokens page: create (shown once), list, revoke."""

from gate.models import ApiToken


def test_a_user_creates_sees_once_and_revokes_a_token(client_for, owner, service):
    client = client_for(owner)

    page = client.post(
        "/gate/tokens/",
        {"name": "laptop", "scopes": ["read"], "expires_in_days": 7, "services": [service.pk]},
    )

    token = ApiToken.objects.get()
    html = page.content.decode()
    assert f"prr_{token.prefix}_" in html and "will not be shown again" in html
    listing = client.get("/gate/tokens/").content.decode()
    assert f"prr_{token.prefix}_…" in listing and "will not be shown again" not in listing

    client.post(f"/gate/tokens/{token.pk}/revoke/")
    assert ApiToken.objects.get().status == "revoked"


def test_others_cannot_revoke_my_token(client_for, owner, teammate, service):
    client_for(owner).post(
        "/gate/tokens/", {"name": "laptop", "scopes": ["read"], "expires_in_days": 7}
    )
    token = ApiToken.objects.get()

    response = client_for(teammate).post(f"/gate/tokens/{token.pk}/revoke/")

    assert response.status_code == 404
    assert ApiToken.objects.get().status == "active"


def test_the_page_needs_a_login(client):
    assert client.get("/gate/tokens/").status_code == 302
