"""Test settings: the production settings with the few differences tests need, in one place."""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdefghijkl")
os.environ.setdefault("PORTAL_HTTPS", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

from portal.settings import *  # noqa: E402,F403
from portal.settings import STATIC_ROOT, VAR_DIR  # noqa: E402

# Fast hashing: tests create many users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
# Unit tests run tasks inline; worker tests start a real worker against Redis instead.
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_TASK_ALWAYS_EAGER", "true") == "true"
MEDIA_ROOT = VAR_DIR / "test-media"
STORAGES["default"] = {  # noqa: F405
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": MEDIA_ROOT},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns when it is missing
# Audit: checkpoints in a test folder; a generated signing key; no TRUNCATE trigger on the audit
# table, because the test runner empties tables with TRUNCATE (tests install it where checked).
STORAGES["audit_checkpoints"] = {  # noqa: F405
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": VAR_DIR / "test-audit-checkpoints"},
}
PORTAL_SIGNING_DEV_KEY = True
AUDIT_TRUNCATE_TRIGGER = False
