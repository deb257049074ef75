from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Seed the AWS emulator with the demo functions (and N more compliant ones)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--endpoint", required=True, help="emulator URL, e.g. http://127.0.0.1:5000"
        )
        parser.add_argument("--functions", type=int, default=0)
        parser.add_argument("--prefix", default="bench-")

    def handle(self, *args, endpoint, functions, prefix, **options):
        from collection.emulator import seed

        created = seed(endpoint, functions=functions, prefix=prefix)
        self.stdout.write(f"Seeded {len(created['functions'])} functions at {endpoint}.")
