"""Writes to users, roles and teams."""

from __future__ import annotations

from django.db import transaction

from accounts.choices import MembershipRole
from accounts.models import Membership, RoleGrant, Team, User


@transaction.atomic
def user_sync_roles_and_teams(*, user: User, roles: set[str], team_slugs: set[str]) -> None:
    """Make the user's roles and team memberships match the identity provider's groups.

    Teams named by the IdP must already exist in the portal; unknown ones are ignored so an
    IdP group cannot create teams.
    """
    RoleGrant.objects.filter(user=user).exclude(role__in=roles).delete()
    for role in roles:
        RoleGrant.objects.get_or_create(user=user, role=role)
    teams = Team.objects.filter(slug__in=team_slugs)
    Membership.objects.filter(user=user).exclude(team__in=teams).delete()
    for team in teams:
        Membership.objects.get_or_create(
            user=user, team=team, defaults={"role": MembershipRole.MEMBER}
        )
    user.__dict__.pop("roles", None)
    user.__dict__.pop("team_ids", None)
