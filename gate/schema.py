"""OpenAPI descriptions of the gate's authentication schemes (drf-spectacular extensions)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "gate.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "prr_<prefix>_<secret>",
            "description": "A portal API token (scoped, expiring, revocable).",
        }


class GitHubOidcScheme(OpenApiAuthenticationExtension):
    target_class = "gate.authentication.GitHubOidcAuthentication"
    name = "githubOidc"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": (
                "A GitHub Actions OIDC token whose audience is the portal and whose repository "
                "is registered on the service."
            ),
        }
