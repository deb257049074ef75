"""Prints how to use the running demo: the URL, the logins and what each role sees."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.management.commands.seed_demo import DEMO_PASSWORD, USERS

WHAT = {
    "owner": "service owner in Payments: registers services, opens and submits reviews",
    "teammate": "member of Payments: works reviews, cannot approve them",
    "outsider": "owner in Lending: sees only Lending's services",
    "sre": "SRE reviewer: signs off reviews",
    "security": "security reviewer: signs off tier 1 reviews",
    "risk": "risk reviewer: approves waivers",
    "auditor": "auditor: reads everything, exports reports",
    "admin": "platform admin: catalog, roles, revocations, Django admin",
}


class Command(BaseCommand):
    help = "Print the demo's URL and logins."

    def add_arguments(self, parser):
        parser.add_argument("url")

    def handle(self, *args, url, **options):
        if not settings.DEBUG:
            raise CommandError("The demo banner is for DEBUG mode only.")
        lines = [
            "",
            f"PRR Portal demo is running at {url}",
            f"Sign in with any of these users; the password is {DEMO_PASSWORD}:",
        ]
        lines += [f"  {name:<9} {WHAT[name]}" for name in USERS]
        for extra in self._extras(url):
            lines.append(extra)
        lines += ["Press Ctrl-C to stop every process the demo started.", ""]
        self.stdout.write("\n".join(lines))

    def _extras(self, url):
        """Parts that add to the banner: the gate's demo CI token and a curl call."""
        from gate.demo import banner_lines

        return banner_lines(url)
