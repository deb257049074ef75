"""Input forms of the review pages: they validate shape only; rules live in the workflow."""

from datetime import datetime, time

from django import forms
from django.utils import timezone

from reviews.choices import ItemOutcome, Verdict


def _end_of_day(value):
    if value is None:
        return None
    return timezone.make_aware(datetime.combine(value, time(23, 59, 59)))


def _start_of_day(value):
    if value is None:
        return None
    return timezone.make_aware(datetime.combine(value, time.min))


def _text(rows: int, **kwargs) -> forms.CharField:
    """A text field typed into a box ``rows`` lines high."""
    return forms.CharField(widget=forms.Textarea(attrs={"rows": rows}), **kwargs)


class DateInput(forms.DateInput):
    input_type = "date"


class OpenReviewForm(forms.Form):
    environment = forms.ChoiceField(label="Environment")

    def __init__(self, *args, service, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["environment"].choices = [(e, e) for e in service.environments]


class VersionedForm(forms.Form):
    """Carries the review version the user saw, so a stale page cannot act."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ItemOutcomeForm(VersionedForm):
    outcome = forms.ChoiceField(choices=ItemOutcome.choices, label="Outcome")
    reason = _text(2, required=False, label="Reason", help_text="Required when not applicable.")
    waiver = forms.ModelChoiceField(
        queryset=None, required=False, label="Waiver", help_text="Required when waived."
    )

    def __init__(self, *args, waivers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["waiver"].queryset = waivers


class EvidenceUploadForm(VersionedForm):
    file = forms.FileField(label="File")
    title = forms.CharField(max_length=200, required=False, label="Title")
    period_start = forms.DateField(required=False, widget=DateInput, label="Covers from")
    period_end = forms.DateField(required=False, widget=DateInput, label="Covers until")

    def clean(self):
        data = super().clean()
        data["period_start"] = _start_of_day(data.get("period_start"))
        data["period_end"] = _end_of_day(data.get("period_end"))
        return data


class EvidenceLinkForm(VersionedForm):
    url = forms.URLField(max_length=2000, label="Link", assume_scheme="https")
    title = forms.CharField(max_length=200, required=False, label="Title")


class EvidencePickForm(VersionedForm):
    evidence = forms.ModelChoiceField(queryset=None, label="Evidence already collected")

    def __init__(self, *args, evidence, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["evidence"].queryset = evidence


class CheckResultPickForm(VersionedForm):
    check_result = forms.TypedChoiceField(coerce=int, label="Automated check result")

    def __init__(self, *args, results, **kwargs):
        super().__init__(*args, **kwargs)
        self.results = results
        self.fields["check_result"].choices = [
            (r.pk, f"{r.get_status_display()} · {r.resource} · {r.evaluated_at:%Y-%m-%d %H:%M}")
            for r in results
        ]

    def clean_check_result(self):
        """The chosen result itself (the choices are exactly ``results``)."""
        pk = self.cleaned_data["check_result"]
        return next(r for r in self.results if r.pk == pk)


class CommentForm(forms.Form):
    body = _text(3, label="Comment")


class VerdictForm(VersionedForm):
    verdict = forms.ChoiceField(
        choices=[(Verdict.ACCEPTED, "Accept"), (Verdict.REJECTED, "Reject")], label="Verdict"
    )
    comment = _text(2, required=False, label="Comment", help_text="Required when rejecting.")


class RequestChangesForm(VersionedForm):
    comment = _text(
        3,
        required=False,
        label="What must change",
        help_text="Rejected items' comments are sent too.",
    )


class SignOffForm(VersionedForm):
    role = forms.ChoiceField(label="Sign off as")
    comment = _text(2, required=False, label="Comment")

    def __init__(self, *args, roles=None, **kwargs):
        super().__init__(*args, **kwargs)
        if roles is None:  # posted: any role passes here, the workflow decides who signs as what
            roles = [self.data.get("role", "")]
        self.fields["role"].choices = [(r, r) for r in roles]


class ReasonForm(forms.Form):
    reason = _text(2, label="Reason")


class WaiverRequestForm(forms.Form):
    control_code = forms.ChoiceField(label="Control")
    justification = _text(3)
    compensating_controls = _text(3)
    risk_owner = forms.CharField(max_length=200, help_text="Who accepts the risk (name, role).")
    expires_on = forms.DateField(widget=DateInput, label="Expires on")
    release = forms.CharField(max_length=100, required=False, help_text="Optional: one release.")
    commit_sha = forms.CharField(
        max_length=40, required=False, label="Commit", help_text="Optional: one commit SHA."
    )

    def __init__(self, *args, controls, max_days, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["control_code"].choices = [(c.code, f"{c.code} {c.title}") for c in controls]
        self.fields["expires_on"].help_text = f"At most {max_days} days from today for this tier."

    def clean(self):
        data = super().clean()
        data["expires_at"] = _end_of_day(data.pop("expires_on", None))
        return data


class WaiverDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    comment = _text(2, required=False, help_text="Required when rejecting.")
    expires_on = forms.DateField(
        widget=DateInput, required=False, label="Shorten expiry to", help_text="Optional."
    )

    def clean(self):
        data = super().clean()
        data["approve"] = data.get("decision") == "approve"
        data["expires_at"] = _end_of_day(data.pop("expires_on", None))
        return data
