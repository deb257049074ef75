from django.apps import AppConfig


class GateConfig(AppConfig):
    name = "gate"

    def ready(self):
        from gate import schema  # noqa: F401 - registers the OpenAPI auth extensions
