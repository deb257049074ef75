from django.conf import settings


def portal(request):
    return {"oidc_enabled": settings.OIDC_ENABLED, "portal_debug": settings.DEBUG}
