"""The Exports pages and the exports API, as an auditor and an owner use them."""

import zipfile
from io import BytesIO

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from exports import verify
from exports.models import ExportJob
from portal import signing

pytestmark = pytest.mark.django_db


def test_exports_page_lists_my_jobs_with_progress_and_download(
    client_for, auditor, approved_review, django_capture_on_commit_callbacks
):
    client = client_for(auditor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("exports:review_export", args=[approved_review.pk]), {"format": "zip"}
        )
    job = ExportJob.objects.get()
    assert response.status_code == 302
    page = client.get(reverse("exports:list")).content.decode()
    assert f'id="job-{job.pk}"' in page
    assert "Succeeded" in page and "<progress" in page
    assert reverse("exports:download", args=[job.pk]) in page
    assert "exports/exports.js" in page


def test_status_endpoint_reports_progress(client_for, auditor, approved_review):
    client = client_for(auditor)
    client.post(reverse("exports:review_export", args=[approved_review.pk]), {"format": "pdf"})
    job = ExportJob.objects.get()  # not run: on_commit callbacks are not executed here
    body = client.get(reverse("exports:jobs_status"), {"id": job.pk}).json()
    assert body["jobs"][0]["status"] == "queued"
    assert body["jobs"][0]["download_url"] is None


def test_downloaded_bundle_verifies(
    client_for, auditor, approved_review, django_capture_on_commit_callbacks, tmp_path
):
    client = client_for(auditor)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("exports:review_export", args=[approved_review.pk]), {"format": "zip"})
    job = ExportJob.objects.get()
    response = client.get(reverse("exports:download", args=[job.pk]))
    path = tmp_path / "bundle.zip"
    path.write_bytes(b"".join(response.streaming_content))
    assert response["X-Content-SHA256"] == job.sha256
    key = client.get(reverse("exports:public_key")).content
    assert verify.verify_bundle(str(path), public_key_pem=key).ok
    assert AuditEvent.objects.filter(action="export.download", object_id=str(job.pk)).exists()


def test_someone_elses_download_is_not_found(
    client_for, auditor, admin_user, approved_review, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client_for(auditor).post(
            reverse("exports:review_export", args=[approved_review.pk]), {"format": "csv"}
        )
    job = ExportJob.objects.get()
    response = client_for(admin_user).get(reverse("exports:download", args=[job.pk]))
    assert response.status_code == 404


def test_review_csv_downloads_at_once(client_for, owner, approved_review):
    response = client_for(owner).get(
        reverse("exports:review_download", args=[approved_review.pk, "csv"])
    )
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert response["Content-Type"].startswith("text/csv")
    assert "PRR-DAT-001" in body and "'=HYPERLINK" in body


def test_outsider_cannot_see_the_review_export_page(client_for, outsider, approved_review):
    client = client_for(outsider)
    assert (
        client.get(reverse("exports:review_export", args=[approved_review.pk])).status_code == 404
    )
    response = client.get(reverse("exports:review_download", args=[approved_review.pk, "json"]))
    assert response.status_code == 404
    assert AuditEvent.objects.filter(action="export.download", outcome="denied").exists()


def test_service_and_framework_forms_queue_jobs(client_for, auditor, service, framework):
    client = client_for(auditor)
    assert (
        "Period from"
        in client.get(reverse("exports:service_export", args=[service.slug])).content.decode()
    )
    client.post(
        reverse("exports:service_export_any"),
        {"service": service.slug, "period_start": "2026-01-01", "period_end": "2026-12-31",
         "format": "xlsx"},
    )  # fmt: skip
    client.post(
        reverse("exports:framework_export"),
        {"framework": framework.pk, "services": [service.slug], "environment": "prod",
         "period_start": "2026-01-01", "period_end": "2026-12-31", "format": "pdf"},
    )  # fmt: skip
    assert sorted(ExportJob.objects.values_list("scope", "format")) == [
        ("framework", "pdf"),
        ("service", "xlsx"),
    ]


def test_review_picker_leads_to_the_review_form(client_for, auditor, approved_review):
    response = client_for(auditor).get(reverse("exports:list"), {"review": approved_review.pk})
    assert response.url == reverse("exports:review_export", args=[approved_review.pk])


# --- API ------------------------------------------------------------------------------


def test_api_request_poll_and_download_a_bundle(
    client_for, auditor, approved_review, django_capture_on_commit_callbacks
):
    client = client_for(auditor)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/api/v1/exports/jobs/",
            {"scope": "review", "format": "zip", "review": approved_review.pk},
            content_type="application/json",
        )
    assert created.status_code == 202
    job = client.get(f"/api/v1/exports/jobs/{created.json()['id']}/").json()
    assert job["status"] == "succeeded"
    assert job["download_url"].endswith(f"/api/v1/exports/jobs/{job['id']}/download/")
    blob = b"".join(client.get(job["download_url"]).streaming_content)
    names = zipfile.ZipFile(BytesIO(blob)).namelist()
    assert "manifest.json" in names and "reports/report.pdf" in names
    key = client.get("/api/v1/exports/public-key/").json()
    assert key["key_id"] == signing.key_id()


def test_api_refuses_an_outsider_with_the_error_shape(client_for, outsider, approved_review):
    response = client_for(outsider).post(
        "/api/v1/exports/jobs/",
        {"scope": "review", "format": "pdf", "review": approved_review.pk},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_allowed"


def test_api_hides_other_users_jobs(client_for, auditor, owner, approved_review):
    client_for(auditor).post(
        "/api/v1/exports/jobs/",
        {"scope": "review", "format": "pdf", "review": approved_review.pk},
        content_type="application/json",
    )
    job = ExportJob.objects.get()
    client = client_for(owner)
    assert client.get(f"/api/v1/exports/jobs/{job.pk}/").status_code == 404
    assert client.get("/api/v1/exports/jobs/").json()["results"] == []


def test_api_streams_review_json(client_for, auditor, approved_review):
    response = client_for(auditor).get(f"/api/v1/exports/reviews/{approved_review.pk}/json/")
    import json

    doc = json.loads(b"".join(response.streaming_content))
    assert doc["scope"] == "review" and len(doc["tables"]["matrix"]["rows"]) == 4
