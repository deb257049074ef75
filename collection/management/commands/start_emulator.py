from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the AWS emulator (moto server plus the portal's additions) in the foreground."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=5000)
        parser.add_argument("--lambda-rps", type=float, default=None)

    def handle(self, *args, host, port, lambda_rps, **options):
        from collection.emulator_server import main

        argv = ["-H", host, "-p", str(port)]
        if lambda_rps:
            argv += ["--lambda-rps", str(lambda_rps)]
        main(argv)
