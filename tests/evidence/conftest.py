from tests.reviews.conftest import catalog, draft  # noqa: F401  (review fixtures reused)
