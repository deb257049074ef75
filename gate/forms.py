from django import forms

from gate.choices import Scope


class TokenForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="What the token is for, e.g. 'laptop CLI'.")
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, widget=forms.CheckboxSelectMultiple, initial=[Scope.READ]
    )
    expires_in_days = forms.IntegerField(
        min_value=1, max_value=365, initial=30, label="Expires in (days)"
    )
    services = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave empty for every service you can see.",
    )

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["services"].queryset = services
