"""The JSON export: the whole report as data, with evidence metadata."""

from __future__ import annotations

import json

from evidence.models import Evidence
from exports.render.cells import json_value

FORMAT = "prr-portal-export/1"


def evidence_metadata(e: Evidence) -> dict:
    return {
        "id": e.pk,
        "service": e.service.slug,
        "kind": e.kind,
        "title": e.title,
        "sha256": e.sha256,
        "size": e.size,
        "content_type": e.content_type,
        "original_filename": e.original_filename,
        "url": e.url,
        "source_type": e.source_type,
        "source_label": e.source_label,
        "collected_at": json_value(e.collected_at),
        "expires_at": json_value(e.expires_at),
        "control_code": e.control_code,
        "check_id": e.check_id,
        "commit_sha": e.commit_sha,
    }


def iter_evidence(ids, batch: int = 500):
    """Evidence rows by id, in batches (bounded memory, no oversized IN lists)."""
    ids = list(ids)
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        yield from Evidence.objects.filter(pk__in=chunk).select_related("service").order_by("pk")


def report_document(report, *, with_evidence: bool = True) -> dict:
    return {
        "format": FORMAT,
        "scope": report.scope,
        "title": report.title,
        "subtitle": report.subtitle,
        "generated_at": json_value(report.generated_at),
        "generated_by": report.generated_by,
        "facts": dict(report.facts),
        "decision": report.decision,
        "summary": {
            "by": report.summary_by,
            "groups": [{"name": name, "counts": counts} for name, counts in report.summary],
        },
        "tables": {
            t.key: {
                "title": t.title,
                "rows": [{k: json_value(v) for k, v in record.items()} for record in t.records()],
            }
            for t in report.tables
        },
        "evidence": [evidence_metadata(e) for e in iter_evidence(report.evidence_ids)]
        if with_evidence
        else [],
    }


def iter_json(report):
    """The document in chunks: the evidence list (which grows with the scope) is written
    one entry at a time rather than built as one string."""
    head = json.dumps(report_document(report, with_evidence=False), indent=2, ensure_ascii=False)
    before, _, after = head.rpartition('"evidence": []')
    yield before + '"evidence": ['
    for n, e in enumerate(iter_evidence(report.evidence_ids)):
        entry = json.dumps(evidence_metadata(e), indent=2, ensure_ascii=False)
        yield ("," if n else "") + "\n    " + entry.replace("\n", "\n    ")
    yield "\n  ]" + after + "\n"


def write_json(report, out) -> None:
    for chunk in iter_json(report):
        out.write(chunk.encode("utf-8"))
