"""No Docker engine runs in CI, so the compose file is validated statically."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _settings_source() -> str:
    return "\n".join(p.read_text() for p in (ROOT / "portal").glob("*.py"))


def test_compose_runs_every_part_of_the_production_shape():
    services = _compose()["services"]
    assert set(services) == {"web", "worker", "beat", "db", "redis"}
    assert "gunicorn portal.wsgi:application" in services["web"]["command"]
    assert services["worker"]["command"].startswith("celery -A portal worker")
    assert services["beat"]["command"].startswith("celery -A portal beat")
    assert services["db"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"


def test_portal_processes_wait_for_healthy_dependencies_and_build_from_the_dockerfile():
    services = _compose()["services"]
    assert (ROOT / "Dockerfile").exists()
    for name in ("web", "worker", "beat"):
        assert services[name]["build"] == "."
        assert services[name]["depends_on"] == {
            "db": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }


def test_every_environment_variable_is_one_the_settings_read():
    source = _settings_source()
    env = _compose()["services"]["web"]["environment"]
    for name in env:
        base = name.removesuffix("_FILE")
        assert re.search(rf'env_\w+\("{base}"', source), f"settings never read {name}"


def test_web_health_check_uses_readiness_endpoint_and_urls_point_at_compose_services():
    compose = _compose()
    env = compose["services"]["web"]["environment"]
    assert "@db:5432/" in env["DATABASE_URL"]
    assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379")
    assert "/readyz" in " ".join(compose["services"]["web"]["healthcheck"]["test"])
    assert set(compose["secrets"]) == {"secret_key", "signing_key"}
