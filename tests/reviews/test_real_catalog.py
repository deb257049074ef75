"""The review pages against the real catalog (about a hundred controls): the checklist and
the gate reads take a fixed number of queries however many items a review holds."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reviews import workflow
from tests.reviews.conftest import act


@pytest.fixture
def real_review(db, service, owner):
    call_command("load_catalog", verbosity=0)
    return workflow.review_open(actor=act(owner), service=service, environment="prod")


def test_review_page_queries_do_not_grow_with_items(client_for, owner, real_review):
    client = client_for(owner)
    url = reverse("reviews:detail", args=[real_review.pk])
    client.get(url)  # warm caches (sessions, content types)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    assert real_review.items.count() > 50
    assert len(queries) < 25, [q["sql"][:120] for q in queries]


def test_mandatory_items_follow_the_catalog_tiers(real_review):
    items = list(real_review.items.select_related("control"))
    assert any(i.mandatory for i in items)
    assert all(i.mandatory == (1 in i.control.mandatory_tiers) for i in items)
