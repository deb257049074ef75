from django.core.management.base import BaseCommand, CommandError

from audit.context import Actor
from controls.services import CatalogError, catalog_load
from controls.services.loader import DEFAULT_CATALOG_DIR
from portal.errors import DomainError


class Command(BaseCommand):
    help = "Validate and load the YAML control catalog as a new, current catalog version."

    def add_arguments(self, parser):
        parser.add_argument(
            "path",
            nargs="?",
            default=str(DEFAULT_CATALOG_DIR),
            help="Catalog directory (default: controls/catalog/).",
        )

    def handle(self, *args, path, **options):
        try:
            result = catalog_load(actor=Actor.system("manage.py load_catalog"), path=path)
        except CatalogError as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(
                f"The catalog is invalid ({len(exc.problems)} problem(s)); nothing was loaded."
            ) from exc
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(result.summary())
