"""Who an API request comes from when it is not a signed-in browser session.

``request.auth`` is a ``Caller`` for API tokens and CI identities (None for sessions): its
scopes and the services it is bound to narrow what the request may do. ``request.user`` is the
token's user, or a ``ServicePrincipal`` for service tokens and CI: an authenticated identity
with no roles and no team, so nothing user-scoped ever leaks to it.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from services.models import Service
from services.selectors import service_list_for


class Caller:
    """The credential behind an API request: its scopes and the services it is bound to."""

    def __init__(
        self,
        *,
        kind: str,  # "token" or "ci"
        scopes: frozenset[str],
        service_ids: frozenset[int] | None = None,
        token=None,
        claims: dict | None = None,
        refused: dict[str, str] | None = None,
        token_bound: bool = False,
    ):
        self.kind = kind
        self.scopes = scopes
        self.token = token
        self.claims = claims or {}
        # Services the identity's repository matched but whose CI pinning refused it: slug → why.
        self.refused = refused or {}
        # A token bound to services (``token_bound``) reads their ids only when asked:
        # querysets narrow with ``service_filter()``, a subquery, so most requests never do.
        self._token_bound = token_bound
        self._service_ids = service_ids

    @property
    def service_ids(self) -> frozenset[int] | None:
        """The services this caller is narrowed to; None: not narrowed beyond the user's own
        visibility."""
        if self._token_bound and self._service_ids is None:
            ids = self._token_services().values_list("service_id", flat=True)
            self._service_ids = frozenset(ids)
        return self._service_ids

    def _token_services(self) -> QuerySet:
        through = Service.api_tokens.through
        return through.objects.filter(apitoken_id=self.token.pk).values("service_id")

    def service_filter(self) -> Q | None:
        """The condition on ``Service`` that narrows this caller (None: not narrowed)."""
        if self._token_bound and self._service_ids is None:
            return Q(pk__in=self._token_services())
        if self._service_ids is None:
            return None
        return Q(pk__in=self._service_ids)

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
    narrowing = caller.service_filter() if caller is not None else None
    if isinstance(request.user, ServicePrincipal):
        return Service.objects.select_related("team").filter(narrowing or Q(pk__in=()))
    qs = service_list_for(request.user)
    if narrowing is not None:
        qs = qs.filter(narrowing)
    return qs
