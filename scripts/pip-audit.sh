#!/usr/bin/env bash
# pip-audit over the installed (pinned and resolved) dependencies of .venv.
#
# Fails on any known vulnerability, naming the fixed versions. pip-audit's default service
# (`-s pypi`) reads each release's advisories from https://pypi.org/pypi/<name>/<version>/json.
# Where only the project page https://pypi.org/pypi/<name>/json is served (the package proxy
# of our development and CI machines answers 404 to per-release pages, and OSV does not
# resolve), every package comes back "not found on PyPI"; the script then audits from the
# project pages, which carry the advisories of each project's latest release: a package
# installed at its latest release is audited exactly, one behind it cannot be and is named in
# a WARNING. Packages that could not be audited fail the run only with PIP_AUDIT_STRICT=1.
# The HTTP cache lives outside the repository (PIP_AUDIT_CACHE_DIR, default
# ~/.cache/pip-audit).
set -euo pipefail
cd "$(dirname "$0")/.."
pip_audit=${PIP_AUDIT:-.venv/bin/pip-audit}
cache_dir=${PIP_AUDIT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pip-audit}
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
set +e
"$pip_audit" --vulnerability-service pypi --skip-editable --progress-spinner off \
  --cache-dir "$cache_dir" --format json --output "$out" 2>"$err"
rc=$?
set -e
.venv/bin/python - "$out" "$err" "$rc" <<'PY'
import json
import os
import re
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

import requests
from packaging.version import InvalidVersion, Version

path, err_path, rc = sys.argv[1], sys.argv[2], int(sys.argv[3])
strict = os.environ.get("PIP_AUDIT_STRICT") == "1"
OTHER_SERVICES = {"osv": "api.osv.dev", "esms": "advisories.ecosyste.ms"}


def say(message):
    print(f"pip-audit: {message}", file=sys.stderr)


def status(url):
    try:
        return str(requests.get(url, timeout=15).status_code)
    except requests.RequestException as exc:
        return f"no answer ({type(exc).__name__})"


def why_unreachable(name, version):
    """Probe what pip-audit's pypi service reads, and the other services' hosts."""
    release = f"https://pypi.org/pypi/{name}/{version}/json"
    project = f"https://pypi.org/pypi/{name}/json"
    release_status, project_status = status(release), status(project)
    line = f"  -s pypi reads {release}: {release_status}, while {project}: {project_status}."
    if release_status == "404" and project_status == "200":
        line += (
            " The PyPI this machine reaches (a package proxy) serves the index and project"
            ' pages but not per-release pages, so every package reads as "not found on PyPI".'
        )
    lines = [line]
    for service, host in OTHER_SERVICES.items():
        try:
            socket.getaddrinfo(host, 443)
            lines.append(f"  -s {service}: {host} resolves; try that service.")
        except OSError:
            lines.append(f"  -s {service}: {host} does not resolve.")
    return lines


def unaudited(count, probe):
    say(f"WARNING: 0 packages audited, {count} could not be: no advisory data reachable.")
    for line in why_unreachable(*probe):
        say(line)
    say(
        "Nothing is known vulnerable, nothing is proven either"
        + ("." if strict else " (PIP_AUDIT_STRICT=1 makes this fail).")
    )
    sys.exit(1 if strict else 0)


def project_page(name):
    try:
        response = requests.get(f"https://pypi.org/pypi/{name}/json", timeout=15)
        return response.json() if response.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None


def series_note(page, version):
    """Whether ``version`` is the newest release of its major.minor series: the best that can
    be said of a package the project page cannot audit."""
    mine = Version(version)
    series = []
    for release, files in (page.get("releases") or {}).items():
        try:
            candidate = Version(release)
        except InvalidVersion:
            continue
        if files and not candidate.is_prerelease and candidate.release[:2] == mine.release[:2]:
            series.append(candidate)
    newest = max(series, default=mine)
    prefix = ".".join(str(part) for part in mine.release[:2])
    return f"newest {prefix}.x" if newest <= mine else f"{newest} is out"


def audit_latest(packages):
    """Audit from the project pages: their advisories are those of the latest release, so
    only packages installed at that release are audited."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        pages = list(pool.map(project_page, [name for name, _ in packages]))
    audited, behind, missing, vulnerable = 0, [], [], []
    for (name, version), page in zip(packages, pages, strict=True):
        if page is None or "vulnerabilities" not in page:
            missing.append(name)
            continue
        latest = page["info"]["version"]
        if Version(latest) != Version(version):
            behind.append(f"{name} {version} (latest {latest}; {series_note(page, version)})")
            continue
        audited += 1
        for vuln in page.get("vulnerabilities") or []:
            if not vuln.get("withdrawn"):
                fixed = ", ".join(vuln.get("fixed_in") or []) or "no fixed release"
                vulnerable.append(f"{name} {version}: {vuln['id']} (fixed in {fixed})")
    say(
        f"-s pypi could not audit any of {len(packages)} packages (per-release pages are not "
        "served here); audited from the project pages instead, which carry the advisories "
        "of each project's latest release."
    )
    for line in vulnerable:
        say(line)
    if vulnerable:
        say(f"{len(vulnerable)} known vulnerabilities in {audited} audited packages")
        sys.exit(1)
    if behind or missing:
        say(
            f"WARNING: {len(behind) + len(missing)} of {len(packages)} packages could not be "
            "audited: "
            + "; ".join(behind + [f"{name} (no advisory data)" for name in missing])
            + ("." if strict else " (PIP_AUDIT_STRICT=1 makes this fail).")
        )
    print(f"pip-audit: {audited} packages audited, no known vulnerabilities")
    sys.exit(1 if strict and (behind or missing) else 0)


def installed(dep):
    match = re.search(r"\((.+)\)$", dep["skip_reason"])
    return dep["name"], match.group(1) if match else metadata.version(dep["name"])


try:
    report = json.loads(Path(path).read_text())
except (OSError, ValueError):
    stderr = Path(err_path).read_text().strip().splitlines()
    say(f"no report (exit {rc}): {stderr[-1] if stderr else 'no output'}")
    if any("ConnectionError" in line or "Could not connect" in line for line in stderr):
        unaudited("all", ("pip-audit", metadata.version("pip-audit")))
    sys.exit(1)
deps = report.get("dependencies", [])
vulnerable = [d for d in deps if d.get("vulns")]
skipped = [d for d in deps if d.get("skip_reason")]
not_found = [d for d in skipped if d["skip_reason"].startswith("Dependency not found on PyPI")]
audited = len(deps) - len(skipped)
for d in vulnerable:
    for v in d["vulns"]:
        fixed = ", ".join(v.get("fix_versions") or []) or "no fixed release"
        say(f"{d['name']} {d.get('version')}: {v['id']} (fixed in {fixed})")
if vulnerable:
    say(f"{len(vulnerable)} of {audited} audited packages have known vulnerabilities")
    sys.exit(1)
if audited == 0 and not_found:
    probe = installed(not_found[0])
    if status(f"https://pypi.org/pypi/{probe[0]}/json") == "200":
        audit_latest([installed(d) for d in not_found])
    unaudited(len(not_found), probe)
for d in skipped:
    say(f"not audited: {d['skip_reason']}")
print(f"pip-audit: {audited} packages audited, no known vulnerabilities")
PY
