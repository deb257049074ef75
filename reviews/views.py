"""HTML pages of reviews and waivers. Thin: parse a form, call one workflow function, show
its message. Refusals are audited by the workflow itself."""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.choices import Role
from accounts.models import Team
from audit.context import Actor
from audit.selectors import events_for_object
from controls.selectors import applicable_controls, current_catalog
from evidence import services as evidence_services
from evidence.selectors import evidence_for_service
from exports.selectors import may_export_service
from portal.errors import DomainError
from reviews import conf, forms, readiness, selectors, workflow
from reviews.choices import ItemOutcome, ReviewStatus, WaiverStatus
from reviews.models import ItemComment, ReviewItem, Waiver
from services.choices import Tier
from services.selectors import service_list_for


def _call(request, fn, success: str | None = None, **kwargs):
    """Run one workflow function; report success or the refusal (with any missing list)."""
    try:
        result = fn(actor=Actor.from_request(request), **kwargs)
    except DomainError as exc:
        messages.error(request, exc.message)
        return None
    if success:
        messages.success(request, success)
    return result if result is not None else True


def _call_with_form(request, form, fn, success: str, fields=(), **kwargs):
    """``_call`` with a posted form: run ``fn`` with ``kwargs``, the form's ``fields`` (same
    names) and, from a versioned form, the version the page showed as ``expected_version``.
    An invalid form runs nothing: its errors are shown instead."""
    if not form.is_valid():
        _form_errors(request, form)
        return None
    kwargs.update({name: form.cleaned_data[name] for name in fields})
    if isinstance(form, forms.VersionedForm):
        kwargs["expected_version"] = _version(form)
    return _call(request, fn, success, **kwargs)


def _form_errors(request, form) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)


def _error_text(form) -> str:
    """A form's errors on one line (the inline editor shows them next to the item)."""
    return "; ".join(e for errs in form.errors.values() for e in errs)


def _visible_review(request, pk):
    return get_object_or_404(selectors.review_list_for(request.user), pk=pk)


def _visible_item(request, pk, item_pk):
    review = _visible_review(request, pk)
    item = get_object_or_404(
        ReviewItem.objects.select_related("control", "waiver"), pk=item_pk, review=review
    )
    item.review = review
    return review, item


def _version(form) -> int | None:
    return form.cleaned_data.get("version")


def _posted_version(request) -> int | None:
    """The version a plain (formless) POST carries; anything but digits counts as none."""
    version = request.POST.get("version", "")
    return int(version) if version.isdigit() else None


def _outcome_form(review, item, data=None, **kwargs):
    waivers = selectors.waivers_usable_for(review.service, item.control.code)
    return forms.ItemOutcomeForm(data, waivers=waivers, **kwargs)


# --- lists --------------------------------------------------------------------------------


@login_required
def review_list(request):
    qs = selectors.review_list_for(request.user)
    status = request.GET.get("status", "")
    if status in ReviewStatus.values:
        qs = qs.filter(status=status)
    page = Paginator(qs.order_by("-created_at", "-id"), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "reviews/review_list.html",
        {"page": page, "status": status, "statuses": ReviewStatus.choices},
    )


@login_required
def service_reviews(request, slug):
    service = get_object_or_404(service_list_for(request.user), slug=slug)
    member = service.team_id in request.user.team_ids
    return render(
        request,
        "reviews/service_reviews.html",
        {
            "service": service,
            "reviews": selectors.reviews_for_service(service),
            "waivers": selectors.waivers_for_service(service),
            "can_open": member,
            "gate": [(env, selectors.gate_review(service, env)) for env in service.environments],
        },
    )


@login_required
def review_queue(request):
    tier = request.GET.get("tier", "")
    team = request.GET.get("team", "")
    environment = request.GET.get("environment", "").strip()
    qs = selectors.reviewer_queue(
        request.user,
        tier=int(tier) if tier in {str(t) for t in Tier.values} else None,
        team=team,
        environment=environment,
    )
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "reviews/queue.html",
        {
            "page": page,
            "tier": tier,
            "team": team,
            "environment": environment,
            "tiers": Tier.choices,
            "teams": Team.objects.order_by("name"),
            "waiver_queue": selectors.waiver_queue(request.user)[:50],
            "is_reviewer": request.user.is_reviewer,
        },
    )


# --- one review ---------------------------------------------------------------------------


@login_required
def review_open(request, slug):
    service = get_object_or_404(service_list_for(request.user), slug=slug)
    form = forms.OpenReviewForm(request.POST or None, service=service)
    if request.method == "POST" and form.is_valid():
        review = _call(
            request,
            workflow.review_open,
            "Review opened.",
            service=service,
            environment=form.cleaned_data["environment"],
        )
        if review:
            return redirect(review)
    return render(request, "reviews/review_open.html", {"service": service, "form": form})


@login_required
def review_detail(request, pk):
    review = _visible_review(request, pk)
    now = timezone.now()
    items = list(readiness.items_for(review))
    sections, overall = readiness.progress(items, now)
    perms = selectors.permissions_for(request.user, review)
    return render(
        request,
        "reviews/review_detail.html",
        {
            "review": review,
            "sections": sections,
            "overall": overall,
            "perms": perms,
            "panel": selectors.signoff_panel(review),
            "archived_signoffs": review.signoffs.filter(archived_at__isnull=False).select_related(
                "user"
            ),
            "missing": readiness.missing_mandatory(items, now),
            "comments": review.comments.filter(item__isnull=True).select_related("author"),
            "signoff_form": forms.SignOffForm(
                initial={"version": review.version},
                roles=perms.signoff_roles,
                auto_id="signoff_%s",
            ),
            "changes_form": forms.RequestChangesForm(
                initial={"version": review.version}, auto_id="changes_%s"
            ),
            "comment_form": forms.CommentForm(auto_id="comment_%s"),
            "comment_counts": _comment_counts(review),
            "audit_trail": events_for_object(review)[:50],
            "outcomes": [c for c in ItemOutcome.choices if c[0] != ItemOutcome.WAIVED],
            "can_export": may_export_service(request.user, review.service),
        },
    )


def _check_results(review, item):
    if not item.control.check_id:
        return []
    try:
        from collection.models import CheckResult
    except ImportError:  # collection not installed
        return []
    return list(
        CheckResult.objects.filter(
            run__service=review.service, check_id=item.control.check_id
        ).order_by("-evaluated_at", "-id")[:20]
    )


@login_required
def item_detail(request, pk, item_pk):
    review, item = _visible_item(request, pk, item_pk)
    now = timezone.now()
    perms = selectors.permissions_for(request.user, review)
    attached = list(item.attachments.select_related("evidence", "attached_by", "removed_by"))
    current = [a.evidence for a in attached if a.removed_at is None]
    initial = {"version": review.version}
    pickable = evidence_for_service(review.service, control_code=item.control.code).exclude(
        pk__in=[e.pk for e in current]
    )
    return render(
        request,
        "reviews/item_detail.html",
        {
            "review": review,
            "item": item,
            "perms": perms,
            "problem": readiness.item_problem(item, now),
            "attached": [(a, readiness.evidence_counts(a.evidence, item, now)) for a in attached],
            "comments": item.comments.select_related("author"),
            "outcome_form": _outcome_form(
                review,
                item,
                initial={
                    **initial,
                    "outcome": item.outcome,
                    "reason": item.reason,
                    "waiver": item.waiver_id,
                },
            ),
            "upload_form": forms.EvidenceUploadForm(initial=initial, auto_id="upload_%s"),
            "link_form": forms.EvidenceLinkForm(initial=initial, auto_id="link_%s"),
            "pick_form": forms.EvidencePickForm(
                initial=initial, evidence=pickable[:100], auto_id="pick_%s"
            ),
            "check_form": forms.CheckResultPickForm(
                initial=initial, results=_check_results(review, item), auto_id="check_%s"
            ),
            "has_pickable": pickable.exists(),
            "verdict_form": forms.VerdictForm(initial=initial, auto_id="verdict_%s"),
            "comment_form": forms.CommentForm(auto_id="comment_%s"),
        },
    )


def _back_to_item(item):
    return redirect("reviews:item", item.review.pk, item.pk)


@login_required
@require_POST
def item_update(request, pk, item_pk):
    review, item = _visible_item(request, pk, item_pk)
    form = _outcome_form(review, item, request.POST)
    _call_with_form(
        request, form, workflow.item_update, "Saved.", ("outcome", "reason", "waiver"), item=item
    )
    return _back_to_item(item)


def _attach(request, item, evidence, version):
    return _call(
        request,
        workflow.item_attach_evidence,
        f"Attached {evidence.title or evidence.sha256}.",
        item=item,
        evidence=evidence,
        expected_version=version,
    )


def _new_evidence(form):
    """The evidence service call that creates what a valid evidence form names (a check
    result, a link or an uploaded file), for ``workflow.item_attach_new_evidence``."""
    data = form.cleaned_data
    if isinstance(form, forms.CheckResultPickForm):
        return functools.partial(
            evidence_services.evidence_from_check_result, check_result=data["check_result"]
        )
    if isinstance(form, forms.EvidenceLinkForm):
        return functools.partial(
            evidence_services.evidence_add_link, url=data["url"], title=data["title"]
        )
    return functools.partial(
        evidence_services.evidence_store_file,
        uploaded_file=data["file"],
        title=data["title"],
        period_start=data["period_start"],
        period_end=data["period_end"],
    )


def _attach_new(actor, item, form, version):
    """Create and attach in one transaction: a refused attach stores no evidence."""
    return workflow.item_attach_new_evidence(
        actor=actor, item=item, make_evidence=_new_evidence(form), expected_version=version
    )


def _attached_text(link, digits: int | None = None) -> str:
    evidence = link.evidence
    return f"Attached {evidence.title or evidence.sha256[:digits]}."


def _attach_from(request, review, item, form):
    """Attach the evidence a posted evidence form names (one already collected, or new
    evidence of the item's control), then back to the item's page."""
    if not form.is_valid():
        _form_errors(request, form)
    elif isinstance(form, forms.EvidencePickForm):
        _attach(request, item, form.cleaned_data["evidence"], _version(form))
    else:
        link = _call(
            request,
            lambda actor: _attach_new(actor, item, form, _version(form)),
        )
        if link:
            messages.success(request, _attached_text(link))
    return _back_to_item(item)


@login_required
@require_POST
def item_upload(request, pk, item_pk):
    review, item = _visible_item(request, pk, item_pk)
    form = forms.EvidenceUploadForm(request.POST, request.FILES)
    return _attach_from(request, review, item, form)


@login_required
@require_POST
def item_link(request, pk, item_pk):
    review, item = _visible_item(request, pk, item_pk)
    return _attach_from(request, review, item, forms.EvidenceLinkForm(request.POST))


@login_required
@require_POST
def item_pick(request, pk, item_pk):
    review, item = _visible_item(request, pk, item_pk)
    form = forms.EvidencePickForm(request.POST, evidence=evidence_for_service(review.service))
    return _attach_from(request, review, item, form)


@login_required
@require_POST
def item_pick_check(request, pk, item_pk):
    review, item = _visible_item(request, pk, item_pk)
    form = forms.CheckResultPickForm(request.POST, results=_check_results(review, item))
    return _attach_from(request, review, item, form)


@login_required
@require_POST
def item_detach(request, pk, item_pk, evidence_pk):
    review, item = _visible_item(request, pk, item_pk)
    evidence = get_object_or_404(evidence_for_service(review.service), pk=evidence_pk)
    _call(
        request,
        workflow.item_detach_evidence,
        "Detached.",
        item=item,
        evidence=evidence,
        expected_version=_posted_version(request),
    )
    return _back_to_item(item)


@login_required
@require_POST
def item_comment(request, pk, item_pk):
    review, item = _visible_item(request, pk, item_pk)
    form = forms.CommentForm(request.POST)
    _call_with_form(
        request, form, workflow.item_comment, "Comment added.", ("body",), review=review, item=item
    )
    return _back_to_item(item)


@login_required
@require_POST
def item_verdict(request, pk, item_pk):
    review, item = _visible_item(request, pk, item_pk)
    form = forms.VerdictForm(request.POST)
    _call_with_form(
        request, form, workflow.item_verdict, "Verdict recorded.", ("verdict", "comment"), item=item
    )
    return redirect(review)


@login_required
@require_POST
def review_submit(request, pk):
    review = _visible_review(request, pk)
    form = forms.VersionedForm(request.POST)
    form.is_valid()  # a malformed version counts as none: submitting needs no other input
    _call(
        request,
        workflow.review_submit,
        "Submitted for review.",
        review=review,
        expected_version=_version(form),
    )
    return redirect(review)


def _review_transition(form_class, fn, success: str, fields=()):
    """The POST view of one review transition: ``form_class`` gives its ``fields`` to ``fn``
    (see ``_call_with_form``); back to the review page either way."""

    @login_required
    @require_POST
    def view(request, pk):
        review = _visible_review(request, pk)
        _call_with_form(request, form_class(request.POST), fn, success, fields, review=review)
        return redirect(review)

    return view


review_comment = _review_transition(
    forms.CommentForm, workflow.item_comment, "Comment added.", ("body",)
)
review_request_changes = _review_transition(
    forms.RequestChangesForm,
    workflow.review_request_changes,
    "Sent back to the owners.",
    ("comment",),
)
review_signoff = _review_transition(
    forms.SignOffForm, workflow.signoff_record, "Signed off.", ("role", "comment")
)
review_revoke = _review_transition(
    forms.ReasonForm, workflow.review_revoke, "Approval revoked.", ("reason",)
)
review_reopen = _review_transition(
    forms.ReasonForm, workflow.review_invalidate, "Approval withdrawn; back to draft.", ("reason",)
)


# --- waivers ------------------------------------------------------------------------------


@login_required
def waiver_list(request):
    qs = selectors.waiver_list_for(request.user)
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "reviews/waiver_list.html",
        {"page": page, "queue": selectors.waiver_queue(request.user)},
    )


@login_required
def waiver_request(request, slug):
    service = get_object_or_404(service_list_for(request.user), slug=slug)
    try:
        controls = applicable_controls(current_catalog(), service.profile())
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("reviews:service_reviews", service.slug)
    form = forms.WaiverRequestForm(
        request.POST or None,
        controls=controls,
        max_days=conf.waiver_max_days(service.tier),
        initial={"control_code": request.GET.get("control", "")},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        waiver = _call(
            request,
            workflow.waiver_request,
            "Waiver requested; a risk reviewer decides it.",
            service=service,
            control_code=data["control_code"],
            justification=data["justification"],
            compensating_controls=data["compensating_controls"],
            risk_owner=data["risk_owner"],
            expires_at=data["expires_at"],
            release=data["release"],
            commit_sha=data["commit_sha"],
        )
        if waiver:
            return redirect(waiver)
    return render(request, "reviews/waiver_request.html", {"service": service, "form": form})


def _visible_waiver(request, pk):
    return get_object_or_404(
        Waiver.objects.select_related("service__team", "requested_by", "decided_by"),
        pk=pk,
        service__in=service_list_for(request.user),
    )


@login_required
def waiver_detail(request, pk):
    waiver = _visible_waiver(request, pk)
    user = request.user
    independent_risk = (
        user.has_role(Role.RISK)
        and waiver.service.team_id not in user.team_ids
        and waiver.requested_by_id != user.pk
    )
    return render(
        request,
        "reviews/waiver_detail.html",
        {
            "waiver": waiver,
            "can_decide": independent_risk and waiver.status == WaiverStatus.REQUESTED,
            "can_revoke": waiver.current_status in (WaiverStatus.REQUESTED, WaiverStatus.APPROVED)
            and (
                user.has_role(Role.RISK)
                or user.is_platform_admin
                or waiver.service.team_id in user.team_ids
            ),
            "decision_form": forms.WaiverDecisionForm(auto_id="decision_%s"),
            "items": waiver.items.select_related("review", "control"),
        },
    )


@login_required
@require_POST
def waiver_decide(request, pk):
    waiver = _visible_waiver(request, pk)
    form = forms.WaiverDecisionForm(request.POST)
    approve = form.is_valid() and form.cleaned_data["approve"]
    _call_with_form(
        request,
        form,
        workflow.waiver_decide,
        "Waiver approved." if approve else "Waiver rejected.",
        ("approve", "comment", "expires_at"),
        waiver=waiver,
    )
    return redirect(waiver)


@login_required
@require_POST
def waiver_revoke(request, pk):
    waiver = _visible_waiver(request, pk)
    form = forms.ReasonForm(request.POST)
    _call_with_form(
        request, form, workflow.waiver_revoke, "Waiver revoked.", ("reason",), waiver=waiver
    )
    return redirect(waiver)


# --- inline editing on the review page (HTMX) ---------------------------------------------


def _comment_counts(review) -> dict[int, int]:
    return dict(
        ItemComment.objects.filter(review=review, item__isnull=False)
        .values("item_id")
        .annotate(n=Count("id"))
        .values_list("item_id", "n")
    )


def _inline_response(request, review, item_pk, *, editing=False, error="", saved=""):
    """The item's rows, plus out-of-band updates of everything one edit changes: progress
    bars, the missing list, the submit button and the version every inline form sends."""
    review = selectors.review_list_for(request.user).get(pk=review.pk)
    now = timezone.now()
    items = list(readiness.items_for(review))
    sections, overall = readiness.progress(items, now)
    item = next(i for i in items if i.pk == item_pk)
    section = next(s for s in sections if item in s.items)
    perms = selectors.permissions_for(request.user, review)
    comments = []
    if editing:
        comments = list(item.comments.select_related("author"))
    return render(
        request,
        "reviews/_item_inline.html",
        {
            "review": review,
            "item": item,
            "section": section,
            "overall": overall,
            "perms": perms,
            "missing": readiness.missing_mandatory(items, now),
            "comment_counts": _comment_counts(review),
            "editing": editing,
            "error": error,
            "saved": saved,
            "item_comments": comments,
            "outcomes": [c for c in ItemOutcome.choices if c[0] != ItemOutcome.WAIVED],
        },
    )


def _inline_call(request, fn, success, **kwargs) -> tuple[str, str]:
    try:
        fn(actor=Actor.from_request(request), **kwargs)
    except DomainError as exc:
        return exc.message, ""
    return "", success


@login_required
def item_inline(request, pk, item_pk):
    """GET: an item's rows (``?edit=1`` with the editor open). POST ``action`` = outcome,
    link, upload or comment: run it and answer with the updated rows. Without HTMX the
    browser gets the review page back."""
    review, item = _visible_item(request, pk, item_pk)
    if request.method == "GET":
        return _inline_response(request, review, item.pk, editing=request.GET.get("edit") == "1")
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    action = request.POST.get("action", "")
    version = _posted_version(request)
    error, saved = "", ""
    if action == "outcome":
        form = _outcome_form(review, item, request.POST)
        if form.is_valid():
            error, saved = _inline_call(
                request,
                workflow.item_update,
                "Outcome saved.",
                item=item,
                outcome=form.cleaned_data["outcome"],
                reason=form.cleaned_data["reason"],
                waiver=form.cleaned_data["waiver"],
                expected_version=version,
            )
        else:
            error = _error_text(form)
    elif action in ("link", "upload"):
        error, saved = _inline_evidence(request, review, item, action, version)
    elif action == "comment":
        form = forms.CommentForm(request.POST)
        if form.is_valid():
            error, saved = _inline_call(
                request,
                workflow.item_comment,
                "Comment added.",
                review=review,
                item=item,
                body=form.cleaned_data["body"],
            )
        else:
            error = "Write a comment first."
    else:
        error = "Unknown action."
    if not request.headers.get("HX-Request"):
        if error:
            messages.error(request, error)
        elif saved:
            messages.success(request, saved)
        return redirect(review)
    return _inline_response(request, review, item.pk, editing=True, error=error, saved=saved)


def _inline_evidence(request, review, item, action, version) -> tuple[str, str]:
    if action == "link":
        form = forms.EvidenceLinkForm(request.POST)
    else:
        form = forms.EvidenceUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _error_text(form), ""
    try:
        link = _attach_new(Actor.from_request(request), item, form, version)
    except DomainError as exc:
        return exc.message, ""
    return "", _attached_text(link, 12)


PREVIEW_BYTES = 4096
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/sarif")


@login_required
def evidence_preview(request, pk, item_pk, evidence_pk):
    """A safe look at attached evidence without leaving the review: metadata, the start of
    a text file (escaped), a check result's verdict, or a link's address."""
    review, item = _visible_item(request, pk, item_pk)
    evidence = get_object_or_404(
        evidence_for_service(review.service), pk=evidence_pk, attachments__item=item
    )
    text = ""
    truncated = False
    if evidence.storage_name and evidence.content_type.startswith(TEXT_TYPES):
        try:
            with default_storage.open(evidence.storage_name, "rb") as handle:
                raw = handle.read(PREVIEW_BYTES + 1)
        except FileNotFoundError:
            raw = b""
        truncated = len(raw) > PREVIEW_BYTES
        text = raw[:PREVIEW_BYTES].decode("utf-8", errors="replace")
    return render(
        request,
        "reviews/_evidence_preview.html",
        {
            "review": review,
            "item": item,
            "evidence": evidence,
            "text": text,
            "truncated": truncated,
            "fresh": readiness.evidence_counts(evidence, item, timezone.now()),
        },
    )
