"""Rate limits per caller: per API token, per CI repository, per user, per address."""

from rest_framework.throttling import SimpleRateThrottle

from gate.principals import caller_of


class CallerRateThrottle(SimpleRateThrottle):
    scope = "api"

    def get_cache_key(self, request, view):
        caller = caller_of(request)
        if caller is not None and caller.token is not None:
            ident = f"token:{caller.token.pk}"
        elif caller is not None and caller.kind == "ci":
            claims = caller.claims
            ident = f"ci:{claims.get('repository_id') or claims.get('repository')}"
        elif getattr(request.user, "pk", None):
            ident = f"user:{request.user.pk}"
        else:
            ident = f"addr:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class GateRateThrottle(CallerRateThrottle):
    """The gate has its own budget, so a busy pipeline's reads never starve its gate calls."""

    scope = "gate"
