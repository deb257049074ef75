"""Export jobs run on Celery workers (thin: the work is exports.services.export_job_run)."""

from celery import shared_task

from exports import services

# A 1 GB bundle takes minutes: longer limits than the portal's default for this task only.
SOFT_LIMIT = 3 * 3600


@shared_task(name="exports.run_job", soft_time_limit=SOFT_LIMIT, time_limit=SOFT_LIMIT + 120)
def run_export_job(job_id: int) -> dict:
    """Produce the file of one export job. Idempotent: a finished job is left alone, a
    redelivered one restarts and only its latest attempt records a result."""
    job = services.export_job_run(job_id=job_id)
    return {"job": job_id, "status": job.status if job else "missing"}
