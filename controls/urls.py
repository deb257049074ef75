from django.urls import path

from controls import views

app_name = "controls"
urlpatterns = [
    path("", views.control_list, name="list"),
    path("controls/<str:code>/", views.control_detail, name="detail"),
    path("frameworks/", views.framework_list, name="frameworks"),
    path("frameworks/<str:code>/", views.framework_detail, name="framework"),
    path("runbooks/", views.runbook_list, name="runbooks"),
    path("runbooks/<slug:slug>/", views.runbook_detail, name="runbook"),
    path("versions/", views.version_list, name="versions"),
    path("versions/diff/", views.version_diff, name="diff"),
    path("guardrails/<path:path>", views.guardrail_file, name="guardrail"),
    path("docs/", views.docs_index, name="docs"),
    path("docs/<slug:name>/", views.doc_view, name="doc"),
    path("docs/<slug:name>.<str:fmt>", views.doc_download, name="doc_download"),
]
