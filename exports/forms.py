"""Forms for requesting exports (thin: exports.services.export_request validates again)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from exports.choices import ExportFormat
from exports.selectors import exportable_services_for, frameworks_for_export
from exports.services import DEFAULT_PERIOD_DAYS


class DateInput(forms.DateInput):
    input_type = "date"


def _today() -> dt.date:
    return timezone.now().date()


def _year_ago() -> dt.date:
    return _today() - dt.timedelta(days=DEFAULT_PERIOD_DAYS)


class FormatForm(forms.Form):
    format = forms.ChoiceField(
        label="Format", choices=ExportFormat.choices, initial=ExportFormat.PDF
    )


class PeriodMixin(forms.Form):
    period_start = forms.DateField(label="Period from", widget=DateInput, initial=_year_ago)
    period_end = forms.DateField(label="Period to", widget=DateInput, initial=_today)

    def clean(self):
        data = super().clean()
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and start > end:
            self.add_error("period_end", "The period ends before it starts.")
        return data


class ServiceExportForm(PeriodMixin, FormatForm):
    service = forms.ModelChoiceField(label="Service", queryset=None, to_field_name="slug")

    field_order = ["service", "period_start", "period_end", "format"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = exportable_services_for(user)


class FrameworkExportForm(PeriodMixin, FormatForm):
    framework = forms.ModelChoiceField(label="Framework", queryset=None)
    services = forms.ModelMultipleChoiceField(
        label="Services",
        queryset=None,
        required=False,
        to_field_name="slug",
        help_text="Leave empty for every service you may export.",
    )
    environment = forms.CharField(
        label="Environment",
        required=False,
        max_length=32,
        help_text="e.g. prod; leave empty for every environment.",
    )

    field_order = ["framework", "services", "environment", "period_start", "period_end", "format"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["framework"].queryset = frameworks_for_export()
        self.fields["framework"].label_from_instance = lambda f: (
            f"{f.name} {f.version} (catalog {f.catalog_version.version})".strip()
        )
        self.fields["services"].queryset = exportable_services_for(user)
        self.fields["services"].widget.attrs["size"] = 8
