from django import forms

from audit.choices import Outcome


class AuditFilterForm(forms.Form):
    service = forms.SlugField(required=False, label="Service", help_text="Service slug")
    actor = forms.CharField(
        required=False, max_length=255, label="Actor", help_text="Exact username or CI identity"
    )
    action = forms.CharField(
        required=False, max_length=64, label="Action", help_text="Prefix, e.g. review."
    )
    outcome = forms.ChoiceField(
        required=False, choices=[("", "Any"), *Outcome.choices], label="Outcome"
    )
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs["aria-describedby"] = f"id_{name}-help"

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end date is before the start date.")
        return data
