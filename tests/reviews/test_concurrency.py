"""Two reviewers acting on one review at the same moment end in one consistent state
(PostgreSQL: real row locks, real concurrent transactions)."""

import threading

import pytest
from django.db import connection

from accounts.choices import Role
from portal.errors import DomainError
from reviews import workflow
from reviews.choices import ReviewStatus
from reviews.models import Review, SignOff
from tests.factories import RoleGrantFactory, ServiceFactory, UserFactory
from tests.reviews.conftest import act, make_ready

pytestmark = pytest.mark.django_db(transaction=True)


def race(*calls):
    """Run ``calls`` in threads released together; return their results or DomainErrors."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except DomainError as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.fixture
def tier2_submitted(postgres_only, catalog, team, owner):
    service = ServiceFactory(team=team, slug="ledger", tier=2)  # needs one SRE sign-off
    review = workflow.review_open(actor=act(owner), service=service, environment="prod")
    make_ready(review, owner)
    return workflow.review_submit(actor=act(owner), review=review)


@pytest.mark.parametrize("attempt", range(3))
def test_concurrent_approve_and_request_changes_end_consistent(
    attempt, tier2_submitted, sre, security
):
    review = tier2_submitted
    results = race(
        lambda: workflow.signoff_record(actor=act(sre), review=review, role="sre"),
        lambda: workflow.review_request_changes(
            actor=act(security), review=review, comment="Not yet"
        ),
    )
    failures = [r for r in results if isinstance(r, DomainError)]
    assert len(failures) == 1 and failures[0].code == "invalid_state"
    review.refresh_from_db()
    active = SignOff.objects.filter(review=review, archived_at__isnull=True)
    if review.status == ReviewStatus.APPROVED:
        assert active.count() == 1 and review.approval_hash == active.get().approval_hash
    else:
        assert review.status == ReviewStatus.CHANGES_REQUESTED
        assert not active.exists() and review.approval_hash == ""


def test_two_reviewers_signing_the_same_role_at_once(tier2_submitted, sre):
    second_sre = UserFactory(username="sre2")
    RoleGrantFactory(user=second_sre, role=Role.SRE)
    review = tier2_submitted
    results = race(
        lambda: workflow.signoff_record(actor=act(sre), review=review, role="sre"),
        lambda: workflow.signoff_record(actor=act(second_sre), review=review, role="sre"),
    )
    assert sum(isinstance(r, DomainError) for r in results) == 1
    assert SignOff.objects.filter(review=review).count() == 1
    assert Review.objects.get(pk=review.pk).status == ReviewStatus.APPROVED
