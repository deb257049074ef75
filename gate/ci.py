"""Parsers for what CI pipelines upload: each validates its format and judges whether the
upload proves its control (pass) or not (fail), with a short summary for the gate's reasons.

A malformed file raises ``DomainError`` (400) naming the problem; nothing is stored then.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from gate.choices import CiFormat
from portal.errors import DomainError

PASS, FAIL = "pass", "fail"
MAX_LISTED = 20


@dataclass
class ParsedCi:
    format: str
    outcome: str
    summary: str
    counts: dict = field(default_factory=dict)
    tool: str = ""
    findings: list[dict] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def metadata(self) -> dict:
        return {
            "format": self.format,
            "outcome": self.outcome,
            "summary": self.summary,
            "counts": self.counts,
            "tool": self.tool,
            "findings": self.findings[:MAX_LISTED],
            **self.extra,
        }


def _invalid(fmt: str, problem: str) -> DomainError:
    return DomainError(
        f"The {CiFormat(fmt).label} upload is invalid: {problem}",
        details={"file": [problem]},
    )


def _json(fmt: str, content: bytes):
    try:
        return json.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise _invalid(fmt, "it is not UTF-8 text.") from None
    except ValueError as exc:
        raise _invalid(fmt, f"it is not JSON ({exc}).") from None


def _object(fmt: str, content: bytes) -> dict:
    document = _json(fmt, content)
    if not isinstance(document, dict):
        raise _invalid(fmt, "the top level must be a JSON object.")
    return document


# --- SARIF 2.1.0 ------------------------------------------------------------------------


def _sarif_severity(result: dict, rules: dict) -> str:
    """critical/high/medium/low from GitHub's ``security-severity`` (CVSS-like score) when the
    rule or result carries one, else from the SARIF level."""
    props = {**(rules.get(result.get("ruleId")) or {}), **(result.get("properties") or {})}
    score = props.get("security-severity")
    try:
        value = float(score) if score is not None else None
    except (TypeError, ValueError):
        value = None
    if value is not None:
        if value >= 9.0:
            return "critical"
        if value >= 7.0:
            return "high"
        return "medium" if value >= 4.0 else "low"
    return {"error": "high", "warning": "medium"}.get(result.get("level", "warning"), "low")


def _sarif_rules(run: dict) -> dict:
    driver = (run.get("tool") or {}).get("driver") or {}
    rules = {}
    for rule in driver.get("rules") or []:
        if isinstance(rule, dict) and rule.get("id"):
            rules[rule["id"]] = rule.get("properties") or {}
    return rules


def parse_sarif(content: bytes) -> ParsedCi:
    fmt = CiFormat.SARIF
    doc = _object(fmt, content)
    if doc.get("version") != "2.1.0":
        raise _invalid(fmt, f"version must be 2.1.0, not {doc.get('version')!r}.")
    runs = doc.get("runs")
    if not isinstance(runs, list) or not runs:
        raise _invalid(fmt, "it has no runs.")
    counts = {"critical": 0, "high": 0, "medium": 0, "low": 0, "suppressed": 0}
    findings, tools = [], []
    for index, run in enumerate(runs):
        driver = ((run or {}).get("tool") or {}).get("driver") if isinstance(run, dict) else None
        if not isinstance(driver, dict) or not driver.get("name"):
            raise _invalid(fmt, f"runs[{index}] has no tool.driver.name.")
        tools.append(str(driver["name"]))
        results = run.get("results", [])
        if not isinstance(results, list):
            raise _invalid(fmt, f"runs[{index}].results must be a list.")
        rules = _sarif_rules(run)
        for result in results:
            if not isinstance(result, dict) or not isinstance(result.get("message"), dict):
                raise _invalid(fmt, f"runs[{index}] has a result without a message.")
            if result.get("suppressions") or result.get("baselineState") == "absent":
                counts["suppressed"] += 1
                continue
            severity = _sarif_severity(result, rules)
            counts[severity] += 1
            if severity in ("critical", "high"):
                findings.append(
                    {
                        "rule": result.get("ruleId", ""),
                        "severity": severity,
                        "message": str(result["message"].get("text", ""))[:200],
                    }
                )
    blocking = counts["critical"] + counts["high"]
    summary = (
        f"{blocking} critical/high finding(s)"
        if blocking
        else f"no critical/high findings ({counts['medium']} medium, {counts['low']} low)"
    )
    return ParsedCi(
        format=fmt,
        outcome=FAIL if blocking else PASS,
        summary=summary,
        counts=counts,
        tool=", ".join(sorted(set(tools))),
        findings=findings,
    )


# --- Checkov ----------------------------------------------------------------------------


def parse_checkov(content: bytes) -> ParsedCi:
    fmt = CiFormat.CHECKOV
    doc = _json(fmt, content)
    reports = doc if isinstance(doc, list) else [doc]
    if not reports:
        raise _invalid(fmt, "it holds no report.")
    counts = {"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0}
    findings, types = [], []
    for index, report in enumerate(reports):
        if not isinstance(report, dict):
            raise _invalid(fmt, f"report {index} is not an object.")
        if "results" not in report and report.get("summary", {}).get("failed") == 0:
            # Checkov prints only a summary when there was nothing to scan.
            summary = report["summary"]
            counts["passed"] += int(summary.get("passed", 0))
            continue
        results = report.get("results")
        if not isinstance(results, dict):
            raise _invalid(fmt, f"report {index} has no results object (run checkov -o json).")
        types.append(str(report.get("check_type", "")))
        for key in ("passed_checks", "failed_checks", "skipped_checks"):
            if not isinstance(results.get(key, []), list):
                raise _invalid(fmt, f"report {index}: results.{key} must be a list.")
        counts["passed"] += len(results.get("passed_checks", []))
        counts["skipped"] += len(results.get("skipped_checks", []))
        counts["parsing_errors"] += len(results.get("parsing_errors", []) or [])
        for check in results.get("failed_checks", []):
            counts["failed"] += 1
            findings.append(
                {
                    "check": str(check.get("check_id", "")),
                    "severity": str(check.get("severity") or "unknown").lower(),
                    "resource": str(check.get("resource", ""))[:200],
                    "file": str(check.get("file_path", ""))[:200],
                }
            )
    failed = counts["failed"] + counts["parsing_errors"]
    summary = (
        f"{counts['failed']} failed check(s), {counts['parsing_errors']} parsing error(s)"
        if failed
        else f"clean: {counts['passed']} passed, {counts['skipped']} skipped with a reason"
    )
    return ParsedCi(
        format=fmt,
        outcome=FAIL if failed else PASS,
        summary=summary,
        counts=counts,
        tool="checkov " + ", ".join(t for t in types if t),
        findings=findings,
    )


# --- JUnit XML --------------------------------------------------------------------------


def parse_junit(content: bytes) -> ParsedCi:
    fmt = CiFormat.JUNIT
    try:
        root = ElementTree.fromstring(content, forbid_dtd=True)
    except DefusedXmlException:
        raise _invalid(fmt, "DTDs and entities are not accepted.") from None
    except ElementTree.ParseError as exc:
        raise _invalid(fmt, f"it is not well-formed XML ({exc}).") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise _invalid(fmt, f"the root element must be testsuites or testsuite, not {root.tag}.")
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    findings = []
    for case in root.iter("testcase"):
        counts["tests"] += 1
        name = f"{case.get('classname', '')}.{case.get('name', '')}".strip(".")
        for kind, key in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
            element = case.find(kind)
            if element is not None:
                counts[key] += 1
                if key != "skipped":
                    message = (element.get("message") or "")[:200]
                    findings.append({"test": name[:200], "result": kind, "message": message})
                break
    broken = counts["failures"] + counts["errors"]
    if counts["tests"] == 0:
        outcome, summary = FAIL, "no test cases in the report"
    elif broken:
        outcome, summary = FAIL, f"{broken} of {counts['tests']} test(s) failed"
    else:
        outcome = PASS
        summary = f"all {counts['tests'] - counts['skipped']} test(s) passed"
        if counts["skipped"]:
            summary += f" ({counts['skipped']} skipped)"
    return ParsedCi(
        format=fmt, outcome=outcome, summary=summary, counts=counts, tool="junit", findings=findings
    )


# --- CycloneDX --------------------------------------------------------------------------

RESOLVED_STATES = {"resolved", "resolved_with_pedigree", "false_positive", "not_affected"}


def parse_cyclonedx(content: bytes) -> ParsedCi:
    fmt = CiFormat.CYCLONEDX
    doc = _object(fmt, content)
    if doc.get("bomFormat") != "CycloneDX":
        raise _invalid(fmt, 'bomFormat must be "CycloneDX" (upload the JSON form).')
    spec = str(doc.get("specVersion", ""))
    if spec not in ("1.2", "1.3", "1.4", "1.5", "1.6"):
        raise _invalid(fmt, f"specVersion {spec!r} is not a supported CycloneDX version.")
    components = doc.get("components", [])
    if not isinstance(components, list):
        raise _invalid(fmt, "components must be a list.")
    vulnerabilities = doc.get("vulnerabilities", [])
    if not isinstance(vulnerabilities, list):
        raise _invalid(fmt, "vulnerabilities must be a list.")
    counts = {
        "components": len(components),
        "vulnerabilities": len(vulnerabilities),
        "open_critical": 0,
    }
    findings = []
    for vuln in vulnerabilities:
        if not isinstance(vuln, dict):
            raise _invalid(fmt, "a vulnerability entry is not an object.")
        severities = {
            str(r.get("severity", "")).lower()
            for r in vuln.get("ratings", []) or []
            if isinstance(r, dict)
        }
        state = str((vuln.get("analysis") or {}).get("state", "")).lower()
        if "critical" in severities and state not in RESOLVED_STATES:
            counts["open_critical"] += 1
            findings.append({"id": str(vuln.get("id", ""))[:100], "severity": "critical"})
    if not components:
        outcome, summary = FAIL, "the SBOM lists no components"
    elif counts["open_critical"]:
        outcome = FAIL
        summary = f"{counts['open_critical']} open critical vulnerabilit(y/ies)"
    else:
        outcome = PASS
        summary = f"{len(components)} component(s), no open critical vulnerabilities"
    tools = (doc.get("metadata") or {}).get("tools")
    tool = ""
    if isinstance(tools, list) and tools and isinstance(tools[0], dict):
        tool = str(tools[0].get("name", ""))
    return ParsedCi(
        format=fmt,
        outcome=outcome,
        summary=summary,
        counts=counts,
        tool=tool,
        findings=findings,
        extra={"spec_version": spec},
    )


# --- AWS Signer -------------------------------------------------------------------------


def parse_signer(content: bytes) -> ParsedCi:
    """``aws signer describe-signing-job`` output for the job that signed the artifact."""
    fmt = CiFormat.SIGNER
    doc = _object(fmt, content)
    job_id, status = doc.get("jobId"), doc.get("status")
    if not job_id or not isinstance(job_id, str):
        raise _invalid(fmt, "jobId is missing (upload describe-signing-job output).")
    if status not in ("InProgress", "Failed", "Succeeded"):
        raise _invalid(fmt, f"status {status!r} is not a signing job status.")
    signed = (doc.get("signedObject") or {}).get("s3") or {}
    revoked = bool(doc.get("revocationRecord"))
    if status != "Succeeded":
        outcome, summary = FAIL, f"signing job {job_id} is {status}: {doc.get('statusReason', '')}"
    elif revoked:
        outcome, summary = FAIL, f"the signature of job {job_id} was revoked"
    elif not signed.get("key"):
        outcome, summary = FAIL, f"signing job {job_id} produced no signed object"
    else:
        outcome, summary = PASS, f"signed by profile {doc.get('profileName', '?')} (job {job_id})"
    extra = {
        "job_id": job_id,
        "profile": str(doc.get("profileName", "")),
        "profile_version": str(doc.get("profileVersion", "")),
        "platform": str(doc.get("platformId", "")),
        "signed_object": f"s3://{signed.get('bucketName', '')}/{signed.get('key', '')}",
    }
    return ParsedCi(format=fmt, outcome=outcome, summary=summary, tool="aws-signer", extra=extra)


# --- deployment record ------------------------------------------------------------------

DEPLOYMENT_STATUSES = ("succeeded", "failed", "rolled_back")


def parse_deployment(content: bytes) -> ParsedCi:
    """The pipeline's record of a deployment: which gate decision allowed it.

    ``{"environment", "status": succeeded|failed|rolled_back, "gate_decision_id",
    "deployed_at"?, "artifact_sha256"?, "deployment_id"?, "function_name"?, "version"?}``.
    Whether the decision exists and allowed this commit is judged by the caller.
    """
    fmt = CiFormat.DEPLOYMENT
    doc = _object(fmt, content)
    environment = doc.get("environment")
    if not isinstance(environment, str) or not environment:
        raise _invalid(fmt, "environment is required.")
    status = doc.get("status")
    if status not in DEPLOYMENT_STATUSES:
        raise _invalid(fmt, f"status must be one of {', '.join(DEPLOYMENT_STATUSES)}.")
    decision_id = doc.get("gate_decision_id")
    try:
        decision_id = str(uuid.UUID(str(decision_id)))
    except ValueError:
        raise _invalid(fmt, "gate_decision_id must be the decision_id the gate returned.") from None
    extra = {
        "environment": environment,
        "deployment_status": status,
        "gate_decision_id": decision_id,
        **{
            key: str(doc[key])[:200]
            for key in (
                "deployed_at",
                "artifact_sha256",
                "deployment_id",
                "function_name",
                "version",
            )
            if doc.get(key) is not None
        },
    }
    return ParsedCi(
        format=fmt,
        outcome=PASS,
        summary=f"deployment to {environment}: {status}",
        tool="pipeline",
        extra=extra,
    )


PARSERS = {
    CiFormat.SARIF: parse_sarif,
    CiFormat.CHECKOV: parse_checkov,
    CiFormat.JUNIT: parse_junit,
    CiFormat.CYCLONEDX: parse_cyclonedx,
    CiFormat.SIGNER: parse_signer,
    CiFormat.DEPLOYMENT: parse_deployment,
}
DEFAULT_FILENAMES = {
    CiFormat.SARIF: "results.sarif",
    CiFormat.CHECKOV: "checkov.json",
    CiFormat.JUNIT: "junit.xml",
    CiFormat.CYCLONEDX: "sbom.cdx.json",
    CiFormat.SIGNER: "signing-job.json",
    CiFormat.DEPLOYMENT: "deployment.json",
}
EVIDENCE_KINDS = {
    CiFormat.SARIF: "sarif",
    CiFormat.CHECKOV: "checkov",
    CiFormat.JUNIT: "junit",
    CiFormat.CYCLONEDX: "cyclonedx",
    CiFormat.SIGNER: "signature",
    CiFormat.DEPLOYMENT: "other",
}


def parse(fmt: str, content: bytes) -> ParsedCi:
    if fmt not in PARSERS:
        raise DomainError(
            f"Unknown format {fmt!r}; use one of {', '.join(CiFormat.values)}.",
            details={"format": ["unknown"]},
        )
    return PARSERS[fmt](content)
