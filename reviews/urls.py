from django.urls import path

from reviews import views

app_name = "reviews"
urlpatterns = [
    path("", views.review_list, name="list"),
    path("queue/", views.review_queue, name="queue"),
    path("service/<slug:slug>/", views.service_reviews, name="service_reviews"),
    path("service/<slug:slug>/open/", views.review_open, name="open"),
    path("service/<slug:slug>/waivers/new/", views.waiver_request, name="waiver_request"),
    path("<int:pk>/", views.review_detail, name="detail"),
    path("<int:pk>/comment/", views.review_comment, name="comment"),
    path("<int:pk>/submit/", views.review_submit, name="submit"),
    path("<int:pk>/request-changes/", views.review_request_changes, name="request_changes"),
    path("<int:pk>/signoff/", views.review_signoff, name="signoff"),
    path("<int:pk>/revoke/", views.review_revoke, name="revoke"),
    path("<int:pk>/reopen/", views.review_reopen, name="reopen"),
    path("<int:pk>/items/<int:item_pk>/", views.item_detail, name="item"),
    path("<int:pk>/items/<int:item_pk>/outcome/", views.item_update, name="item_update"),
    path("<int:pk>/items/<int:item_pk>/upload/", views.item_upload, name="item_upload"),
    path("<int:pk>/items/<int:item_pk>/link/", views.item_link, name="item_link"),
    path("<int:pk>/items/<int:item_pk>/pick/", views.item_pick, name="item_pick"),
    path("<int:pk>/items/<int:item_pk>/pick-check/", views.item_pick_check, name="item_pick_check"),
    path(
        "<int:pk>/items/<int:item_pk>/evidence/<int:evidence_pk>/detach/",
        views.item_detach,
        name="item_detach",
    ),
    path("<int:pk>/items/<int:item_pk>/comment/", views.item_comment, name="item_comment"),
    path("<int:pk>/items/<int:item_pk>/inline/", views.item_inline, name="item_inline"),
    path(
        "<int:pk>/items/<int:item_pk>/evidence/<int:evidence_pk>/preview/",
        views.evidence_preview,
        name="evidence_preview",
    ),
    path("<int:pk>/items/<int:item_pk>/verdict/", views.item_verdict, name="item_verdict"),
    path("waivers/", views.waiver_list, name="waivers"),
    path("waivers/<int:pk>/", views.waiver_detail, name="waiver_detail"),
    path("waivers/<int:pk>/decide/", views.waiver_decide, name="waiver_decide"),
    path("waivers/<int:pk>/revoke/", views.waiver_revoke, name="waiver_revoke"),
]
