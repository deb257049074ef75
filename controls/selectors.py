"""Reads over the control catalog. Every authenticated role may read the whole catalog."""

from django.db.models import Prefetch, QuerySet

from controls.models import CatalogVersion, Control, ControlMapping, Framework, Requirement
from portal.errors import DomainError


def current_catalog() -> CatalogVersion:
    """The catalog version new reviews are opened against."""
    catalog = CatalogVersion.objects.filter(is_current=True).first()
    if catalog is None:
        raise DomainError(
            "No control catalog is loaded. Run `manage.py load_catalog`.", code="not_found"
        )
    return catalog


def catalog_by_version(version: str | None) -> CatalogVersion:
    """A catalog version by its version string, or the current one when ``version`` is empty."""
    if not version:
        return current_catalog()
    catalog = CatalogVersion.objects.filter(version=version).first()
    if catalog is None:
        raise DomainError(f"Catalog version {version} is not loaded.", code="not_found")
    return catalog


def control_queryset(catalog_version: CatalogVersion) -> QuerySet[Control]:
    """Controls of one version with everything pages and exports show, in a fixed number
    of queries."""
    mappings = ControlMapping.objects.select_related("requirement__framework").order_by(
        "requirement__framework__position", "requirement__position"
    )
    return (
        Control.objects.filter(catalog_version=catalog_version)
        .select_related("catalog_version")
        .prefetch_related(Prefetch("mappings", queryset=mappings), "runbooks")
        .order_by("position", "code")
    )


def applicable_controls(catalog_version: CatalogVersion, profile: dict) -> list[Control]:
    """The controls of ``catalog_version`` whose applicability rule holds for ``profile``
    (a ``services.Service.profile()`` dict), in catalog order."""
    controls = Control.objects.filter(catalog_version=catalog_version).order_by("position", "code")
    return [control for control in controls if control.applies_to(profile)]


def framework_queryset(catalog_version: CatalogVersion) -> QuerySet[Framework]:
    return Framework.objects.filter(catalog_version=catalog_version).order_by("position", "code")


def requirements_with_controls(framework: Framework) -> QuerySet[Requirement]:
    """A framework's requirements with their mapped controls (coverage view)."""
    return (
        Requirement.objects.filter(framework=framework)
        .prefetch_related(
            Prefetch("controls", queryset=Control.objects.order_by("position", "code"))
        )
        .order_by("position", "ref")
    )
