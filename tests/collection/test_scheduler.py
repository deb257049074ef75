"""The collection scheduler (Celery beat): which targets are due, and the runs it starts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.choices import ActorType
from audit.models import AuditEvent
from collection import tasks
from collection.apps import BEAT_ENTRY
from collection.choices import ACTIVE_RUN_STATUSES, RegionStatus, RunMode, RunStatus, RunTrigger
from collection.models import CollectionRun, RegionRun
from collection.services import collection_due_targets, collection_schedule_due
from portal.celery import app
from tests.collection.test_views_and_selectors import finished_run
from tests.factories import AwsTargetFactory, ServiceFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def run_of(target, *, age_hours: float, status=RunStatus.SUCCEEDED) -> CollectionRun:
    """A run of ``target`` created ``age_hours`` before NOW (finished then, unless active)."""
    at = NOW - timedelta(hours=age_hours)
    run = finished_run(target, [], status=status)
    CollectionRun.objects.filter(pk=run.pk).update(
        created_at=at,  # auto_now_add otherwise
        finished_at=None if status in ACTIVE_RUN_STATUSES else at,
    )
    return run


@pytest.fixture
def target(service):
    return AwsTargetFactory(
        service=service, regions=["eu-west-1", "us-east-1"], collection_interval_hours=6
    )


@pytest.fixture
def no_region_tasks(monkeypatch):
    """Region tasks enqueued by started runs (their ids), instead of running them."""
    enqueued = []
    monkeypatch.setattr(tasks.collect_region, "delay", enqueued.append)
    return enqueued


def due_ids(now=NOW) -> set[int]:
    return {t.pk for t in collection_due_targets(now)}


def test_a_target_never_collected_is_due(target):
    assert due_ids() == {target.pk}


@pytest.mark.parametrize(
    ("age_hours", "due"),
    [(1, False), (5.99, False), (6, True), (30, True)],
)
def test_a_target_is_due_once_its_interval_has_elapsed_since_its_last_run(target, age_hours, due):
    run_of(target, age_hours=age_hours)

    assert (target.pk in due_ids()) is due


def test_the_newest_run_counts_whatever_its_outcome(target):
    run_of(target, age_hours=48)
    run_of(target, age_hours=1, status=RunStatus.FAILED)

    assert due_ids() == set()
    assert due_ids(NOW + timedelta(hours=5)) == {target.pk}


def test_each_target_has_its_own_interval(service, target):
    hourly = AwsTargetFactory(
        service=ServiceFactory(team=service.team, slug="ledger"), collection_interval_hours=1
    )
    daily = AwsTargetFactory(
        service=ServiceFactory(team=service.team, slug="fx-rates"), collection_interval_hours=24
    )
    for t in (target, hourly, daily):
        run_of(t, age_hours=2)

    assert due_ids() == {hourly.pk}
    assert due_ids(NOW + timedelta(hours=4)) == {hourly.pk, target.pk}
    assert due_ids(NOW + timedelta(hours=22)) == {hourly.pk, target.pk, daily.pk}


def test_disabled_targets_are_skipped(target, no_region_tasks):
    target.enabled = False
    target.save()

    assert due_ids() == set()
    assert collection_schedule_due(now=NOW) == []
    assert not CollectionRun.objects.exists()
    assert not AuditEvent.objects.filter(action="collection.run_start").exists()


@pytest.mark.parametrize("status", [RunStatus.QUEUED, RunStatus.RUNNING])
def test_a_target_with_a_run_in_progress_is_skipped(target, status, no_region_tasks):
    run_of(target, age_hours=30)
    active = run_of(target, age_hours=1, status=status)
    # Even once the interval has elapsed since the active run was created.
    later = NOW + timedelta(hours=3)

    assert target.pk not in due_ids(later)
    assert collection_schedule_due(now=later) == []
    assert list(CollectionRun.objects.filter(aws_target=target, status=status)) == [active]
    assert CollectionRun.objects.filter(aws_target=target).count() == 2


def test_scheduled_runs_are_incremental_from_the_last_good_run_and_audited(
    service, target, no_region_tasks, django_capture_on_commit_callbacks
):
    good = run_of(target, age_hours=30, status=RunStatus.SUCCEEDED)
    run_of(target, age_hours=10, status=RunStatus.FAILED)  # newer, but not a baseline
    fresh = AwsTargetFactory(
        service=ServiceFactory(team=service.team, slug="ledger"), regions=["eu-central-1"]
    )
    recent = AwsTargetFactory(service=ServiceFactory(team=service.team, slug="fx-rates"))
    run_of(recent, age_hours=1)

    with django_capture_on_commit_callbacks(execute=True):
        started = collection_schedule_due(now=NOW)

    assert {run.aws_target_id for run in started} == {target.pk, fresh.pk}
    ids = [run.pk for run in started]
    by_target = {run.aws_target_id: run for run in CollectionRun.objects.filter(pk__in=ids)}
    run = by_target[target.pk]
    assert (run.status, run.mode, run.trigger) == (
        RunStatus.QUEUED,
        RunMode.INCREMENTAL,
        RunTrigger.SCHEDULED,
    )
    assert run.requested_by is None
    assert run.baseline_run_id == good.pk
    assert (run.account_id, run.role_arn) == (target.account_id, target.role_arn)
    assert by_target[fresh.pk].baseline_run is None  # nothing to reuse yet: collects in full
    assert list(run.region_runs.values_list("region", "status")) == [
        ("eu-west-1", RegionStatus.PENDING),
        ("us-east-1", RegionStatus.PENDING),
    ]
    # One region task per region of every started run, enqueued once the runs committed.
    assert sorted(no_region_tasks) == sorted(
        RegionRun.objects.filter(run__in=ids).values_list("pk", flat=True)
    )
    events = AuditEvent.objects.filter(action="collection.run_start").order_by("seq")
    assert [(e.object_id, e.service_slug) for e in events] == [
        (str(r.pk), r.service.slug) for r in sorted(started, key=lambda r: r.pk)
    ]
    event = events.get(object_id=str(run.pk))
    assert (event.actor_type, event.actor_label, event.actor_user) == (
        ActorType.SYSTEM,
        "collection-scheduler",
        None,
    )
    assert event.after == {
        "account_id": target.account_id,
        "regions": ["eu-west-1", "us-east-1"],
        "mode": RunMode.INCREMENTAL,
        "trigger": RunTrigger.SCHEDULED,
        "role_arn": target.role_arn,
    }


def test_a_second_tick_right_after_starts_nothing(target, no_region_tasks):
    first = collection_schedule_due(now=NOW)

    assert [r.aws_target_id for r in first] == [target.pk]
    assert collection_schedule_due(now=NOW + timedelta(minutes=15)) == []
    assert CollectionRun.objects.count() == 1
    assert AuditEvent.objects.filter(action="collection.run_start").count() == 1


def test_beat_runs_the_scheduler_every_quarter_hour_and_the_task_counts_started_runs(
    target, no_region_tasks
):
    [(name, entry)] = BEAT_ENTRY.items()
    assert (
        app.conf.beat_schedule[name]
        == entry
        == {
            "task": "collection.schedule_due_runs",
            "schedule": 15 * 60,
        }
    )
    assert app.tasks["collection.schedule_due_runs"].name == tasks.schedule_due_runs.name

    assert tasks.schedule_due_runs.apply().get() == 1
    assert CollectionRun.objects.get().trigger == RunTrigger.SCHEDULED


def test_a_stale_active_run_does_not_block_the_schedule_forever(target, no_region_tasks):
    stale = run_of(target, age_hours=72, status=RunStatus.RUNNING)

    started = collection_schedule_due(now=NOW)

    assert [r.aws_target_id for r in started] == [target.pk]
    stale.refresh_from_db()
    assert stale.status == RunStatus.FAILED
    assert "did not finish within 6 hours" in stale.error_summary
    event = AuditEvent.objects.get(action="collection.run_finish", object_id=str(stale.pk))
    assert (event.before["status"], event.after["status"]) == (RunStatus.RUNNING, "failed")


def test_a_recent_active_run_still_blocks_the_schedule(target, no_region_tasks):
    """Due by its interval (1 h), but its run of 2 hours ago (younger than the 6-hour stale
    limit) may still be working."""
    target.collection_interval_hours = 1
    target.save(update_fields=["collection_interval_hours"])
    running = run_of(target, age_hours=2, status=RunStatus.RUNNING)

    assert collection_schedule_due(now=NOW) == []
    running.refresh_from_db()
    assert running.status == RunStatus.RUNNING
