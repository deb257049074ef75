from django.db import models


class Role(models.TextChoices):
    """Portal-wide roles. Service ownership is per team (see MembershipRole)."""

    SRE = "sre", "SRE reviewer"
    SECURITY = "security", "Security reviewer"
    RISK = "risk", "Risk reviewer"
    AUDITOR = "auditor", "Auditor"
    PLATFORM_ADMIN = "platform_admin", "Platform admin"


REVIEWER_ROLES = frozenset({Role.SRE, Role.SECURITY, Role.RISK})


class MembershipRole(models.TextChoices):
    OWNER = "owner", "Service owner"
    MEMBER = "member", "Team member"
