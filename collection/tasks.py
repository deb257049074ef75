"""Celery tasks: thin, take ids, safe to run twice (see collection.pipeline)."""

from portal.celery import app


def _region_dead_lettered(task, args, kwargs, deliveries):
    from collection.pipeline import region_dead_lettered

    region_dead_lettered(args[0], deliveries)


def _batch_dead_lettered(task, args, kwargs, deliveries):
    from collection.pipeline import batch_dead_lettered

    batch_dead_lettered(args[0], deliveries)


# on_dead_letter: a message that killed its worker max_deliveries times (portal.deadletter).
@app.task(name="collection.collect_region", on_dead_letter=_region_dead_lettered)
def collect_region(region_run_id: int) -> None:
    from collection.pipeline import region_collect

    region_collect(region_run_id)


@app.task(name="collection.collect_batch", on_dead_letter=_batch_dead_lettered)
def collect_batch(batch_id: int) -> None:
    from collection.pipeline import batch_collect

    batch_collect(batch_id)


@app.task(name="collection.schedule_due_runs")
def schedule_due_runs() -> int:
    from collection.services import collection_schedule_due

    return len(collection_schedule_due())
