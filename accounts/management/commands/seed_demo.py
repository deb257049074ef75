"""Demo users, teams and services. Refuses to run unless DEBUG is on."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.choices import MembershipRole, Role
from accounts.models import Membership, RoleGrant, Team, User
from services.models import AwsTarget, Service

DEMO_PASSWORD = "prr-demo"  # noqa: S105 - demo only; the command refuses to run without DEBUG
DEMO_ACCOUNT = "123456789012"

USERS = {
    # username: (portal roles, team slug, membership role, is_superuser)
    "owner": ([], "payments", MembershipRole.OWNER, False),
    "teammate": ([], "payments", MembershipRole.MEMBER, False),
    "outsider": ([], "lending", MembershipRole.OWNER, False),
    "sre": ([Role.SRE], None, None, False),
    "security": ([Role.SECURITY], None, None, False),
    "risk": ([Role.RISK], None, None, False),
    "auditor": ([Role.AUDITOR], None, None, False),
    "admin": ([Role.PLATFORM_ADMIN], None, None, True),
}

TEAMS = {
    "payments": "Payments",
    "lending": "Lending",
}

SERVICES = [
    {
        "slug": "payments-api",
        "team": "payments",
        "name": "Payments API",
        "description": "Card payment authorisation API behind API Gateway.",
        "tier": 1,
        "data_classification": "pci",
        "repository": "acme-bank/payments-api",
        "uses_api_gateway": True,
        "internet_facing": True,
        "uses_async_invocation": True,
        "target_prefix": "payments-",
    },
    {
        "slug": "payments-ledger",
        "team": "payments",
        "name": "Payments Ledger",
        "description": "Consumes settlement events from SQS and writes the ledger.",
        "tier": 2,
        "data_classification": "confidential",
        "repository": "acme-bank/payments-ledger",
        "uses_event_source_mapping": True,
        "target_prefix": None,
    },
    {
        "slug": "loan-engine",
        "team": "lending",
        "name": "Loan Engine",
        "description": "Loan decisioning workflow.",
        "tier": 2,
        "data_classification": "restricted",
        "repository": "acme-bank/loan-engine",
        "uses_async_invocation": True,
        "target_prefix": "loans-",
    },
]


class Command(BaseCommand):
    help = "Create demo users (password prr-demo), teams and services. DEBUG only."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo creates users with a known password: DEBUG must be on.")
        with transaction.atomic():
            teams = {
                slug: Team.objects.get_or_create(slug=slug, defaults={"name": name})[0]
                for slug, name in TEAMS.items()
            }
            for username, (roles, team_slug, membership_role, superuser) in USERS.items():
                user, created = User.objects.get_or_create(
                    username=username,
                    defaults={"email": f"{username}@demo.example", "first_name": username.title()},
                )
                if created:
                    user.set_password(DEMO_PASSWORD)
                    user.is_staff = user.is_superuser = superuser
                    user.save()
                for role in roles:
                    RoleGrant.objects.get_or_create(user=user, role=role)
                if team_slug:
                    Membership.objects.get_or_create(
                        user=user, team=teams[team_slug], defaults={"role": membership_role}
                    )
            owner = User.objects.get(username="owner")
            for spec in SERVICES:
                spec = dict(spec)
                prefix = spec.pop("target_prefix")
                team = teams[spec.pop("team")]
                service, _ = Service.objects.get_or_create(
                    slug=spec["slug"],
                    defaults={
                        **spec,
                        "team": team,
                        "environments": ["staging", "prod"],
                        "created_by": owner,
                    },
                )
                if prefix:
                    AwsTarget.objects.get_or_create(
                        service=service,
                        account_id=DEMO_ACCOUNT,
                        defaults={
                            "regions": ["us-east-1"],
                            "role_arn": f"arn:aws:iam::{DEMO_ACCOUNT}:role/prr-collector",
                            "function_name_prefix": prefix,
                        },
                    )
        self.stdout.write(
            f"Demo data ready: {len(USERS)} users (password {DEMO_PASSWORD}), "
            f"{len(TEAMS)} teams, {len(SERVICES)} services."
        )
