from django.db import models


class Tier(models.IntegerChoices):
    TIER_1 = 1, "Tier 1 (critical)"
    TIER_2 = 2, "Tier 2 (important)"
    TIER_3 = 3, "Tier 3 (standard)"
    TIER_4 = 4, "Tier 4 (low)"


class DataClassification(models.TextChoices):
    PUBLIC = "public", "Public"
    INTERNAL = "internal", "Internal"
    CONFIDENTIAL = "confidential", "Confidential"
    RESTRICTED = "restricted", "Restricted (personal data)"
    PCI = "pci", "PCI cardholder data"


DEFAULT_ENVIRONMENTS = ["dev", "staging", "prod"]
