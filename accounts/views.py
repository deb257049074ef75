from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.choices import Role
from dashboards import home as home_data
from services.selectors import service_list_for


@login_required
def home(request):
    """Each role's landing page: what the signed-in person should do next."""
    user = request.user
    context = {
        "memberships": user.memberships.select_related("team"),
        "role_labels": [label for value, label in Role.choices if value in user.roles],
        "service_count": service_list_for(user).count(),
        "owner": home_data.owner_home(user) if user.team_ids else None,
        "reviewer": home_data.reviewer_home(user) if user.is_reviewer else None,
        "auditor": (
            home_data.auditor_home(user) if user.is_auditor or user.is_platform_admin else None
        ),
    }
    return render(request, "accounts/home.html", context)
