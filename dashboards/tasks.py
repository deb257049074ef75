"""Scheduled dashboard work (thin: the numbers live in dashboards.portfolio)."""

from celery import shared_task

from dashboards.portfolio import summary_refresh_all


@shared_task(name="dashboards.tasks.refresh_portfolio_summary")
def refresh_portfolio_summary() -> dict:
    """Keep the portfolio dashboard's summary warm (Celery beat, every 4 minutes: the cached
    summary lives 5). Needs a cache shared with the web processes (CACHE_URL)."""
    data = summary_refresh_all()
    return {"services": data["service_count"], "computed_at": data["computed_at"].isoformat()}
