from audit.models import AuditEvent


def test_sign_in_and_failed_sign_in_are_audited(client, owner):
    assert (
        client.post("/accounts/login/", {"username": "owner", "password": "wrong"}).status_code
        == 200
    )
    failed = AuditEvent.objects.get(action="auth.login", outcome="failure")
    assert failed.actor_label == "owner"
    response = client.post("/accounts/login/", {"username": "owner", "password": "pw-for-tests"})
    assert response.status_code == 302
    ok = AuditEvent.objects.get(action="auth.login", outcome="success")
    assert ok.actor_user == owner
    assert ok.request_id


def test_home_page_names_roles_and_team_services(client_for, owner, service, other_service):
    body = client_for(owner).get("/").content.decode()
    assert "Service owner in Payments" in body
    assert "Payments API" in body
    assert "Loan Engine" not in body


def test_admin_site_is_for_staff_only(client_for, owner, admin_user):
    assert client_for(owner).get("/admin/").status_code == 302
    assert client_for(admin_user).get("/admin/").status_code == 200


def test_sign_out_is_audited_with_the_user_and_address(client, owner):
    client.post("/accounts/login/", {"username": "owner", "password": "pw-for-tests"})
    client.post("/accounts/logout/", REMOTE_ADDR="10.1.2.3")
    event = AuditEvent.objects.get(action="auth.logout")
    assert event.actor_user == owner
    assert event.source_ip == "10.1.2.3"
