from django.urls import path

from dashboards import views

app_name = "dashboards"
urlpatterns = [
    path("dashboard/", views.portfolio_dashboard, name="portfolio"),
    path("search/", views.search, name="search"),
]
