"""Portfolio dashboard and search pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from dashboards import charts, portfolio, readiness
from dashboards.search import KINDS
from dashboards.search import search as run_search
from services.choices import Tier
from services.selectors import service_list_for

HEATMAP_PAGE = 25
# The team chart and table show this many teams, worst first (?teams=all shows them all).
TEAM_CHART_LIMIT = 10


def _filters(request):
    team = request.GET.get("team", "")
    tier = request.GET.get("tier", "")
    qs = service_list_for(request.user)
    if team:
        qs = qs.filter(team__slug=team)
    if tier in {str(t) for t in Tier.values}:
        qs = qs.filter(tier=int(tier))
    else:
        tier = ""
    return qs, team, tier


@login_required
def portfolio_dashboard(request):
    services_qs, team, tier = _filters(request)
    data = portfolio.summary_cached(
        request.user, services_qs, scope=portfolio.summary_scope(request.user, team=team, tier=tier)
    )
    labels = readiness.READINESS_LABELS
    fws = portfolio.frameworks(portfolio.current_catalog_or_none())
    page = Paginator(services_qs.order_by("team__name", "name", "pk"), HEATMAP_PAGE).get_page(
        request.GET.get("page")
    )
    page.object_list = portfolio.heatmap_rows(page.object_list, fws)
    chart_teams = data["by_team"]
    if request.GET.get("teams") != "all":
        chart_teams = portfolio.worst_first(chart_teams, TEAM_CHART_LIMIT)
    all_teams = request.GET.copy()
    all_teams.pop("page", None)
    all_teams["teams"] = "all"
    context = {
        **data,
        "team": team,
        "tier": tier,
        "teams": portfolio.team_choices(request.user),
        "tiers": Tier.choices,
        "frameworks": fws,
        "page": page,
        "cache_minutes": portfolio.SUMMARY_CACHE_SECONDS // 60,
        "chart_teams": chart_teams,
        "all_teams_query": all_teams.urlencode(),
        "team_chart": charts.stacked_bars(chart_teams, labels),
        "tier_chart": charts.stacked_bars(data["by_tier"], labels),
        "framework_chart": charts.simple_bars(
            [(fw.code, cell.percent or 0) for fw, cell in data["framework_totals"]],
            key="compliance",
            maximum=100,
        ),
        "trend_chart": charts.grouped_columns(
            [{**p, "label": p["week"].strftime("%d %b")} for p in data["trend"]],
            [("approved", "Approved"), ("expired", "Expired")],
            "label",
        ),
        "failing_chart": charts.simple_bars(
            [(r["code"], r["services"]) for r in data["failing"]], key="failing"
        ),
    }
    return render(request, "dashboards/portfolio.html", context)


@login_required
def search(request):
    q = request.GET.get("q", "").strip()[:100]
    kind = request.GET.get("kind", "")
    if kind not in dict(KINDS):
        kind = ""
    results = {}
    page = None
    if q:
        found = run_search(request.user, q)
        if kind:
            page = Paginator(found[kind], 25).get_page(request.GET.get("page"))
        else:
            for key, label in KINDS:
                qs = found[key]
                results[key] = {"label": label, "items": list(qs[:10]), "count": qs.count()}
    return render(
        request,
        "dashboards/search.html",
        {"q": q, "kind": kind, "kinds": KINDS, "results": results, "page": page},
    )
