"""A realistic review to export: approved, with sign-offs, evidence files, a waiver, a
framework mapping, hostile user text and audit events."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.context import Actor
from audit.services import audit_record
from controls.models import ControlMapping, Framework, Requirement
from evidence.services import store_blob
from reviews.models import ItemEvidence, Review, ReviewItem, SignOff
from tests.factories import (
    CatalogVersionFactory,
    ControlFactory,
    EvidenceFactory,
    WaiverFactory,
)

HOSTILE = '=HYPERLINK("http://evil.example","click") <b>bold</b> <font color="red">x</font>'


def file_evidence(service, content: bytes, **kwargs):
    sha, name = store_blob(content)
    defaults = {
        "kind": "upload",
        "storage_name": name,
        "sha256": sha,
        "size": len(content),
        "url": "",
        "content_type": "text/plain",
        "original_filename": "evidence.txt",
        "title": "Evidence file",
    }
    return EvidenceFactory(service=service, **(defaults | kwargs))


@pytest.fixture
def catalog(db):
    return CatalogVersionFactory(version="2026.1", is_current=True)


@pytest.fixture
def controls(catalog):
    return [
        ControlFactory(catalog_version=catalog, code="PRR-SEC-001", section="security", position=1),
        ControlFactory(catalog_version=catalog, code="PRR-SEC-002", section="security", position=2),
        ControlFactory(catalog_version=catalog, code="PRR-OBS-001", section="observability",
                       position=3),
        ControlFactory(catalog_version=catalog, code="PRR-DAT-001", section="data_protection",
                       position=4, mandatory_tiers=[]),
    ]  # fmt: skip


@pytest.fixture
def framework(catalog, controls):
    fw = Framework.objects.create(
        catalog_version=catalog, code="pci-dss-4.0", name="PCI DSS", version="v4.0"
    )
    r1 = Requirement.objects.create(
        framework=fw, ref="3.5.1", title="Stored data is unreadable", position=1
    )
    r2 = Requirement.objects.create(
        framework=fw, ref="10.2.1", title="Audit logs are enabled", position=2
    )
    ControlMapping.objects.create(control=controls[0], requirement=r1)
    ControlMapping.objects.create(control=controls[3], requirement=r1)
    ControlMapping.objects.create(control=controls[2], requirement=r2)
    return fw


@pytest.fixture
def approved_review(service, owner, teammate, sre, security, risk, controls, framework):
    now = timezone.now()
    review = Review.objects.create(
        service=service,
        environment="prod",
        catalog_version=controls[0].catalog_version,
        status="approved",
        opened_by=owner,
        submitted_by=owner,
        submitted_at=now - timedelta(days=1),
        approved_at=now,
        expires_at=now + timedelta(days=90),
        approval_hash="a" * 64,
    )
    waiver = WaiverFactory(
        service=service,
        control_code="PRR-OBS-001",
        requested_by=teammate,
        status="approved",
        decided_by=risk,
        decided_at=now,
        compensating_controls="Daily manual log review",
    )
    outcomes = [
        ("pass", "", None),
        ("fail", HOSTILE, None),
        ("waived", "", waiver),
        ("not_applicable", "No personal data stored", None),
    ]
    for control, (outcome, reason, w) in zip(controls, outcomes, strict=True):
        item = ReviewItem.objects.create(
            review=review,
            control=control,
            mandatory=bool(control.mandatory_tiers),
            outcome=outcome,
            reason=reason,
            waiver=w,
        )
        evidence = file_evidence(
            service,
            f"config snapshot for {control.code}\n".encode(),
            title=f"Snapshot {control.code}",
            original_filename=f"{control.code}.txt",
        )
        ItemEvidence.objects.create(item=item, evidence=evidence, attached_by=owner)
    SignOff.objects.create(
        review=review, role="sre", user=sre, submitter=owner, approval_hash="a" * 64
    )
    SignOff.objects.create(
        review=review, role="security", user=security, submitter=owner, approval_hash="a" * 64
    )
    audit_record(
        actor=Actor.for_user(owner), action="review.submit", obj=review, service_slug=service.slug
    )
    audit_record(
        actor=Actor.for_user(sre),
        action="review.signoff",
        obj=review,
        message=HOSTILE,
        service_slug=service.slug,
    )
    audit_record(actor=Actor.for_user(risk), action="waiver.approve", obj=waiver)
    return review
