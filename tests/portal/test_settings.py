"""Settings fail loudly on bad values instead of falling back silently."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal import env

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("X_FLAG", "X_FLAG_FILE", "X_NUM", "X_MAP"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("raw", ["maybe", "2", "enabled"])
def test_bool_rejects_unknown_words(clean_env, raw):
    clean_env.setenv("X_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="X_FLAG=.* is not a boolean"):
        env.env_bool("X_FLAG", False)


@pytest.mark.parametrize(("raw", "expected"), [("yes", True), ("OFF", False), ("1", True)])
def test_bool_accepts_common_spellings(clean_env, raw, expected):
    clean_env.setenv("X_FLAG", raw)
    assert env.env_bool("X_FLAG", not expected) is expected


def test_int_rejects_text_and_values_below_minimum(clean_env):
    clean_env.setenv("X_NUM", "ten")
    with pytest.raises(ImproperlyConfigured, match="not a whole number"):
        env.env_int("X_NUM", 1)
    clean_env.setenv("X_NUM", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env.env_int("X_NUM", 1, minimum=1)


def test_file_variant_is_read_and_conflicts_are_refused(clean_env, tmp_path):
    secret = tmp_path / "flag"
    secret.write_text("true\n")
    clean_env.setenv("X_FLAG_FILE", str(secret))
    assert env.env_bool("X_FLAG", False) is True
    clean_env.setenv("X_FLAG", "false")
    with pytest.raises(ImproperlyConfigured, match="either X_FLAG or X_FLAG_FILE"):
        env.env_bool("X_FLAG", False)


def test_unreadable_file_is_reported(clean_env, tmp_path):
    clean_env.setenv("X_FLAG_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        env.env_str("X_FLAG")


def test_map_parses_pairs_and_rejects_garbage(clean_env):
    clean_env.setenv("X_MAP", "prr-sre=sre, prr-sec=security")
    assert env.env_map("X_MAP") == {"prr-sre": "sre", "prr-sec": "security"}
    clean_env.setenv("X_MAP", "prr-sre")
    with pytest.raises(ImproperlyConfigured, match="expected key=value"):
        env.env_map("X_MAP")


def _import_settings(**overrides) -> subprocess.CompletedProcess:
    environ = {
        "PATH": os.environ["PATH"],
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "prr.example.com",
        "PORTAL_VAR_DIR": "/tmp/prr-settings-test",
        **overrides,
    }
    return subprocess.run(
        [sys.executable, "-c", "import portal.settings"],
        cwd=ROOT,
        env={k: v for k, v in environ.items() if v is not None},
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY is required"),
        ({"DEBUG": "perhaps"}, "DEBUG='perhaps' is not a boolean"),
        ({"DATABASE_URL": "mysql://u@h/db"}, "only postgresql:// and sqlite://"),
        ({"CELERY_BROKER_URL": "amqp://guest@h//"}, "use redis://"),
        ({"STORAGE_BACKEND": "ftp"}, "use 'local' or 's3'"),
        ({"LOG_LEVEL": "LOUD"}, "not a logging level"),
        ({"EVIDENCE_MAX_UPLOAD_BYTES": "0"}, "at least 1"),
    ],
)
def test_bad_environment_stops_the_process_with_a_clear_message(overrides, message):
    result = _import_settings(**overrides)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_postgres_and_redis_are_selected_from_urls():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings as s; import django; django.setup();"
            "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL.split(':')[0])",
        ],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "SECRET_KEY": "x" * 60,
            "DATABASE_URL": "postgresql://portal:pw@db:5432/portal",
            "CELERY_BROKER_URL": "redis://redis:6379/0",
            "PORTAL_VAR_DIR": "/tmp/prr-settings-test",
        },
        capture_output=True,
        text=True,
    )
    assert result.stdout.split() == ["django.db.backends.postgresql", "redis"], result.stderr
