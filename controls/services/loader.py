"""Read, validate and load the YAML control catalog (``controls/catalog/``).

``read_catalog`` parses and validates every file, collecting every problem with its file,
the path inside it and the reason; ``catalog_load`` writes a new immutable CatalogVersion
in one transaction, or does nothing when the same content is already loaded.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.conf import settings
from django.db import transaction
from jsonschema import Draft202012Validator

from audit.context import Actor
from audit.services import audit_record
from collection.checks.ids import CHECK_IDS
from controls import applicability, schema
from controls.choices import SECTION_ORDER
from controls.models import (
    CatalogVersion,
    Control,
    ControlMapping,
    Framework,
    Requirement,
    Runbook,
)
from portal.errors import DomainError

DEFAULT_CATALOG_DIR = Path(settings.BASE_DIR) / "controls" / "catalog"
# libyaml's safe loader when available: same safety as yaml.safe_load, several times faster.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
GUARDRAILS_DIR = "guardrails"


@dataclass(frozen=True)
class Problem:
    file: str
    path: str
    reason: str

    def __str__(self):
        return f"{self.file}: {self.path or '(top)'}: {self.reason}"


class CatalogError(DomainError):
    """The catalog files are invalid; ``problems`` lists every one found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(
            f"The catalog is invalid ({len(problems)} problem(s)); nothing was loaded:\n{lines}",
            code="invalid",
            details={"problems": [problem.__dict__ for problem in problems]},
        )


@dataclass
class CatalogSource:
    """A parsed, validated catalog, ready to be written."""

    root: Path
    version: str
    title: str
    notes: str
    sha256: str
    frameworks: list[dict] = field(default_factory=list)
    runbooks: list[dict] = field(default_factory=list)
    controls: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class LoadResult:
    catalog_version: CatalogVersion
    created: bool

    def summary(self) -> str:
        cv = self.catalog_version
        controls = cv.controls.count()
        automated = cv.controls.exclude(check_id="").count()
        frameworks = cv.frameworks.count()
        requirements = Requirement.objects.filter(framework__catalog_version=cv).count()
        runbooks = cv.runbooks.count()
        verb = "Loaded" if self.created else "Already loaded (unchanged)"
        current = "current" if cv.is_current else "not current"
        return (
            f"{verb}: catalog {cv.version} ({current}), {controls} controls "
            f"({automated} automated), {frameworks} frameworks with {requirements} "
            f"requirements, {runbooks} runbooks, sha256 {cv.content_sha256[:12]}"
        )


# --- reading and validating ------------------------------------------------------------------


def _display_name(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path(settings.BASE_DIR).resolve()))
    except ValueError:
        return str(path)


def _pointer(parts) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _load_yaml(path: Path, problems: list[Problem]):
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problems.append(Problem(_display_name(path), where, f"not valid YAML: {exc}"))
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(_display_name(path), "", f"cannot read file: {exc}"))
    return None


def _schema_problems(name: str, data, json_schema: dict) -> list[Problem]:
    validator = Draft202012Validator(json_schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    return [Problem(name, _pointer(error.absolute_path), error.message) for error in errors]


def _read_dir(root: Path, sub: str, json_schema: dict, problems: list[Problem]):
    """Yield (display name, relative name, data) for each schema-valid YAML file in sub/."""
    directory = root / sub
    files = sorted(directory.glob("*.yaml")) if directory.is_dir() else []
    if not files:
        problems.append(Problem(_display_name(directory), "", "no .yaml files found"))
    for path in files:
        data = _load_yaml(path, problems)
        if data is None and path.stat().st_size == 0:
            problems.append(Problem(_display_name(path), "", "file is empty"))
            continue
        found = _schema_problems(_display_name(path), data, json_schema)
        problems.extend(found)
        if not found:
            yield _display_name(path), f"{sub}/{path.name}", data


def read_catalog(root: Path | str | None = None) -> CatalogSource:
    """Parse and validate the catalog at ``root``; raise CatalogError listing every problem."""
    root = Path(root or DEFAULT_CATALOG_DIR)
    problems: list[Problem] = []
    catalog_file = root / "catalog.yaml"
    header = None
    if not catalog_file.is_file():
        problems.append(Problem(_display_name(catalog_file), "", "missing catalog.yaml"))
    else:
        header = _load_yaml(catalog_file, problems)
        if header is not None or catalog_file.stat().st_size == 0:
            found = _schema_problems(_display_name(catalog_file), header, schema.CATALOG_SCHEMA)
            problems.extend(found)
            header = None if found else header

    canonical: dict = {"catalog.yaml": header}
    frameworks = []
    for name, rel, data in _read_dir(root, "frameworks", schema.FRAMEWORK_SCHEMA, problems):
        canonical[rel] = data
        frameworks.append({**data, "_file": name})
    runbooks = []
    for name, rel, data in _read_dir(root, "runbooks", schema.RUNBOOK_SCHEMA, problems):
        canonical[rel] = data
        runbooks.append({**data, "_file": name})
    control_files = []
    for name, rel, data in _read_dir(root, "controls", schema.CONTROLS_SCHEMA, problems):
        canonical[rel] = data
        control_files.append((name, data))

    controls = _expand_controls(control_files, problems)
    frameworks.sort(key=lambda fw: (fw.get("position", 1000), fw["code"]))
    runbooks.sort(key=lambda rb: (rb.get("position", 1000), rb["slug"]))
    if not problems:
        # Cross-file rules only once every file is valid: a broken framework file would
        # otherwise report each of its mappings as unknown.
        problems.extend(_cross_check(frameworks, runbooks, controls))
    if problems:
        raise CatalogError(problems)
    digest = hashlib.sha256(
        json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()
    return CatalogSource(
        root=root,
        version=header["version"],
        title=header["title"],
        notes=header.get("notes", ""),
        sha256=digest,
        frameworks=frameworks,
        runbooks=runbooks,
        controls=controls,
    )


def _expand_controls(control_files, problems: list[Problem]) -> list[dict]:
    """Merge section defaults into each control, in PRR document order."""
    control_files.sort(key=lambda item: (SECTION_ORDER[item[1]["section"]], item[0]))
    controls = []
    for name, data in control_files:
        defaults = data.get("defaults", {})
        for index, raw in enumerate(data["controls"]):
            control = {**defaults, **raw, "section": data["section"]}
            control["_file"], control["_path"] = name, f"controls[{index}]"
            for key in schema.DEFAULTABLE_FIELDS:
                if key not in control:
                    problems.append(
                        Problem(name, f"controls[{index}]", f"'{key}' is a required property")
                    )
            controls.append(control)
    return controls


def _cross_check(frameworks, runbooks, controls) -> list[Problem]:
    problems: list[Problem] = []
    requirements: dict[str, set[str]] = {}
    for fw in frameworks:
        if fw["code"] in requirements:
            problems.append(Problem(fw["_file"], "code", f"duplicate framework {fw['code']}"))
            continue
        refs: set[str] = set()
        for index, req in enumerate(fw["requirements"]):
            if req["ref"] in refs:
                problems.append(
                    Problem(
                        fw["_file"], f"requirements[{index}].ref", f"duplicate ref {req['ref']}"
                    )
                )
            refs.add(req["ref"])
        requirements[fw["code"]] = refs
    slugs: set[str] = set()
    for rb in runbooks:
        if rb["slug"] in slugs:
            problems.append(Problem(rb["_file"], "slug", f"duplicate runbook slug {rb['slug']}"))
        slugs.add(rb["slug"])

    codes: dict[str, str] = {}
    checks: dict[str, str] = {}
    for control in controls:
        file, path = control["_file"], control["_path"]
        code = control["code"]
        if code in codes:
            problems.append(
                Problem(
                    file, f"{path}.code", f"duplicate control code {code} (first in {codes[code]})"
                )
            )
        codes.setdefault(code, file)
        problems.extend(_check_control_links(control, requirements, slugs, checks))
    return problems


def _check_control_links(control, requirements, slugs, checks) -> list[Problem]:
    file, path, code = control["_file"], control["_path"], control["code"]
    problems = []
    check = control.get("check")
    if check:
        check_id = check["id"]
        if check_id not in CHECK_IDS:
            problems.append(Problem(file, f"{path}.check.id", f"unknown check id {check_id}"))
        elif check_id in checks:
            problems.append(
                Problem(
                    file,
                    f"{path}.check.id",
                    f"check {check_id} already backs {checks[check_id]}; a check backs one control",
                )
            )
        checks.setdefault(check_id, code)
    for fw_code, refs in control["mappings"].items():
        if fw_code not in requirements:
            problems.append(
                Problem(file, f"{path}.mappings.{fw_code}", f"unknown framework {fw_code}")
            )
            continue
        for index, ref in enumerate(refs):
            if ref not in requirements[fw_code]:
                problems.append(
                    Problem(
                        file,
                        f"{path}.mappings.{fw_code}[{index}]",
                        f"unknown requirement {fw_code} {ref}",
                    )
                )
    for index, slug in enumerate(control.get("runbooks", [])):
        if slug not in slugs:
            problems.append(Problem(file, f"{path}.runbooks[{index}]", f"unknown runbook {slug}"))
    for index, link in enumerate(control.get("guardrails", [])):
        reason = guardrail_link_problem(link)
        if reason:
            problems.append(Problem(file, f"{path}.guardrails[{index}]", reason))
    try:
        applicability.validate_rule(control["applicability"])
    except applicability.RuleError as exc:
        where = f"{path}.applicability" + (f"/{exc.path}" if exc.path else "")
        problems.append(Problem(file, where, str(exc)))
    except KeyError:
        pass  # reported as a missing required property
    return problems


def guardrail_path(link: str) -> Path | None:
    """The file a guardrail link names, or None unless it is a plain relative path to an
    existing file under guardrails/ (no traversal, no symlink escape)."""
    if (
        not isinstance(link, str)
        or not link.startswith(f"{GUARDRAILS_DIR}/")
        or "\\" in link
        or "\x00" in link
        or any(part in ("", ".", "..") for part in link.split("/"))
    ):
        return None
    base = (Path(settings.BASE_DIR) / GUARDRAILS_DIR).resolve()
    target = (Path(settings.BASE_DIR) / link).resolve()
    if not target.is_relative_to(base) or not target.is_file():
        return None
    return target


def guardrail_link_problem(link: str) -> str:
    if guardrail_path(link) is None:
        return f"guardrail link {link!r} is not an existing file under {GUARDRAILS_DIR}/"
    return ""


# --- writing ---------------------------------------------------------------------------------


def catalog_load(*, actor: Actor, path: Path | str | None = None) -> LoadResult:
    """Load the catalog at ``path`` (default ``controls/catalog/``) as a new current version.

    Idempotent: the same content under an already loaded version changes nothing. Refuses
    (DomainError ``conflict``) different content under an already loaded version string,
    since a loaded version is immutable. Invalid files raise CatalogError and load nothing.
    """
    source = read_catalog(path)
    with transaction.atomic():
        existing = CatalogVersion.objects.select_for_update().filter(version=source.version)
        existing = existing.first()
        if existing is not None:
            if existing.content_sha256 != source.sha256:
                raise DomainError(
                    f"Catalog version {source.version} is already loaded with different "
                    "content; a loaded version is immutable. Bump `version` in catalog.yaml.",
                    code="conflict",
                    details={"version": source.version},
                )
            return LoadResult(existing, created=False)
        catalog_version = _write(source)
        audit_record(
            actor=actor,
            action="catalog.load",
            obj=catalog_version,
            message=f"Loaded control catalog {source.version}",
            after={
                "version": source.version,
                "content_sha256": source.sha256,
                "controls": len(source.controls),
                "frameworks": len(source.frameworks),
                "runbooks": len(source.runbooks),
            },
        )
    return LoadResult(catalog_version, created=True)


def _write(source: CatalogSource) -> CatalogVersion:
    CatalogVersion.objects.filter(is_current=True).update(is_current=False)
    catalog_version = CatalogVersion.objects.create(
        version=source.version,
        content_sha256=source.sha256,
        is_current=True,
        notes=source.notes or source.title,
    )
    requirement_ids = _write_frameworks(catalog_version, source.frameworks)
    runbooks = Runbook.objects.bulk_create(
        Runbook(
            catalog_version=catalog_version,
            slug=rb["slug"],
            title=rb["title"],
            scenario=rb["scenario"],
            steps=rb["steps"],
            escalation_path=rb["escalation_path"],
            mermaid=rb.get("mermaid", ""),
            position=position,
        )
        for position, rb in enumerate(source.runbooks)
    )
    runbook_ids = {rb.slug: rb.pk for rb in runbooks}
    controls = Control.objects.bulk_create(
        _control_row(catalog_version, position, data)
        for position, data in enumerate(source.controls)
    )
    ControlMapping.objects.bulk_create(
        ControlMapping(control=control, requirement_id=requirement_ids[(fw, ref)])
        for control, data in zip(controls, source.controls, strict=True)
        for fw, refs in data["mappings"].items()
        for ref in refs
    )
    through = Control.runbooks.through
    through.objects.bulk_create(
        through(control_id=control.pk, runbook_id=runbook_ids[slug])
        for control, data in zip(controls, source.controls, strict=True)
        for slug in data.get("runbooks", [])
    )
    return catalog_version


def _write_frameworks(catalog_version, frameworks) -> dict[tuple[str, str], int]:
    ids = {}
    for position, fw in enumerate(frameworks):
        framework = Framework.objects.create(
            catalog_version=catalog_version,
            code=fw["code"],
            name=fw["name"],
            version=fw["version"],
            url=fw.get("url", ""),
            description=fw.get("description", ""),
            position=position,
        )
        rows = Requirement.objects.bulk_create(
            Requirement(framework=framework, ref=req["ref"], title=req["title"], position=index)
            for index, req in enumerate(fw["requirements"])
        )
        ids.update({(fw["code"], row.ref): row.pk for row in rows})
    return ids


def _control_row(catalog_version, position: int, data: dict) -> Control:
    check = data.get("check") or {}
    return Control(
        catalog_version=catalog_version,
        code=data["code"],
        section=data["section"],
        title=data["title"],
        requirement=data["requirement"],
        rationale=data["rationale"],
        aws_services=data["aws_services"],
        enforcement=data["enforcement"],
        check_id=check.get("id", ""),
        check_reads=check.get("reads", []),
        check_pass_condition=check.get("pass_condition", ""),
        evidence_description=data["evidence"],
        validation_procedure=data["validation"],
        severity=data["severity"],
        mandatory_tiers=sorted(data["mandatory_tiers"]),
        applicability=data["applicability"],
        freshness_days=data["freshness_days"],
        guardrails=data.get("guardrails", []),
        position=position,
    )
