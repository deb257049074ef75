"""The review lifecycle fixtures (small catalog, draft → submitted → approved)."""

from tests.reviews.conftest import approved, catalog, draft, submitted  # noqa: F401
