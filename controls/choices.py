from django.db import models


class Section(models.TextChoices):
    """The sections of the PRR design, in the order the PRR document presents them."""

    NFR = "nfr", "Non-functional requirements"
    SECURITY = "security", "Security baseline"
    RUNTIME = "runtime", "Lambda runtime & reliability"
    EVENT_SOURCES = "event_sources", "Event sources & API configuration"
    DATA_PROTECTION = "data_protection", "Data protection"
    OBSERVABILITY = "observability", "Observability & operations"
    CICD = "cicd", "CI/CD controls"
    CHANGE_RELEASE = "change_release", "Change & release management"
    COST = "cost", "Cost & FinOps"
    COMPLIANCE = "compliance", "Compliance mapping"
    DISASTER_RECOVERY = "disaster_recovery", "Disaster recovery"


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


# Most severe first: used to sort controls and to pick the worst finding.
SEVERITY_RANK = {
    Severity.CRITICAL: 0,
    Severity.HIGH: 1,
    Severity.MEDIUM: 2,
    Severity.LOW: 3,
}

SECTION_ORDER = {value: index for index, value in enumerate(Section.values)}
