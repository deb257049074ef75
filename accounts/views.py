from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.choices import Role
from services.selectors import service_list_for


@login_required
def home(request):
    """Each role's landing page: what the signed-in person can act on."""
    user = request.user
    services = service_list_for(user)
    context = {
        "my_services": services.filter(team_id__in=user.team_ids).order_by("name")[:20],
        "service_count": services.count(),
        "memberships": user.memberships.select_related("team"),
        "role_labels": [label for value, label in Role.choices if value in user.roles],
    }
    return render(request, "accounts/home.html", context)
