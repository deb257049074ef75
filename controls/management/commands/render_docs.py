from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from controls.documents import DOCUMENTS, Package, render_markdown
from controls.selectors import catalog_by_version
from portal.errors import DomainError


class Command(BaseCommand):
    help = "Write the documentation package (Markdown) for a catalog version into docs/."

    def add_arguments(self, parser):
        parser.add_argument(
            "--catalog-version", default="", help="Catalog version (default: current)."
        )
        parser.add_argument("--out", default=str(Path(settings.BASE_DIR) / "docs"))

    def handle(self, *args, catalog_version, out, **options):
        try:
            catalog = catalog_by_version(catalog_version)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        package = Package.for_catalog(catalog)
        out_dir = Path(out)
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in DOCUMENTS:
            (out_dir / f"{name}.md").write_text(render_markdown(package, name), encoding="utf-8")
        self.stdout.write(
            f"Wrote {len(DOCUMENTS)} documents for catalog {catalog.version} to {out}"
        )
