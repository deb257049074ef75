"""Where signed checkpoints of the audit chain's head are kept: outside the database.

Production uses an S3 bucket created with Object Lock (versioning on): every checkpoint object
is written with a COMPLIANCE-mode retention date, so nobody, not even the account root, can
delete or overwrite it before that date. Development and tests use a local folder.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from storages.backends.s3 import S3Storage


class CheckpointS3Storage(S3Storage):
    """S3 storage that puts an Object Lock retention on every object it writes."""

    def get_default_settings(self):
        return {
            **super().get_default_settings(),
            "object_lock_mode": "COMPLIANCE",
            "object_lock_retention_days": 400,
        }

    def get_object_parameters(self, name):
        params = super().get_object_parameters(name)
        params["ObjectLockMode"] = self.object_lock_mode
        params["ObjectLockRetainUntilDate"] = timezone.now() + timedelta(
            days=int(self.object_lock_retention_days)
        )
        return params
