"""Celery tasks: thin, take ids, safe to run twice (see collection.pipeline)."""

import uuid

from portal.celery import app


def _region_dead_lettered(task, args, kwargs, deliveries):
    from collection.pipeline import region_dead_lettered

    region_dead_lettered(args[0], deliveries)


def _batch_dead_lettered(task, args, kwargs, deliveries):
    from collection.pipeline import batch_dead_lettered

    batch_dead_lettered(args[0], deliveries)


def _claimant(kind: str, task) -> str:
    """The task's id: the same for a redelivered copy of the message, so it takes over the
    batches its killed predecessor had claimed."""
    return f"{kind}:{task.request.id or uuid.uuid4()}"


# on_dead_letter: a message that killed its worker max_deliveries times (portal.deadletter).
@app.task(name="collection.collect_region", on_dead_letter=_region_dead_lettered)
def collect_region(region_run_id: int) -> None:
    from collection.pipeline import region_collect

    region_collect(region_run_id, claimant=_claimant("region", collect_region))


@app.task(name="collection.collect_batch", on_dead_letter=_batch_dead_lettered)
def collect_batch(batch_id: int) -> None:
    from collection.pipeline import batch_collect

    batch_collect(batch_id, claimant=_claimant("batch", collect_batch))


@app.task(name="collection.schedule_due_runs")
def schedule_due_runs() -> int:
    from collection.services import collection_schedule_due

    return len(collection_schedule_due())
