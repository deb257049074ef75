"""Who is acting, and from where: passed to every service so it can audit the action."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from audit.choices import ActorType
from portal.logging import request_id_var
from portal.middleware import client_ip

if TYPE_CHECKING:
    from accounts.models import User


@dataclass(frozen=True)
class Actor:
    type: str
    label: str
    user: User | None = None
    request_id: str = ""
    source_ip: str | None = None
    user_agent: str = ""
    # e.g. the API token id or CI claims (repository, run id): never a secret.
    details: dict = field(default_factory=dict)

    @classmethod
    def for_user(cls, user: User, **kwargs) -> Actor:
        kwargs.setdefault("request_id", request_id_var.get())
        return cls(type=ActorType.USER, label=user.get_username(), user=user, **kwargs)

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(type=ActorType.SYSTEM, label=label, request_id=request_id_var.get())

    @classmethod
    def api_token(cls, label: str, *, user: User | None = None, request=None, **details) -> Actor:
        """A caller authenticated with an API token: ``label`` names the token (never its
        secret); ``details`` e.g. token_id=..., scopes=[...]."""
        return cls._machine(ActorType.API_TOKEN, label, user=user, request=request, **details)

    @classmethod
    def ci(cls, label: str, *, request=None, **details) -> Actor:
        """A CI identity (e.g. GitHub OIDC ``repo:acme/x:ref:refs/heads/main``); ``details``
        e.g. repository=..., run_id=..., sha=...: claims, never the token."""
        return cls._machine(ActorType.CI, label, request=request, **details)

    @classmethod
    def _machine(cls, type_: str, label: str, *, user=None, request=None, **details) -> Actor:
        common = {"request_id": request_id_var.get()}
        if request is not None:
            common = {
                "request_id": getattr(request, "request_id", "") or request_id_var.get(),
                "source_ip": client_ip(request),
                "user_agent": request.META.get("HTTP_USER_AGENT", "")[:512],
            }
        return cls(type=type_, label=label, user=user, details=details, **common)

    @classmethod
    def from_request(cls, request, *, user: User | None = None) -> Actor:
        """The actor of an HTML or API request (a request.actor set by API auth wins).

        ``user`` names the user explicitly where request.user is not (yet) set, e.g. in a
        user_logged_in signal handler."""
        preset = getattr(request, "actor", None)
        if preset is not None:
            return preset
        common = {
            "request_id": getattr(request, "request_id", "") or request_id_var.get(),
            "source_ip": client_ip(request),
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:512],
        }
        user = user or getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return cls(type=ActorType.USER, label=user.get_username(), user=user, **common)
        return cls(type=ActorType.ANONYMOUS, label="anonymous", **common)
