"""Reuse the review lifecycle fixtures (a small catalog, draft → submitted → approved)."""

from tests.reviews.conftest import approved, catalog, draft, submitted  # noqa: F401
