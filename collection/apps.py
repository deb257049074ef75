from django.apps import AppConfig

# Every 15 minutes, start incremental runs for targets whose collection interval elapsed.
BEAT_ENTRY = {
    "collection-schedule-due-runs": {
        "task": "collection.schedule_due_runs",
        "schedule": 15 * 60,
    }
}


class CollectionConfig(AppConfig):
    name = "collection"

    def ready(self):
        from portal.celery import app

        for name, entry in BEAT_ENTRY.items():
            app.conf.beat_schedule.setdefault(name, entry)
