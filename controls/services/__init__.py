"""Writes to the control catalog. Loading is the only write: loaded versions are immutable."""

from controls.services.loader import CatalogError, LoadResult, Problem, catalog_load, read_catalog

__all__ = ["CatalogError", "LoadResult", "Problem", "catalog_load", "read_catalog"]
