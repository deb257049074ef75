"""The run page and API say what could not be collected: per region, the account-wide fact
families (``RegionRun.unavailable``) and the ones single functions lack (their snapshots'
``facts["unavailable"]``), with the reason, the functions affected and the checks turned into
error; the page's query count does not grow with the run."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from collection.checks import REGISTRY, checks_needing
from collection.choices import CheckStatus, RegionStatus, RunStatus
from collection.models import CheckResult, CollectionRun, RegionRun, ResourceSnapshot
from tests.factories import AwsTargetFactory

pytestmark = pytest.mark.django_db

ROLE = "arn:aws:iam::123456789012:role/prr-collector"
KMS_DENIED = (
    f"The collector role {ROLE} is not allowed to call DescribeKey in eu-west-1: "
    "add it to the role's read-only policy."
)
POLICY_THROTTLED = (
    "AWS kept throttling GetPolicy after retries in eu-west-1: "
    "run again later or lower the collection rate."
)
PREFIX = "Could not be evaluated: "


@pytest.fixture
def target(service):
    return AwsTargetFactory(service=service, regions=["eu-west-1", "us-east-1"])


def make_run(target, *, functions: int, policy_throttled: int, status=RunStatus.PARTIAL):
    """A run whose eu-west-1 could not read KMS keys (account-wide) and where GetPolicy was
    throttled for ``policy_throttled`` of its ``functions``; us-east-1 collected everything.
    Results: the checks needing ``kms`` / ``policy`` are error, as the check decorator words
    it, except ``lambda.env_kms_cmk``, which the catalog does not require (not applicable)."""
    now = timezone.now()
    run = CollectionRun.objects.create(
        service=target.service,
        aws_target=target,
        status=status,
        account_id=target.account_id,
        role_arn=ROLE,
        regions=target.regions,
        finished_at=None if status == RunStatus.RUNNING else now,
    )
    RegionRun.objects.create(
        run=run, region="eu-west-1", status=RegionStatus.PARTIAL, unavailable={"kms": KMS_DENIED}
    )
    RegionRun.objects.create(run=run, region="us-east-1", status=RegionStatus.SUCCEEDED)

    def snapshot(region: str, name: str, unavailable: dict) -> ResourceSnapshot:
        arn = f"arn:aws:lambda:{region}:123456789012:function:{name}"
        return ResourceSnapshot(
            run=run,
            account_id=target.account_id,
            region=region,
            collector_role_arn=ROLE,
            resource_id=name,
            resource_arn=arn,
            facts={"function": {"name": name, "arn": arn}, "unavailable": unavailable},
            collected_at=now,
            sha256="0" * 64,
        )

    snapshots = [
        snapshot(
            "eu-west-1",
            f"fn-{n}",
            {"kms": KMS_DENIED} | ({"policy": POLICY_THROTTLED} if n < policy_throttled else {}),
        )
        for n in range(functions)
    ]
    snapshots.append(snapshot("us-east-1", "east-fn", {}))
    snapshots = ResourceSnapshot.objects.bulk_create(snapshots)
    results = []
    for i, snap in enumerate(snapshots):
        if snap.region != "eu-west-1":
            continue
        for check_id in REGISTRY:
            status, message = CheckStatus.PASS, "ok"
            if check_id in checks_needing("policy") and i < policy_throttled:
                status, message = CheckStatus.ERROR, PREFIX + POLICY_THROTTLED
            elif check_id == "lambda.env_kms_cmk":
                status, message = CheckStatus.NOT_APPLICABLE, "Not required for this service"
            elif check_id in checks_needing("kms"):
                status, message = CheckStatus.ERROR, PREFIX + KMS_DENIED
            results.append(
                CheckResult(
                    run=run,
                    snapshot=snap,
                    check_id=check_id,
                    resource=snap.resource_arn,
                    status=status,
                    message=message,
                    evaluated_at=now,
                )
            )
    CheckResult.objects.bulk_create(results, batch_size=500)
    return run


def section(html: str) -> str:
    return html.split('id="unavailable"')[1].split("</section>")[0]


def row_of(table: str, family: str) -> str:
    return table.split(f"<code>{family}</code>")[1].split("</tr>")[0]


def test_checks_needing_names_the_checks_whose_needs_include_the_family():
    assert checks_needing("kms") == ["kms.key_rotation_enabled", "lambda.env_kms_cmk"]
    assert "lambda.policy_not_public" in checks_needing("policy")
    assert "apigw.access_logging" in checks_needing("apigw")
    assert checks_needing("collector") == sorted(REGISTRY)
    assert checks_needing("no-such-family") == []


def test_run_page_lists_account_wide_and_per_function_facts_not_collected(
    owner, target, client_for
):
    run = make_run(target, functions=5, policy_throttled=2)

    html = client_for(owner).get(f"/collection/runs/{run.pk}/").content.decode()
    part = section(html)

    assert '<h2 id="unavailable-heading">What could not be collected</h2>' in part
    assert "<caption>Could not be collected in eu-west-1</caption>" in part
    # us-east-1 collected everything: no table of its own.
    assert "Could not be collected in us-east-1" not in part
    assert 'th scope="col">Reason</th>' in part and 'th scope="col">Facts</th>' in part
    kms = row_of(part, "kms")
    assert '<th scope="row">KMS keys' in part.split("<code>kms</code>")[0][-200:]
    assert "account-wide" in kms
    assert "all 5 functions" in kms
    assert "is not allowed to call DescribeKey in eu-west-1" in kms
    # The check the catalog does not require stayed not applicable: it is not listed.
    assert "<code>kms.key_rotation_enabled</code>" in kms
    assert "lambda.env_kms_cmk" not in kms
    assert (
        f"/collection/runs/{run.pk}/?status=error&amp;check=kms.key_rotation_enabled#results" in kms
    )
    policy = row_of(part, "policy")
    assert "Function resource policy" in part.split("<code>policy</code>")[0][-200:]
    assert "per function" in policy
    assert "2 of 5 functions" in policy
    assert f'href="/collection/runs/{run.pk}/?status=error#results"' in policy
    assert "AWS kept throttling GetPolicy after retries in eu-west-1" in policy
    for check_id in checks_needing("policy"):
        assert f"<code>{check_id}</code>" in policy
    # The link targets exist: the results section and its status filter.
    assert '<section aria-labelledby="results-heading" id="results">' in html
    assert '<option value="error">' in html
    assert 'style="' not in part


def test_filtered_link_shows_the_error_results_of_a_check(owner, target, client_for):
    run = make_run(target, functions=3, policy_throttled=1)

    html = (
        client_for(owner)
        .get(f"/collection/runs/{run.pk}/", {"status": "error", "check": "kms.key_rotation"})
        .content.decode()
    )
    table = html.split('id="results"')[1]

    assert table.count("<code>kms.key_rotation_enabled</code>") == 3
    assert "lambda.policy_not_public" not in table


def test_while_the_run_is_active_the_checks_that_need_the_facts_are_listed(
    owner, target, client_for
):
    run = make_run(target, functions=2, policy_throttled=0, status=RunStatus.RUNNING)
    CheckResult.objects.filter(run=run).delete()

    part = section(client_for(owner).get(f"/collection/runs/{run.pk}/").content.decode())

    assert 'th scope="col">Checks that need them</th>' in part
    kms = row_of(part, "kms")
    assert (
        "<code>lambda.env_kms_cmk</code>" in kms and "<code>kms.key_rotation_enabled</code>" in kms
    )
    assert "<code>policy</code>" not in part


def test_a_fully_collected_run_says_so(owner, target, client_for):
    run = CollectionRun.objects.create(
        service=target.service,
        aws_target=target,
        status=RunStatus.SUCCEEDED,
        account_id=target.account_id,
        role_arn=ROLE,
        regions=["us-east-1"],
        finished_at=timezone.now(),
    )
    RegionRun.objects.create(run=run, region="us-east-1", status=RegionStatus.SUCCEEDED)

    part = section(client_for(owner).get(f"/collection/runs/{run.pk}/").content.decode())

    assert "Everything was collected." in part
    assert "<table" not in part


def test_api_region_runs_carry_what_could_not_be_collected(auditor, target, client_for):
    run = make_run(target, functions=1, policy_throttled=1)

    body = client_for(auditor).get(f"/api/v1/collection/runs/{run.pk}/").json()

    regions = {r["region"]: r for r in body["region_runs"]}
    assert regions["eu-west-1"]["unavailable"] == {"kms": KMS_DENIED}
    assert regions["us-east-1"]["unavailable"] == {}


def test_api_schema_describes_unavailable_as_a_map_of_reasons():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    field = schema["components"]["schemas"]["RegionRun"]["properties"]["unavailable"]

    assert field["type"] == "object"
    assert field["additionalProperties"] == {"type": "string"}
    assert field["readOnly"] is True
    assert "plain words" in field["description"]


def test_run_page_query_count_does_not_grow_with_functions_or_reasons(
    owner, target, client_for, django_assert_max_num_queries
):
    small = make_run(target, functions=2, policy_throttled=1)
    big = make_run(target, functions=200, policy_throttled=37)
    client = client_for(owner)
    counts = []
    for run in (small, big):
        with CaptureQueriesContext(connection) as queries:
            html = client.get(f"/collection/runs/{run.pk}/").content.decode()
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert "37 of 200 functions" in section(html)
    assert "all 200 functions" in section(html)
    with django_assert_max_num_queries(counts[0]):
        client.get(f"/collection/runs/{big.pk}/")
    # No query loads a snapshot's facts: the snapshots are grouped by their "unavailable"
    # object in the database and the results table defers them.
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/collection/runs/{big.pk}/")
    snapshot_reads = [q["sql"] for q in queries if "collection_resourcesnapshot" in q["sql"]]
    assert len(snapshot_reads) >= 2
    column = '"collection_resourcesnapshot"."resource_arn", "collection_resourcesnapshot"."facts"'
    assert not [sql for sql in snapshot_reads if column in sql]


def test_a_check_needing_two_missing_families_is_listed_under_both(target):
    """secrets.rotation_enabled needs iam and secrets; with both missing its message names the
    first (iam). The secrets row must still list it as error, not claim it was not
    applicable."""
    from collection.views import run_unavailable

    run = make_run(target, functions=1, policy_throttled=0)
    east = run.region_runs.get(region="eu-west-1")
    east.unavailable = {"iam": "IAM denied.", "secrets": "ListSecrets denied."}
    east.save(update_fields=["unavailable"])
    CheckResult.objects.filter(run=run, check_id="secrets.rotation_enabled").update(
        status=CheckStatus.ERROR, message=PREFIX + "IAM denied."
    )

    regions = {r["region"]: r for r in run_unavailable(run, list(run.region_runs.all()))}
    rows = {row["family"]: row for row in regions["eu-west-1"]["account_wide"]}

    assert "secrets.rotation_enabled" in rows["secrets"]["checks"]
    assert "secrets.rotation_enabled" in rows["iam"]["checks"]
