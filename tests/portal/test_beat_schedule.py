"""Every periodic job Celery beat sends names a task a worker has registered: a renamed or
unimported task would otherwise be dropped by the worker as unknown, silently. Checked in a
fresh process, as a worker starts (the test process's registry depends on what earlier tests
imported)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json
import django
django.setup()
from portal.celery import app
app.loader.import_default_modules()
beat = app.conf.beat_schedule
print(json.dumps({
    "registered": sorted(app.tasks),
    "schedule": {name: [e["task"], float(e["schedule"])] for name, e in beat.items()},
}))
"""


def test_every_beat_entry_names_a_registered_task():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings_test"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    found = json.loads(out.stdout.strip().splitlines()[-1])
    schedule, registered = found["schedule"], set(found["registered"])
    assert {
        "worker-heartbeat",
        "audit-checkpoint",
        "reviews-expire-due",
        "notifications-scan-expiring",
        "gate-purge-jti",
        "dashboard-summary",
        "collection-schedule-due-runs",
    } <= set(schedule)
    unknown = {name: task for name, (task, _) in schedule.items() if task not in registered}
    assert unknown == {}
    assert all(every > 0 for _, every in schedule.values())
