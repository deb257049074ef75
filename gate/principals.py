"""Who an API request comes from when it is not a signed-in browser session.

``request.auth`` is a ``Caller`` for API tokens and CI identities (None for sessions): its
scopes and the services it is bound to narrow what the request may do. ``request.user`` is the
token's user, or a ``ServicePrincipal`` for service tokens and CI: an authenticated identity
with no roles and no team, so nothing user-scoped ever leaks to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet

from services.models import Service
from services.selectors import service_list_for


@dataclass
class Caller:
    kind: str  # "token" or "ci"
    scopes: frozenset[str]
    # None: not narrowed beyond the user's own visibility.
    service_ids: frozenset[int] | None
    token: object | None = None
    claims: dict = field(default_factory=dict)
    # Services the identity's repository matched but whose CI pinning refused it: slug → why.
    refused: dict[str, str] = field(default_factory=dict)

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


class ServicePrincipal:
    """``request.user`` for callers that are not a person (service tokens, CI identities)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None
    roles = frozenset()
    reviewer_roles = frozenset()
    team_ids = frozenset()
    is_reviewer = False
    is_auditor = False
    is_platform_admin = False
    sees_all_services = False

    def __init__(self, label: str):
        self.label = label
        self.username = label

    def __str__(self):
        return self.label

    def get_username(self) -> str:
        return self.label

    def has_role(self, role: str) -> bool:
        return False

    def has_perm(self, *args, **kwargs) -> bool:
        return False


def caller_of(request) -> Caller | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, Caller) else None


def is_person(request) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and getattr(user, "pk", None))


def visible_services(request) -> QuerySet[Service]:
    """The services this request may see: the user's (``service_list_for``), narrowed to the
    services a token or CI identity is bound to."""
    caller = caller_of(request)
    if isinstance(request.user, ServicePrincipal):
        ids = caller.service_ids if caller and caller.service_ids is not None else frozenset()
        return Service.objects.select_related("team").filter(pk__in=ids)
    qs = service_list_for(request.user)
    if caller is not None and caller.service_ids is not None:
        qs = qs.filter(pk__in=caller.service_ids)
    return qs
