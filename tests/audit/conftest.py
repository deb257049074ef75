import pytest

from portal import signing


@pytest.fixture(autouse=True)
def checkpoint_folder(settings, tmp_path):
    """Each test gets its own, empty checkpoint storage."""
    settings.STORAGES = {
        **settings.STORAGES,
        "audit_checkpoints": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "checkpoints"},
        },
    }
    return tmp_path / "checkpoints"


@pytest.fixture
def fresh_signing_key(settings, tmp_path, monkeypatch):
    """A signing key of this test's own (the development key under a temporary VAR_DIR)."""
    monkeypatch.delenv("PORTAL_SIGNING_KEY", raising=False)
    monkeypatch.delenv("PORTAL_SIGNING_KEY_FILE", raising=False)
    settings.VAR_DIR = tmp_path / "var"
    signing.reset_key_cache()
    yield
    signing.reset_key_cache()
