# The API tests share the gate tests' fixtures: a fresh cache, the catalog, the payments
# service bound to its repository, and a local OIDC issuer.
from tests.gate.conftest import _fresh_cache, catalog, issuer, service  # noqa: F401
