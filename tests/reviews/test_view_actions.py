"""Every action form of the review and waiver pages, posted as a browser would (following
the redirect), as the user who may act and as users who may not. A refusal changes no row
and writes no successful audit event; the workflow records it as a denial."""

from dataclasses import dataclass

import pytest
from django.urls import reverse

from accounts.choices import Role
from accounts.models import Membership
from audit.choices import Outcome
from audit.models import AuditEvent
from evidence.choices import EvidenceKind
from evidence.models import Evidence
from reviews import workflow
from reviews.choices import CommentKind, ItemOutcome, ReviewStatus, WaiverStatus
from reviews.models import ItemComment, ItemEvidence, SignOff, Waiver
from tests.factories import CheckResultFactory, RoleGrantFactory, WaiverFactory
from tests.reviews.conftest import act, item_for, make_ready

DENIED, SUCCESS = Outcome.DENIED, Outcome.SUCCESS


@dataclass
class Posted:
    target: str  # where the page redirected
    shown: list[tuple[str, str]]  # (level, text) of the messages on the page it landed on
    events: list[tuple[str, str, str]]  # (action, outcome, actor) of new audit events


def last_seq() -> int:
    event = AuditEvent.objects.order_by("-seq").first()
    return event.seq if event else 0


@pytest.fixture
def post(client_for):
    """``post(user, url, data)``: submit a form as ``user`` and land where it redirects."""

    def _post(user, url, data) -> Posted:
        client = client_for(user)  # signing in is audited too: count from here
        since = last_seq()
        response = client.post(url, data, follow=True)
        [(target, status)] = response.redirect_chain
        assert status == 302
        return Posted(
            target=target,
            shown=[(m.level_tag, m.message) for m in response.context["messages"]],
            events=list(
                AuditEvent.objects.filter(seq__gt=since)
                .order_by("seq")
                .values_list("action", "outcome", "actor_label")
            ),
        )

    return _post


def item_url(review, code, name="item"):
    item = item_for(review, code)
    return item, reverse(f"reviews:{name}", args=[review.pk, item.pk])


def review_url(review, name):
    return reverse(f"reviews:{name}", args=[review.pk])


def refused(result: Posted, text: str, action: str, actor: str) -> None:
    """The page says why, and the only new audit event is the denial."""
    [(level, message)] = result.shown
    assert level == "error" and text in message
    assert result.events == [(action, DENIED, actor)]


def succeeded(result: Posted, target: str, message: str, *events: tuple[str, str]) -> None:
    """Back on ``target`` with ``message``; every new audit event a success, ``events`` among
    them as (action, actor)."""
    assert (result.target, result.shown) == (target, [("success", message)])
    assert {outcome for _, outcome, _ in result.events} == {SUCCESS}
    assert {(action, actor) for action, _, actor in result.events} >= set(events)


def form_error(result: Posted, text: str) -> None:
    """An invalid form runs nothing: the page shows the field's error, no event at all."""
    assert [lvl for lvl, _ in result.shown] == ["error"] and text in result.shown[0][1]
    assert result.events == []


def signoffs_active(review) -> int:
    return SignOff.objects.filter(review=review, archived_at__isnull=True).count()


@pytest.fixture
def check_result(service):
    """A collected result of the check behind PRR-RUN-001."""
    return CheckResultFactory(
        run__aws_target__service=service, check_id="lambda_timeout_set", message="Timeout 10s"
    )


@pytest.fixture
def requested_waiver(service, owner):
    return WaiverFactory(service=service, control_code="PRR-SEC-001", requested_by=owner)


@pytest.fixture
def approved_waiver(requested_waiver, risk):
    return workflow.waiver_decide(actor=act(risk), waiver=requested_waiver, approve=True)


# --- every action of a review is a 404 for someone who cannot see the service ---------------


@pytest.mark.parametrize(
    "name, data",
    [
        ("comment", {"body": "hi"}),
        ("reopen", {"reason": "x"}),
        ("revoke", {"reason": "x"}),
        ("request_changes", {"comment": "x"}),
        ("signoff", {"role": "sre"}),
    ],
)
def test_outsider_gets_404_from_review_actions(name, data, client_for, outsider, approved):
    client = client_for(outsider)
    since, version = last_seq(), approved.version
    response = client.post(review_url(approved, name), data)
    assert response.status_code == 404
    approved.refresh_from_db()
    assert (approved.status, approved.version) == (ReviewStatus.APPROVED, version)
    assert last_seq() == since
    assert not ItemComment.objects.exists()


@pytest.mark.parametrize(
    "name, data",
    [
        ("item_link", {"url": "https://wiki.example.com/x"}),
        ("item_comment", {"body": "hi"}),
        ("item_pick_check", {"check_result": "1"}),
    ],
)
def test_outsider_gets_404_from_item_actions(name, data, client_for, outsider, draft):
    client = client_for(outsider)
    since = last_seq()
    _, url = item_url(draft, "PRR-RUN-001", name)
    assert client.post(url, data).status_code == 404
    assert last_seq() == since
    assert not Evidence.objects.exists() and not ItemComment.objects.exists()


@pytest.mark.parametrize("name", ["waiver_revoke", "waiver_decide"])
def test_outsider_gets_404_from_waiver_actions(name, client_for, outsider, requested_waiver):
    client = client_for(outsider)
    since = last_seq()
    url = reverse(f"reviews:{name}", args=[requested_waiver.pk])
    response = client.post(url, {"reason": "x", "decision": "approve"})
    assert response.status_code == 404
    requested_waiver.refresh_from_db()
    assert requested_waiver.status == WaiverStatus.REQUESTED
    assert last_seq() == since


# --- evidence by link -------------------------------------------------------------------------


def test_owner_links_evidence_to_an_item(post, owner, draft):
    item, url = item_url(draft, "PRR-SEC-001", "item_link")
    data = {"url": "https://wiki.example.com/iam", "title": "IAM review", "version": draft.version}
    result = post(owner, url, data)
    succeeded(
        result,
        reverse("reviews:item", args=[draft.pk, item.pk]),
        "Attached IAM review.",
        ("review.evidence_attach", "owner"),
    )
    link = ItemEvidence.objects.select_related("evidence").get(item=item)
    evidence = link.evidence
    assert (evidence.kind, evidence.url, evidence.title) == (
        EvidenceKind.LINK,
        "https://wiki.example.com/iam",
        "IAM review",
    )
    assert (evidence.control_code, link.attached_by) == ("PRR-SEC-001", owner)


def test_link_that_is_not_a_url_is_refused(post, owner, draft):
    _, url = item_url(draft, "PRR-SEC-001", "item_link")
    result = post(owner, url, {"url": "not a link", "version": draft.version})
    form_error(result, "Link: Enter a valid URL.")
    assert not Evidence.objects.exists() and not ItemEvidence.objects.exists()


def test_auditor_cannot_link_evidence(post, auditor, draft):
    _, url = item_url(draft, "PRR-SEC-001", "item_link")
    result = post(auditor, url, {"url": "https://wiki.example.com/iam"})
    assert not Evidence.objects.exists() and not ItemEvidence.objects.exists()
    # The attach is checked before any evidence is made, and its refusal is audited.
    refused(result, "may attach evidence", "review.evidence_attach", "auditor")


def test_stale_link_page_attaches_nothing(post, owner, draft):
    item, url = item_url(draft, "PRR-SEC-001", "item_link")
    stale = draft.version - 1
    result = post(owner, url, {"url": "https://wiki.example.com/iam", "version": stale})
    assert ("error", "The review changed since you loaded it; reload the page and try again.") in (
        result.shown
    )
    assert ("review.evidence_attach", DENIED, "owner") in result.events
    assert not ItemEvidence.objects.filter(item=item).exists()
    draft.refresh_from_db()
    assert draft.version == stale + 1


def test_refused_link_leaves_no_evidence_behind(post, owner, draft):
    # Evidence is made in the attach's transaction, after its checks: a stale page stores
    # nothing and audits only the refusal (it used to leave an unattached, audited row).
    _, url = item_url(draft, "PRR-SEC-001", "item_link")
    result = post(owner, url, {"url": "https://wiki.example.com/iam", "version": 0})
    assert not Evidence.objects.exists()
    assert result.events == [("review.evidence_attach", DENIED, "owner")]


# --- evidence from a collected check result ---------------------------------------------------


def test_owner_picks_a_check_result_as_evidence(post, owner, draft, check_result):
    item, url = item_url(draft, "PRR-RUN-001", "item_pick_check")
    result = post(owner, url, {"check_result": check_result.pk, "version": draft.version})
    evidence = item.evidence.get()
    assert (evidence.kind, evidence.check_id) == (EvidenceKind.AUTOMATED, "lambda_timeout_set")
    page = reverse("reviews:item", args=[draft.pk, item.pk])
    succeeded(result, page, f"Attached {evidence.title}.", ("review.evidence_attach", "owner"))


def test_check_result_not_offered_is_refused(post, owner, draft, check_result):
    _, url = item_url(draft, "PRR-RUN-001", "item_pick_check")
    result = post(owner, url, {"check_result": check_result.pk + 99, "version": draft.version})
    form_error(result, "Automated check result: Select a valid choice.")
    assert not Evidence.objects.exists()


def test_check_result_cannot_be_attached_to_a_submitted_review(
    post, owner, submitted, check_result
):
    item, url = item_url(submitted, "PRR-RUN-001", "item_pick_check")
    before = item.attachments.count()
    result = post(owner, url, {"check_result": check_result.pk})
    assert ("error", "Cannot attach evidence: the review is submitted.") in result.shown
    assert ("review.evidence_attach", DENIED, "owner") in result.events
    assert item.attachments.count() == before


# --- comments -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["teammate", "sre"])
def test_team_and_reviewers_comment_on_an_item(who, cast, post, draft):
    item, url = item_url(draft, "PRR-SEC-001", "item_comment")
    result = post(cast[who], url, {"body": "  Which role ARN?  "})
    succeeded(
        result,
        reverse("reviews:item", args=[draft.pk, item.pk]),
        "Comment added.",
        ("review.comment", who),
    )
    comment = ItemComment.objects.get()
    assert (comment.item, comment.author, comment.body) == (item, cast[who], "Which role ARN?")
    assert AuditEvent.objects.get(action="review.comment").message == "Which role ARN?"


def test_owner_comments_on_the_review(post, owner, draft):
    result = post(owner, review_url(draft, "comment"), {"body": "Ready next week"})
    succeeded(result, draft.get_absolute_url(), "Comment added.", ("review.comment", "owner"))
    comment = ItemComment.objects.get()
    assert (comment.item, comment.author, comment.body) == (None, owner, "Ready next week")


def test_auditor_cannot_comment(post, auditor, draft):
    _, url = item_url(draft, "PRR-SEC-001", "item_comment")
    result = post(auditor, url, {"body": "Looks fine"})
    refused(result, "Only the owning team and reviewers may comment", "review.comment", "auditor")
    assert not ItemComment.objects.exists()


@pytest.mark.parametrize("body", ["", "   "])
@pytest.mark.parametrize("on_item", [True, False])
def test_empty_comment_is_refused(body, on_item, post, owner, draft):
    url = item_url(draft, "PRR-SEC-001", "item_comment")[1] if on_item else None
    result = post(owner, url or review_url(draft, "comment"), {"body": body})
    form_error(result, "Comment: This field is required.")
    assert not ItemComment.objects.exists()


# --- reopen (withdraw an approval) and revoke -------------------------------------------------


@pytest.mark.parametrize(
    "name, who, message, action, status",
    [
        ("reopen", "owner", "Approval withdrawn; back to draft.", "review.invalidate", "draft"),
        ("revoke", "admin", "Approval revoked.", "review.revoke", "revoked"),
    ],
)
def test_approval_is_withdrawn_with_its_reason(
    name, who, message, action, status, cast, post, approved
):
    user = cast[who]
    result = post(user, review_url(approved, name), {"reason": "Incident 7"})
    succeeded(result, approved.get_absolute_url(), message, (action, user.username))
    approved.refresh_from_db()
    assert approved.status == ReviewStatus(status)
    event = AuditEvent.objects.get(action=action)
    assert (event.actor_user, event.message) == (user, "Incident 7")
    if name == "revoke":  # the revoked review shows who revoked it and why
        assert (approved.revoked_by, approved.revoked_reason) == (user, "Incident 7")
    else:  # back to draft: the old sign-offs no longer count
        assert signoffs_active(approved) == 0


@pytest.mark.parametrize(
    "name, who, text, action",
    [
        ("reopen", "sre", "Only the owning team or a platform admin", "review.invalidate"),
        ("reopen", "auditor", "Only the owning team or a platform admin", "review.invalidate"),
        ("revoke", "owner", "Only a platform admin may revoke", "review.revoke"),
        ("revoke", "risk", "Only a platform admin may revoke", "review.revoke"),
    ],
)
def test_wrong_user_cannot_reopen_or_revoke(name, who, text, action, cast, post, approved):
    version = approved.version
    result = post(cast[who], review_url(approved, name), {"reason": "Because"})
    refused(result, text, action, who)
    approved.refresh_from_db()
    assert (approved.status, approved.version) == (ReviewStatus.APPROVED, version)
    assert signoffs_active(approved) == 2


@pytest.mark.parametrize("name, who", [("reopen", "owner"), ("revoke", "admin")])
@pytest.mark.parametrize("reason", ["", "  "])
def test_reopen_and_revoke_need_a_reason(name, who, reason, cast, post, approved):
    result = post(cast[who], review_url(approved, name), {"reason": reason})
    form_error(result, "Reason: This field is required.")
    approved.refresh_from_db()
    assert approved.status == ReviewStatus.APPROVED and signoffs_active(approved) == 2


def test_a_draft_cannot_be_reopened(post, owner, draft):
    version = draft.version
    result = post(owner, review_url(draft, "reopen"), {"reason": "Again"})
    refused(result, "Cannot reopen the review: the review is draft.", "review.invalidate", "owner")
    draft.refresh_from_db()
    assert (draft.status, draft.version) == (ReviewStatus.DRAFT, version)


# --- request changes and sign-off (maker-checker) ---------------------------------------------


def test_reviewer_sends_a_review_back_with_a_comment(post, security, sre, submitted):
    workflow.signoff_record(actor=act(sre), review=submitted, role="sre")
    submitted.refresh_from_db()
    data = {"comment": "Missing runbook", "version": submitted.version}
    result = post(security, review_url(submitted, "request_changes"), data)
    succeeded(
        result,
        submitted.get_absolute_url(),
        "Sent back to the owners.",
        ("review.request_changes", "security"),
    )
    submitted.refresh_from_db()
    assert submitted.status == ReviewStatus.CHANGES_REQUESTED
    comment = ItemComment.objects.get(kind=CommentKind.CHANGES_REQUESTED)
    assert (comment.author, comment.body) == (security, "Missing runbook")
    assert signoffs_active(submitted) == 0


def test_reviewer_signs_off_in_their_role(post, sre, submitted):
    data = {"role": "sre", "comment": "Alarms fine", "version": submitted.version}
    result = post(sre, review_url(submitted, "signoff"), data)
    succeeded(result, submitted.get_absolute_url(), "Signed off.", ("review.signoff", "sre"))
    signoff = SignOff.objects.get()
    assert (signoff.user, signoff.role, signoff.comment) == (sre, "sre", "Alarms fine")
    submitted.refresh_from_db()
    assert submitted.status == ReviewStatus.SUBMITTED  # security has not signed yet


@pytest.fixture
def submitter_left_team(draft, owner):
    """An owner who is also an SRE submits, then leaves the team: still the maker."""
    RoleGrantFactory(user=owner, role=Role.SRE)
    make_ready(draft, owner)
    review = workflow.review_submit(actor=act(owner), review=draft)
    Membership.objects.filter(user=owner).delete()
    return review


@pytest.mark.parametrize(
    "name, data, who, text",
    [
        ("signoff", {"role": "security"}, "sre", "You do not hold the security role."),
        ("signoff", {"role": "sre"}, "auditor", "Only SRE, security or risk reviewers"),
        ("request_changes", {"comment": "x"}, "auditor", "Only SRE, security or risk reviewers"),
        ("request_changes", {"comment": ""}, "sre", "Comment is required."),
        ("request_changes", {"comment": "x", "version": 0}, "sre", "changed since you loaded it"),
        ("signoff", {"role": "sre", "version": 0}, "sre", "changed since you loaded it"),
    ],
)
def test_refused_review_decisions_change_nothing(name, data, who, text, cast, post, submitted):
    version = submitted.version
    result = post(cast[who], review_url(submitted, name), data)
    action = {"signoff": "review.signoff", "request_changes": "review.request_changes"}[name]
    refused(result, text, action, who)
    submitted.refresh_from_db()
    assert (submitted.status, submitted.version) == (ReviewStatus.SUBMITTED, version)
    assert not SignOff.objects.exists() and not ItemComment.objects.exists()


@pytest.mark.parametrize("name, data", [("signoff", {"role": "sre"}), ("request_changes", {})])
def test_teammate_reviewer_may_not_decide_own_teams_review(name, data, post, teammate, submitted):
    RoleGrantFactory(user=teammate, role=Role.SRE)
    result = post(teammate, review_url(submitted, name), {**data, "comment": "ok"})
    [(level, message)] = result.shown
    assert level == "error" and "a reviewer from outside the team must" in message
    assert [outcome for _, outcome, _ in result.events] == [DENIED]
    submitted.refresh_from_db()
    assert submitted.status == ReviewStatus.SUBMITTED and not SignOff.objects.exists()


@pytest.mark.parametrize("name", ["signoff", "request_changes"])
def test_submitter_may_not_decide_even_after_leaving_the_team(
    name, post, owner, submitter_left_team
):
    data = {"role": "sre", "comment": "Fine by me"}
    result = post(owner, review_url(submitter_left_team, name), data)
    [(level, message)] = result.shown
    assert level == "error" and "You submitted this review, so you may not" in message
    assert [outcome for _, outcome, _ in result.events] == [DENIED]
    submitter_left_team.refresh_from_db()
    assert submitter_left_team.status == ReviewStatus.SUBMITTED
    assert not SignOff.objects.exists()


# --- waivers: decide and revoke ---------------------------------------------------------------


def waiver_url(waiver, name):
    return reverse(f"reviews:{name}", args=[waiver.pk])


def test_risk_rejects_a_waiver_with_a_comment(post, risk, requested_waiver):
    data = {"decision": "reject", "comment": "Fix it instead"}
    result = post(risk, waiver_url(requested_waiver, "waiver_decide"), data)
    succeeded(
        result, requested_waiver.get_absolute_url(), "Waiver rejected.", ("waiver.reject", "risk")
    )
    requested_waiver.refresh_from_db()
    assert (requested_waiver.status, requested_waiver.decided_by) == (WaiverStatus.REJECTED, risk)
    assert requested_waiver.decision_comment == "Fix it instead"


@pytest.fixture
def teammate_risk(teammate):
    RoleGrantFactory(user=teammate, role=Role.RISK)
    return teammate


@pytest.mark.parametrize(
    "who, data, text",
    [
        ("risk", {"decision": "reject", "comment": ""}, "Comment is required."),
        ("sre", {"decision": "approve"}, "Only risk reviewers may decide waivers."),
        ("teammate_risk", {"decision": "approve"}, "outside the owning team, not its requester"),
    ],
)
def test_refused_waiver_decision_changes_nothing(who, data, text, request, post, requested_waiver):
    user = request.getfixturevalue(who)
    result = post(user, waiver_url(requested_waiver, "waiver_decide"), data)
    refused(result, text, "waiver.decide", user.username)
    requested_waiver.refresh_from_db()
    assert requested_waiver.status == WaiverStatus.REQUESTED
    assert requested_waiver.decided_by is None


def test_waiver_decision_needs_a_decision(post, risk, requested_waiver):
    result = post(risk, waiver_url(requested_waiver, "waiver_decide"), {"comment": "hm"})
    form_error(result, "This field is required.")
    requested_waiver.refresh_from_db()
    assert requested_waiver.status == WaiverStatus.REQUESTED


@pytest.mark.parametrize("who", ["owner", "teammate", "risk", "admin"])
def test_waiver_is_revoked_with_its_reason(who, cast, post, approved_waiver):
    url = waiver_url(approved_waiver, "waiver_revoke")
    result = post(cast[who], url, {"reason": "Fixed in 1.4"})
    succeeded(
        result,
        approved_waiver.get_absolute_url(),
        "Waiver revoked.",
        ("waiver.revoke", cast[who].username),
    )
    approved_waiver.refresh_from_db()
    assert (approved_waiver.status, approved_waiver.revoked_reason) == (
        WaiverStatus.REVOKED,
        "Fixed in 1.4",
    )
    assert approved_waiver.revoked_by == cast[who]
    assert AuditEvent.objects.get(action="waiver.revoke").message == "Fixed in 1.4"


@pytest.mark.parametrize("who", ["sre", "auditor"])
def test_wrong_user_cannot_revoke_a_waiver(who, cast, post, approved_waiver):
    result = post(cast[who], waiver_url(approved_waiver, "waiver_revoke"), {"reason": "No"})
    refused(
        result, "Only the owning team, risk reviewers or a platform admin", "waiver.revoke", who
    )
    approved_waiver.refresh_from_db()
    assert approved_waiver.status == WaiverStatus.APPROVED and approved_waiver.revoked_by is None


def test_waiver_revoke_needs_a_reason(post, owner, approved_waiver):
    result = post(owner, waiver_url(approved_waiver, "waiver_revoke"), {"reason": " "})
    form_error(result, "Reason: This field is required.")
    approved_waiver.refresh_from_db()
    assert approved_waiver.status == WaiverStatus.APPROVED


def test_revoked_waiver_cannot_be_revoked_again(post, owner, risk, approved_waiver):
    workflow.waiver_revoke(actor=act(risk), waiver=approved_waiver, reason="First")
    result = post(owner, waiver_url(approved_waiver, "waiver_revoke"), {"reason": "Second"})
    refused(result, f"Waiver #{approved_waiver.pk} is already revoked.", "waiver.revoke", "owner")
    assert Waiver.objects.get().revoked_reason == "First"


@pytest.fixture
def approved_on_waiver(draft, owner, sre, security, approved_waiver):
    """An approved review whose PRR-SEC-001 item is waived by ``approved_waiver``."""
    make_ready(draft, owner)
    item = item_for(draft, "PRR-SEC-001")
    workflow.item_update(
        actor=act(owner), item=item, outcome=ItemOutcome.WAIVED, waiver=approved_waiver
    )
    workflow.review_submit(actor=act(owner), review=draft)
    for user, role in ((sre, "sre"), (security, "security")):
        workflow.signoff_record(actor=act(user), review=draft, role=role)
    draft.refresh_from_db()
    assert draft.status == ReviewStatus.APPROVED
    return draft


def test_revoking_a_waiver_revokes_the_approval_relying_on_it(
    post, risk, approved_waiver, approved_on_waiver
):
    result = post(risk, waiver_url(approved_waiver, "waiver_revoke"), {"reason": "Too risky"})
    succeeded(
        result,
        approved_waiver.get_absolute_url(),
        "Waiver revoked.",
        ("waiver.revoke", "risk"),
        ("review.revoke", "risk"),
    )
    approved_on_waiver.refresh_from_db()
    assert approved_on_waiver.status == ReviewStatus.REVOKED
    expected = f"waiver #{approved_waiver.pk} for PRR-SEC-001 revoked"
    assert approved_on_waiver.revoked_reason == expected
