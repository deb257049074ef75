from celery import shared_task

from reviews import workflow


@shared_task(name="reviews.expire_due")
def expire_due() -> dict:
    """Record expired approvals and waivers (reads already treat them as expired)."""
    return {
        "reviews": workflow.review_expire_due(),
        "waivers": workflow.waiver_expire_due(),
    }
