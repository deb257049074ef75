"""API permissions: token scopes (every view, through the default permission classes) and the
role checks a few resources need."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from gate.choices import Scope
from gate.principals import caller_of


def required_scope(request, view) -> str:
    """The scope a view needs: ``view.required_scope`` (a scope, or a dict by HTTP method),
    else read for safe methods and write otherwise."""
    declared = getattr(view, "required_scope", None)
    if isinstance(declared, dict):
        declared = declared.get(request.method)
    if declared:
        return declared
    return Scope.READ if request.method in SAFE_METHODS else Scope.WRITE


class TokenScope(BasePermission):
    """Tokens and CI identities act only within their scopes; sessions are not scoped."""

    def has_permission(self, request, view):
        caller = caller_of(request)
        if caller is None:
            return True
        scope = required_scope(request, view)
        if caller.allows(scope):
            return True
        self.message = f"This credential lacks the '{scope}' scope."
        return False


class IsAuditorOrAdmin(BasePermission):
    message = "Only auditors and platform admins may read this."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and (user.is_auditor or user.is_platform_admin))


class IsPerson(BasePermission):
    """A signed-in person or a token acting as one (not a service token or CI identity)."""

    message = "A service token or CI identity cannot do this."

    def has_permission(self, request, view):
        return bool(getattr(request.user, "pk", None))
