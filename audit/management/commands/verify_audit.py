"""``manage.py verify_audit``: recompute the audit hash chain and check it against the latest
signed checkpoint. Exits 1 naming the first bad event when anything is wrong."""

from django.core.management.base import BaseCommand, CommandError

from audit.services import audit_checkpoint_latest, audit_verify


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain and its latest signed checkpoint."

    def add_arguments(self, parser):
        parser.add_argument(
            "--from-seq", type=int, default=1, help="start at this event (default: the first)"
        )
        parser.add_argument(
            "--from-checkpoint",
            action="store_true",
            help="start at the latest checkpoint (quick: only what was added since)",
        )
        parser.add_argument(
            "--no-checkpoint",
            action="store_true",
            help="do not compare with the signed checkpoint (cannot detect a cut-off tail)",
        )

    def handle(self, *args, from_seq, from_checkpoint, no_checkpoint, **options):
        checkpoint = None if no_checkpoint else audit_checkpoint_latest()
        if checkpoint is None and not no_checkpoint:
            self.stderr.write(
                "warning: no signed checkpoint found; a cut-off tail cannot be detected"
            )
        if from_checkpoint and checkpoint is not None:
            from_seq = max(checkpoint.seq, 1)
        result = audit_verify(start_seq=from_seq, checkpoint=checkpoint)
        if checkpoint is not None:
            self.stdout.write(
                f"checkpoint: #{checkpoint.seq} {checkpoint.hash} signed "
                f"{checkpoint.time:%Y-%m-%d %H:%M:%S} UTC ({checkpoint.name})"
            )
        rate = result.checked / result.seconds if result.seconds else 0
        self.stdout.write(
            f"checked {result.checked} events from #{from_seq} in {result.seconds:.2f}s "
            f"({rate:,.0f} events/s)"
        )
        if not result.ok:
            raise CommandError(str(result), returncode=1)
        self.stdout.write(self.style.SUCCESS(f"{result} ({result.last_hash})"))
