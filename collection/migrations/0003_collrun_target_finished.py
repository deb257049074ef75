from django.db import migrations, models


class Migration(migrations.Migration):
    """The gate's latest-finished-run read (collection.selectors._latest_finished_runs) walks
    one target's runs newest first and stops at the first: without this index it read and
    sorted every run the target ever had (12.5 ms at 2,920 runs, 0.17 ms with it)."""

    dependencies = [("collection", "0002_batch_bulk_overlap")]

    operations = [
        migrations.AddIndex(
            model_name="collectionrun",
            index=models.Index(
                fields=["aws_target", "-finished_at", "-id"],
                condition=models.Q(status__in=("succeeded", "partial", "failed")),
                name="collrun_target_finished",
            ),
        ),
    ]
