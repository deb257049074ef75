"""Requesting, running and downloading exports: who may, what is stored, what is audited."""

from datetime import date

import pytest
from django.core.files.storage import default_storage

from audit.context import Actor
from audit.models import AuditEvent
from exports import services
from exports.choices import ExportStatus
from exports.models import ExportJob
from exports.render.bundle import file_sha256
from portal.errors import DomainError

pytestmark = pytest.mark.django_db


def request_export(user, review, fmt="csv", capture=None):
    if capture is None:
        return services.export_request(
            actor=Actor.for_user(user), scope="review", fmt=fmt, review=review
        )
    with capture(execute=True):
        return services.export_request(
            actor=Actor.for_user(user), scope="review", fmt=fmt, review=review
        )


@pytest.mark.parametrize("role", ["auditor", "admin", "owner", "teammate"])
def test_auditors_admins_and_the_team_may_export_a_review(
    role, cast, approved_review, django_capture_on_commit_callbacks
):
    job = request_export(cast[role], approved_review, capture=django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == ExportStatus.SUCCEEDED
    assert job.requested_by == cast[role]


@pytest.mark.parametrize("role", ["outsider", "sre", "security", "risk"])
def test_others_may_not_export_a_review_and_the_refusal_is_audited(role, cast, approved_review):
    with pytest.raises(DomainError) as exc:
        request_export(cast[role], approved_review)
    assert exc.value.code == "not_allowed"
    assert not ExportJob.objects.exists()
    denied = AuditEvent.objects.get(action="export.request")
    assert denied.outcome == "denied"
    assert denied.actor_label == cast[role].username


def test_job_stores_the_file_with_its_hash_and_audits_request_and_generation(
    auditor, approved_review, django_capture_on_commit_callbacks
):
    job = request_export(auditor, approved_review, "pdf", django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.filename.endswith("-report.pdf")
    assert job.progress_done == job.progress_total > 0
    with default_storage.open(job.result_name, "rb") as fh:
        assert fh.read(5) == b"%PDF-"
    assert file_sha256(default_storage.path(job.result_name)) == (job.sha256, job.size)
    actions = list(
        AuditEvent.objects.filter(object_type="exports.exportjob").values_list("action", "outcome")
    )
    assert actions == [("export.generate", "success"), ("export.request", "success")]


def test_running_a_finished_job_again_changes_nothing(
    auditor, approved_review, django_capture_on_commit_callbacks
):
    job = request_export(auditor, approved_review, "json", django_capture_on_commit_callbacks)
    job.refresh_from_db()
    again = services.export_job_run(job_id=job.pk)
    assert (again.status, again.sha256, again.attempts) == (job.status, job.sha256, 1)
    assert AuditEvent.objects.filter(action="export.generate").count() == 1


def test_a_job_that_cannot_be_produced_fails_with_a_message(
    auditor, approved_review, monkeypatch, django_capture_on_commit_callbacks
):
    def boom(job):
        raise ValueError("disk on fire")

    monkeypatch.setattr(services, "build_report", boom)
    job = request_export(auditor, approved_review, "pdf", django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == ExportStatus.FAILED
    assert "could not be produced" in job.error
    assert AuditEvent.objects.get(action="export.generate").outcome == "failure"


def test_download_is_for_the_requester_and_is_audited(
    auditor, admin_user, approved_review, django_capture_on_commit_callbacks
):
    job = request_export(auditor, approved_review, "zip", django_capture_on_commit_callbacks)
    job.refresh_from_db()
    handle, filename, content_type = services.export_download(
        actor=Actor.for_user(auditor), job=job
    )
    with handle:
        assert handle.read(2) == b"PK"
    assert filename.endswith("-evidence-bundle.zip") and content_type == "application/zip"
    event = AuditEvent.objects.get(action="export.download", outcome="success")
    assert event.details["sha256"] == job.sha256
    with pytest.raises(DomainError):
        services.export_download(actor=Actor.for_user(admin_user), job=job)
    assert AuditEvent.objects.filter(action="export.download", outcome="denied").count() == 1


def test_owner_who_left_the_team_can_no_longer_download(
    owner, approved_review, django_capture_on_commit_callbacks
):
    job = request_export(owner, approved_review, "csv", django_capture_on_commit_callbacks)
    job.refresh_from_db()
    owner.memberships.all().delete()
    owner.__dict__.pop("team_ids", None)
    with pytest.raises(DomainError) as exc:
        services.export_download(actor=Actor.for_user(owner), job=job)
    assert exc.value.code == "not_allowed"


def test_owner_exports_a_framework_over_their_own_services_only(
    owner, framework, service, other_service, approved_review
):
    with pytest.raises(DomainError):
        services.export_request(
            actor=Actor.for_user(owner),
            scope="framework",
            fmt="xlsx",
            framework=framework,
            services=[service, other_service],
        )
    job = services.export_request(
        actor=Actor.for_user(owner), scope="framework", fmt="xlsx", framework=framework
    )
    assert job.parameters["services"] == ["payments-api"]


def test_service_export_checks_the_period(auditor, service):
    with pytest.raises(DomainError, match="starts after it ends"):
        services.export_request(
            actor=Actor.for_user(auditor),
            scope="service",
            fmt="pdf",
            service=service,
            period_start=date(2026, 5, 1),
            period_end=date(2026, 4, 1),
        )


def test_sync_csv_is_audited_and_refused_to_outsiders(auditor, outsider, approved_review):
    chunks, filename, _ = services.export_stream(
        actor=Actor.for_user(auditor), review=approved_review, fmt="csv"
    )
    body = "".join(chunks)
    assert "PRR-SEC-002" in body and filename.endswith("-matrix.csv")
    assert AuditEvent.objects.get(action="export.download").details["sync"] is True
    with pytest.raises(DomainError):
        services.export_stream(actor=Actor.for_user(outsider), review=approved_review, fmt="csv")
