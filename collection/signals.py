"""``run_finished(sender=CollectionRun, run=run)``: sent once, after a run's final status is
committed (drift detection listens)."""

from django.dispatch import Signal

run_finished = Signal()
