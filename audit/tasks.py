"""Scheduled audit work (thin: the logic lives in audit.services)."""

from celery import shared_task

from audit.services import audit_checkpoint_write


@shared_task(name="audit.tasks.audit_checkpoint")
def audit_checkpoint() -> dict:
    """Sign the chain head (Celery beat, every 15 minutes). Fails loudly on a broken chain."""
    checkpoint = audit_checkpoint_write()
    return {"seq": checkpoint.seq, "hash": checkpoint.hash, "name": checkpoint.name}
