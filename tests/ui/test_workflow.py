"""The readiness workflow as people do it in the browser: the owner opens a review, attaches
evidence and submits; a teammate cannot approve; SRE and security sign off; the gate then
allows; the auditor exports the evidence bundle."""

from __future__ import annotations

import zipfile
from datetime import timedelta
from io import BytesIO

import pytest
from django.utils import timezone

from audit.context import Actor
from gate.services import api_token_create
from reviews.models import Review
from tests.ui.conftest import check_a11y, shot, sign_in
from tests.ui.data import answer_all_but, world

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _first_mandatory_item(review):
    return (
        review.items.filter(mandatory=True, control__check_id="")
        .select_related("control")
        .order_by("control__position")
        .first()
    )


def test_review_from_opening_to_gate_allow_and_auditor_export(catalog, open_page):
    w = world()
    service = w["service"]

    # --- the owner: home page says what to do, opens a review --------------------------
    owner = open_page()
    sign_in(owner, "olivia")
    todo = owner.get_by_role("region", name="What to do next")
    assert "Payments API · prod: no review yet." in todo.inner_text()
    check_a11y(owner, "owner home (no review)")
    owner.get_by_role("link", name="Payments API", exact=True).first.click()
    owner.get_by_role("link", name="Open a review").first.click()
    owner.get_by_label("Environment").select_option("prod")
    owner.get_by_role("button", name="Open review").click()
    owner.wait_for_url("**/reviews/*/")
    review = Review.objects.get(service=service, environment="prod")
    assert review.status == "draft"

    # --- inline (HTMX) evidence and outcome on one item, without leaving the page ------------
    item = _first_mandatory_item(review)
    code = item.control.code
    row = owner.locator(f"#item-{item.pk}")
    row.get_by_role("link", name=f"Edit {code}").click()
    editor = owner.locator(f"#item-{item.pk} tr.editor")
    editor.get_by_label("Link").fill("https://wiki.bank.example/prr/iam-least-privilege")
    editor.get_by_label("Title", exact=True).first.fill("IAM policy review")
    editor.get_by_role("button", name="Attach link").click()
    owner.locator(f"#item-{item.pk} .message.success").wait_for()
    assert "IAM policy review" in row.inner_text()
    before = int(owner.locator("#progress-all").get_attribute("value"))
    editor.get_by_label(f"Outcome of {code}").select_option("pass")
    editor.get_by_role("button", name="Save outcome").click()
    owner.locator(f"#item-{item.pk} .message.success", has_text="Outcome saved").wait_for()
    assert "ready" in row.locator("tr").first.inner_text()
    assert int(owner.locator("#progress-all").get_attribute("value")) == before + 1
    row.get_by_role("button", name="Preview IAM policy review").click()
    owner.locator(f"#preview-{item.pk} .preview-box").wait_for()
    assert "wiki.bank.example" in owner.locator(f"#preview-{item.pk}").inner_text()
    check_a11y(owner, "review page with the inline editor open")
    shot(owner, "review-draft-inline-editing")

    # The rest of the ~100 mandatory items are answered the same way (through the workflow).
    answer_all_but(review, w["owner"], skip_codes={code})
    owner.reload()
    owner.get_by_role("button", name="Submit for review").click()
    owner.locator(".messages").get_by_text("Submitted for review.").wait_for()
    review.refresh_from_db()
    assert review.status == "submitted"

    # --- a teammate holding the SRE role still cannot approve (maker-checker) ------------
    mate = open_page()
    sign_in(mate, "tom")
    mate.goto(review.get_absolute_url())
    assert mate.get_by_role("button", name="Sign off").count() == 0
    mate.evaluate(
        """([url]) => {
            const form = document.createElement('form');
            form.method = 'post'; form.action = url;
            const token = document.querySelector('input[name=csrfmiddlewaretoken]').cloneNode();
            const role = document.createElement('input');
            role.name = 'role'; role.value = 'sre';
            form.append(token, role); document.body.append(form); form.submit();
        }""",
        [f"/reviews/{review.pk}/signoff/"],
    )
    mate.locator(".messages").get_by_text("You are a member of Payments").wait_for()
    assert "denied" in mate.get_by_role("region", name="Audit trail").inner_text().lower()
    review.refresh_from_db()
    assert review.status == "submitted" and not review.signoffs.exists()

    # --- SRE and security sign off from their queues ------------------------------------
    for username, role in (("sam", "sre"), ("sofia", "security")):
        reviewer = open_page()
        sign_in(reviewer, username)
        queue = reviewer.get_by_role("region", name="Your review queue (1)")
        check_a11y(reviewer, f"{role} home with queue")
        if role == "sre":
            shot(reviewer, "home-reviewer")
        queue.get_by_role("link", name=f"Review #{review.pk}").click()
        reviewer.get_by_label("Sign off as").select_option(role)
        reviewer.get_by_role("button", name="Sign off").click()
        reviewer.locator(".messages").get_by_text("Signed off.").wait_for()
    review.refresh_from_db()
    assert review.status == "approved"
    check_a11y(reviewer, "approved review")
    shot(reviewer, "review-approved")

    # --- the gate allows the deployment (API token, POST /api/v1/gate) --------------------
    _, token = api_token_create(
        actor=Actor.for_user(w["owner"]),
        name="CI",
        scopes=["gate:check"],
        expires_at=timezone.now() + timedelta(days=1),
    )
    answer = owner.request.post(
        "/api/v1/gate",
        headers={"Authorization": f"Bearer {token}"},
        data={"service": "payments-api", "environment": "prod", "commit_sha": "c" * 40},
    )
    assert answer.status == 200, answer.text()
    assert answer.json()["decision"] == "allow", answer.json()["reasons"]

    owner.goto(service.get_absolute_url())
    decisions = owner.get_by_role("region", name="Gate decisions")
    assert "Allow" in decisions.inner_text()
    check_a11y(owner, "service page")
    shot(owner, "service-page")

    # --- the auditor exports the evidence bundle --------------------------------------------
    auditor = open_page()
    sign_in(auditor, "ada")
    assert "Portfolio compliance by framework" in auditor.content()
    check_a11y(auditor, "auditor home")
    shot(auditor, "home-auditor")
    auditor.goto(review.get_absolute_url())
    auditor.get_by_role("link", name="Export", exact=True).click()
    auditor.get_by_label("Format").select_option("zip")
    auditor.get_by_role("button", name="Start export").click()
    link = auditor.locator("#export-jobs .job-result a", has_text="Download").first
    link.wait_for()
    with auditor.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".zip")
    with open(download.path(), "rb") as handle:
        names = zipfile.ZipFile(BytesIO(handle.read())).namelist()
    assert any(name.endswith("manifest.json") for name in names), names
