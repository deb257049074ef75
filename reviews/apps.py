from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"

    def ready(self):
        try:
            from collection.signals import run_finished
        except ImportError:  # collection not built yet: no drift detection
            return
        from reviews.drift import on_run_finished

        run_finished.connect(on_run_finished, dispatch_uid="reviews.drift")
