"""Every periodic job Celery beat sends names a task a worker has registered: a renamed or
unimported task would otherwise be dropped by the worker as unknown, silently."""

from portal.celery import app


def test_every_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule
    expected = {
        "worker-heartbeat",
        "audit-checkpoint",
        "reviews-expire-due",
        "notifications-scan-expiring",
        "gate-purge-jti",
        "dashboard-summary",
        "collection-schedule-due-runs",
    }
    assert expected <= set(schedule)
    unknown = {name: e["task"] for name, e in schedule.items() if e["task"] not in app.tasks}
    assert unknown == {}
    assert all(float(e["schedule"]) > 0 for e in schedule.values())
