"""guardrails/index.yaml lists every guardrail file, and only existing ones."""

import yaml

from tests.guardrails.conftest import GUARDRAILS, ROOT

KINDS = {
    "scp",
    "config-rule",
    "conformance-pack",
    "iam-boundary",
    "iam-trust",
    "iam-policy",
    "cloudformation",
    "workflow",
    "sam-app",
    "tool",
}
# Support files that are not guardrails a platform team applies on their own.
NOT_INDEXED = {"index.yaml", "README.md", "requirements.txt", "requirements-checkov.txt"}


def _entries():
    return yaml.safe_load((GUARDRAILS / "index.yaml").read_text())["files"]


def test_every_indexed_file_exists_with_a_title_kind_and_description():
    entries = _entries()
    for entry in entries:
        assert (ROOT / entry["path"]).is_file(), entry["path"]
        assert entry["kind"] in KINDS, entry
        assert entry["title"].strip() and entry["description"].strip(), entry
    paths = [e["path"] for e in entries]
    assert len(paths) == len(set(paths))


def test_every_guardrail_file_is_indexed():
    indexed = {e["path"] for e in _entries()}
    on_disk = {
        str(path.relative_to(ROOT))
        for path in GUARDRAILS.rglob("*")
        if path.is_file()
        and path.suffix in {".json", ".yaml", ".yml", ".py"}
        and path.name not in NOT_INDEXED
        and path.name != "__init__.py"
        and "tests" not in path.relative_to(GUARDRAILS).parts
        and "__pycache__" not in path.parts
        and ".aws-sam" not in path.parts
    }
    assert on_disk - indexed == set()
