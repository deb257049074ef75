from django import forms

from accounts.models import Team
from notifications.choices import Event


class PreferencesForm(forms.Form):
    events = forms.MultipleChoiceField(
        label="E-mail me when",
        choices=Event.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class WebhookForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100)
    url = forms.URLField(
        label="Endpoint URL",
        max_length=500,
        assume_scheme="https",
        help_text="HTTPS; receives signed JSON POSTs.",
    )
    team = forms.ModelChoiceField(
        label="Team",
        queryset=Team.objects.none(),
        required=False,
        help_text="Events of this team's services. Platform admins may leave it empty for all.",
    )
    events = forms.MultipleChoiceField(
        label="Events", choices=Event.choices, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        teams = Team.objects.order_by("name")
        if not user.is_platform_admin:
            teams = teams.filter(pk__in=user.team_ids)
            self.fields["team"].required = True
        self.fields["team"].queryset = teams


class WebhookUpdateForm(forms.Form):
    events = forms.MultipleChoiceField(
        label="Events", choices=Event.choices, widget=forms.CheckboxSelectMultiple
    )
    is_active = forms.BooleanField(label="Active", required=False)
