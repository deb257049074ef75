"""OIDC single sign-on: users keyed by the IdP subject, roles and teams from the groups claim."""

from django.conf import settings
from django.db import transaction
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts.choices import Role
from accounts.services import user_sync_roles_and_teams


class PortalOIDCBackend(OIDCAuthenticationBackend):
    def filter_users_by_claims(self, claims):
        subject = claims.get("sub")
        if not subject:
            return self.UserModel.objects.none()
        return self.UserModel.objects.filter(oidc_subject=subject)

    def _sync(self, user, claims):
        groups = claims.get(settings.OIDC_GROUPS_CLAIM) or []
        if isinstance(groups, str):
            groups = [groups]
        role_map = settings.OIDC_GROUP_ROLE_MAP
        roles = {role_map[g] for g in groups if g in role_map and role_map[g] in Role.values}
        prefix = settings.OIDC_TEAM_GROUP_PREFIX
        teams = {g[len(prefix) :] for g in groups if prefix and g.startswith(prefix)}
        user_sync_roles_and_teams(user=user, roles=roles, team_slugs=teams)

    @transaction.atomic
    def create_user(self, claims):
        username = claims.get("preferred_username") or claims.get("email") or claims["sub"]
        if self.UserModel.objects.filter(username=username).exists():
            username = f"{username}-{claims['sub'][:8]}"
        user = self.UserModel.objects.create_user(
            username=username[:150],
            email=claims.get("email", ""),
            first_name=claims.get("given_name", "")[:150],
            last_name=claims.get("family_name", "")[:150],
            oidc_subject=claims["sub"],
        )
        user.set_unusable_password()
        user.save(update_fields=["password"])
        self._sync(user, claims)
        return user

    @transaction.atomic
    def update_user(self, user, claims):
        user.email = claims.get("email", user.email)
        user.save(update_fields=["email"])
        self._sync(user, claims)
        return user
