"""``manage.py audit_checkpoint``: sign and store the audit chain head now (beat does it every
15 minutes)."""

from django.core.management.base import BaseCommand, CommandError

from audit.services import AuditChainBroken, audit_checkpoint_write


class Command(BaseCommand):
    help = "Verify the audit chain since the last checkpoint, then sign and store its head."

    def handle(self, *args, **options):
        try:
            checkpoint = audit_checkpoint_write()
        except AuditChainBroken as exc:
            raise CommandError(exc.message, returncode=1) from None
        summary = f"checkpoint #{checkpoint.seq} {checkpoint.hash} -> {checkpoint.name}"
        self.stdout.write(self.style.SUCCESS(summary))
