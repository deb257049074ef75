"""The canary secret (an environment variable value of a seeded function) reaches nothing a
person or a machine can read after a real collection run: no table of the database, no stored
file, no log record, no export an auditor downloads (every format, zipped ones unzipped, PDFs
read as text too), no page and no API response about the run, its snapshots or its results.

Every search also looks for something that must be there (the variable's name, the results'
messages), so a search that reads nothing cannot pass."""

import functools
import io
import json
import logging
import zipfile

import pytest
from django.apps import apps
from django.db import connection
from pypdf import PdfReader

from audit.context import Actor
from collection.choices import CheckStatus, RunStatus
from collection.emulator import CANARY_SECRET
from collection.models import CheckResult
from collection.services import collection_run_start
from evidence.models import Evidence
from evidence.services import evidence_from_check_result
from exports.choices import ExportFormat, ExportScope, ExportStatus
from exports.services import export_request
from gate.services import gate_check
from reviews import workflow
from tests.factories import CatalogVersionFactory, ControlFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

# The whole value, and its random part alone (a truncated or prefixed copy is a leak too).
NEEDLES = (CANARY_SECRET, CANARY_SECRET.rsplit("-", 1)[-1])
LEAKY = "lambda.env_no_secrets"  # the check that reads the canary's variable


def leaks(text: str) -> list[str]:
    return [needle for needle in NEEDLES if needle in text]


def as_text(value) -> str:
    """Any column value as text: bytes (bytea, BinaryField) as latin-1, so no byte is lost."""
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, dict | list):
        return json.dumps(value, default=as_text, ensure_ascii=False)
    return str(value)


def readable_parts(name: str, blob: bytes):
    """(name, text) of a downloaded file and of everything inside it: zip members (XLSX is
    zipped XML; the evidence bundle zips the reports, an XLSX among them) recursively, and a
    PDF's extracted text besides its bytes (its streams are compressed)."""
    yield name, blob.decode("latin-1")
    if blob[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            for member in zf.namelist():
                yield from readable_parts(f"{name}!{member}", zf.read(member))
    elif blob[:5] == b"%PDF-":
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(blob)).pages)
        yield f"{name} (text)", text


@pytest.fixture
def collected(
    emulator,
    owner,
    payments_target,
    django_capture_on_commit_callbacks,
    caplog,
    settings,
):
    """A full run against the emulator with every log record captured, its failing result on
    the canary's function turned into evidence attached to a review, and a gate decision."""
    settings.COLLECTION_LEAN_READS = False  # the botocore path logs more; both are searched
    caplog.set_level(logging.DEBUG)
    quiet = [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate
    ]
    for logger in quiet:  # records that never reach the root logger are searched too
        logger.addHandler(caplog.handler)
    service = payments_target.service
    catalog = CatalogVersionFactory(is_current=True)
    ControlFactory(catalog_version=catalog, code="PRR-SEC-010", check_id=LEAKY)
    ControlFactory(catalog_version=catalog, code="PRR-OBS-010", check_id="lambda.tracing_active")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run = collection_run_start(actor=Actor.for_user(owner), aws_target=payments_target)
        run.refresh_from_db()
        legacy = run.snapshots.get(resource_id="payments-legacy")
        result = CheckResult.objects.get(run=run, snapshot=legacy, check_id=LEAKY)
        actor = Actor.for_user(owner)
        review = workflow.review_open(
            actor=actor, service=service, environment=service.environments[0]
        )
        item = review.items.get(control__check_id=LEAKY)
        workflow.item_attach_new_evidence(
            actor=actor,
            item=item,
            make_evidence=functools.partial(evidence_from_check_result, check_result=result),
        )
        gate_check(
            actor=Actor.system("ci"),
            service=service,
            environment=service.environments[0],
            commit_sha="c" * 40,
        )
        yield {"run": run, "legacy": legacy, "result": result, "review": review}
    finally:
        for logger in quiet:
            logger.removeHandler(caplog.handler)


def test_the_run_collected_the_canarys_function_and_named_its_variable(collected):
    run, legacy, result = collected["run"], collected["legacy"], collected["result"]

    assert run.status == RunStatus.SUCCEEDED, run.error_summary
    assert "DB_PASSWORD" in legacy.facts["function"]["env_var_names"]
    assert result.status == CheckStatus.FAIL and "DB_PASSWORD" in result.message
    assert Evidence.objects.filter(check_id=LEAKY, service=run.service).count() == 1


def test_no_table_of_the_database_holds_the_canary(collected):
    found, seen_name = [], set()
    # Every model of every app, through the ORM (JSON decoded, every concrete column).
    for model in apps.get_models(include_auto_created=True):
        columns = [f.attname for f in model._meta.concrete_fields]
        for row in model._base_manager.values_list(*columns).iterator():
            text = as_text(list(row))
            found += [(model._meta.label, n) for n in leaks(text)]
            if "DB_PASSWORD" in text:
                seen_name.add(model._meta.label)
    # And every table as stored, models or not (sessions, migrations, anything added later).
    tables = connection.introspection.table_names()
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                found += [(table, n) for n in leaks(as_text(list(row)))]
    assert found == []
    # The searches read the collected facts, results, evidence and audit trail.
    assert {"collection.ResourceSnapshot", "collection.CheckResult", "evidence.Evidence"} <= (
        seen_name
    )
    assert {"collection_resourcesnapshot", "collection_regionrun", "audit_auditevent"} <= set(
        tables
    )


def test_no_stored_file_holds_the_canary(collected, media):
    files = [p for p in media.rglob("*") if p.is_file()]
    found = [(str(p), n) for p in files for n in leaks(p.read_bytes().decode("latin-1"))]

    assert found == []
    assert any(b"DB_PASSWORD" in p.read_bytes() for p in files)  # the result's evidence blob


def test_no_log_record_holds_the_canary(collected, caplog):
    records = caplog.get_records("setup") + caplog.get_records("call")  # the run is in setup
    text = "\n".join(
        f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''} {r.__dict__!r}" for r in records
    )

    assert leaks(text) == []
    assert any(r.name == "celery.app.trace" for r in records)  # the run's tasks were logged


@pytest.mark.parametrize(
    "fmt",
    [
        ExportFormat.PDF,
        ExportFormat.XLSX,
        ExportFormat.CSV,
        ExportFormat.JSON,
        ExportFormat.ZIP,
    ],
)
def test_no_export_an_auditor_downloads_holds_the_canary(
    collected, fmt, auditor, client_for, django_capture_on_commit_callbacks
):
    service = collected["run"].service
    with django_capture_on_commit_callbacks(execute=True):
        job = export_request(
            actor=Actor.for_user(auditor), scope=ExportScope.SERVICE, fmt=fmt, service=service
        )
    job.refresh_from_db()
    assert job.status == ExportStatus.SUCCEEDED, job.error

    response = client_for(auditor).get(f"/exports/jobs/{job.pk}/download/")
    blob = b"".join(response.streaming_content)
    parts = list(readable_parts(job.filename, blob))

    assert [(name, leaks(text)) for name, text in parts if leaks(text)] == []
    # The export carries the collected result: the evidence made of it is in every format.
    assert any(LEAKY in text for _, text in parts), [name for name, _ in parts]
    if fmt == ExportFormat.ZIP:  # the bundle holds the evidence document itself
        assert any("DB_PASSWORD" in text for _, text in parts)
    if fmt in (ExportFormat.XLSX, ExportFormat.ZIP):  # read as the unzipped sheets' XML
        assert any("xlsx!xl/worksheets/" in n and LEAKY in text for n, text in parts)


def test_no_page_or_api_response_about_the_run_holds_the_canary(
    collected, owner, auditor, client_for
):
    run, review = collected["run"], collected["review"]
    client = client_for(owner)
    urls = [
        f"/collection/runs/{run.pk}/progress",
        f"/api/v1/collection/runs/?service={run.service.slug}",
        f"/api/v1/collection/runs/{run.pk}/",
        f"/api/v1/evidence/?service={run.service.slug}",
        f"/api/v1/reviews/{review.pk}/",
        f"/services/{run.service.slug}/",
        review.get_absolute_url(),
    ]
    # Every page of results (100 a page), per status too.
    pages = -(-run.results_count // 100)
    urls += [f"/collection/runs/{run.pk}/?page={n}" for n in range(1, pages + 1)]
    urls += [f"/collection/runs/{run.pk}/?status={s}" for s in CheckStatus.values]
    urls += [snapshot.get_absolute_url() for snapshot in run.snapshots.all()]
    for evidence in Evidence.objects.filter(service=run.service):
        urls += [f"/api/v1/evidence/{evidence.pk}/", f"/api/v1/evidence/{evidence.pk}/download/"]
    bodies = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        content = b"".join(response.streaming_content) if response.streaming else response.content
        bodies[url] = content.decode("latin-1")
    audit = f"/api/v1/audit/events/?service={run.service.slug}&page_size=200"
    bodies[audit] = client_for(auditor).get(audit).content.decode("latin-1")

    assert {url: leaks(body) for url, body in bodies.items() if leaks(body)} == {}
    legacy = collected["legacy"].get_absolute_url()
    assert "DB_PASSWORD" in bodies[legacy]  # the variable's name is kept, its value is not
    assert "iam:GetAccountAuthorizationDetails" in bodies[f"/api/v1/collection/runs/{run.pk}/"]
    assert "collection.run_finish" in bodies[audit]
    evidence = Evidence.objects.get(check_id=LEAKY)
    assert "DB_PASSWORD" in bodies[f"/api/v1/evidence/{evidence.pk}/download/"]
