"""Celery tasks: thin, take ids, safe to run twice (see collection.pipeline)."""

from portal.celery import app


@app.task(name="collection.collect_region")
def collect_region(region_run_id: int) -> None:
    from collection.pipeline import region_collect

    region_collect(region_run_id)


@app.task(name="collection.collect_batch")
def collect_batch(batch_id: int) -> None:
    from collection.pipeline import batch_collect

    batch_collect(batch_id)


@app.task(name="collection.schedule_due_runs")
def schedule_due_runs() -> int:
    from collection.services import collection_schedule_due

    return len(collection_schedule_due())
