"""Convert SARIF results (CodeQL, Checkov, ...) to AWS Security Finding Format batches.

Used by the release workflow to import scan findings into AWS Security Hub:

    python sarif_to_asff.py --account 111122223333 --region eu-west-1 \
        --repository org/repo --commit "$GITHUB_SHA" --out asff/ results/*.sarif
    for f in asff/*.json; do aws securityhub batch-import-findings --findings "file://$f"; done

Each output file holds at most 100 findings (the BatchImportFindings limit). Finding ids are
stable across commits (tool, rule, file, line, message), so a re-scan updates a finding
instead of duplicating it. Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

BATCH = 100
TYPES = {
    "codeql": "Software and Configuration Checks/Vulnerabilities",
    "checkov": "Software and Configuration Checks/AWS Security Best Practices",
}
DEFAULT_TYPE = "Software and Configuration Checks/Vulnerabilities"
LEVEL_SEVERITY = {"error": "HIGH", "warning": "MEDIUM", "note": "LOW", "none": "INFORMATIONAL"}


def severity(result: dict, rule: dict) -> str:
    """CodeQL's numeric security-severity when present, else the SARIF level."""
    score = (rule.get("properties") or {}).get("security-severity")
    if score is not None:
        value = float(score)
        if value >= 9:
            return "CRITICAL"
        if value >= 7:
            return "HIGH"
        if value >= 4:
            return "MEDIUM"
        return "LOW" if value > 0 else "INFORMATIONAL"
    level = result.get("level") or (rule.get("defaultConfiguration") or {}).get("level")
    return LEVEL_SEVERITY.get(level or "warning", "MEDIUM")


def _location(result: dict) -> tuple[str, int]:
    for location in result.get("locations") or []:
        physical = location.get("physicalLocation") or {}
        uri = (physical.get("artifactLocation") or {}).get("uri", "")
        line = (physical.get("region") or {}).get("startLine", 0)
        return uri, int(line)
    return "", 0


def convert(
    sarif: dict, *, account: str, region: str, repository: str, commit: str, now: datetime
) -> list[dict]:
    product_arn = f"arn:aws:securityhub:{region}:{account}:product/{account}/default"
    timestamp = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    findings = []
    for run in sarif.get("runs", []):
        driver = run["tool"]["driver"]
        tool = driver.get("name", "sarif")
        rules = {rule.get("id"): rule for rule in driver.get("rules", [])}
        for result in run.get("results", []):
            rule_id = result.get("ruleId") or "unknown-rule"
            rule = rules.get(rule_id, {})
            message = (result.get("message") or {}).get("text", "") or rule_id
            uri, line = _location(result)
            fingerprint = hashlib.sha256(
                f"{tool}|{rule_id}|{uri}|{line}|{message}".encode()
            ).hexdigest()[:32]
            title = (rule.get("shortDescription") or {}).get("text") or rule_id
            findings.append(
                {
                    "SchemaVersion": "2018-10-08",
                    "Id": f"{repository}/{tool}/{rule_id}/{fingerprint}",
                    "ProductArn": product_arn,
                    "GeneratorId": f"{tool}/{rule_id}"[:512],
                    "AwsAccountId": account,
                    "Types": [TYPES.get(tool.lower(), DEFAULT_TYPE)],
                    "CreatedAt": timestamp,
                    "UpdatedAt": timestamp,
                    "Severity": {"Label": severity(result, rule)},
                    "Title": f"{tool}: {title}"[:256],
                    "Description": message[:1024],
                    "Resources": [
                        {
                            "Type": "Other",
                            "Id": f"{repository}/{uri}:{line}"[:512],
                            "Region": region,
                        }
                    ],
                    "ProductFields": {
                        "prr/tool": tool,
                        "prr/rule": rule_id,
                        "prr/repository": repository,
                        "prr/commit": commit,
                    },
                    "RecordState": "ACTIVE",
                }
            )
    return findings


def batches(findings: list[dict]) -> list[list[dict]]:
    return [findings[i : i + BATCH] for i in range(0, len(findings), BATCH)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--account", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--repository", required=True)
    parser.add_argument("--commit", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("sarif", nargs="+", type=Path)
    args = parser.parse_args(argv)
    now = datetime.now(UTC)
    findings = []
    for path in args.sarif:
        findings += convert(
            json.loads(path.read_text()),
            account=args.account,
            region=args.region,
            repository=args.repository,
            commit=args.commit,
            now=now,
        )
    args.out.mkdir(parents=True, exist_ok=True)
    for number, batch in enumerate(batches(findings)):
        (args.out / f"findings-{number:04d}.json").write_text(json.dumps(batch))
    print(f"{len(findings)} findings in {len(batches(findings))} batch(es)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
