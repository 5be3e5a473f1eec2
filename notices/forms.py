from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.forms import SixDigitCodeField
from customers.models import Language
from notices.models import SuspiciousReport
from notices.references import MALFORMED, normalise_reference


class VerifyForm(forms.Form):
    reference = forms.CharField(
        label=_("The reference in the message"),
        max_length=40,
        help_text=_("Twelve letters and digits, like K7QM-3TXP-9HWC."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )

    def clean_reference(self) -> str:
        reference = normalise_reference(self.cleaned_data["reference"])
        if reference is None:
            raise forms.ValidationError(MALFORMED, code="malformed")
        return reference


class SuspiciousReportForm(forms.ModelForm):
    class Meta:
        model = SuspiciousReport
        fields = ["channel", "sender", "reference", "message", "contact"]
        widgets = {"message": forms.Textarea(attrs={"rows": 6})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Django's "---------" is read out as dashes, in any language.
        self.fields["channel"].choices = [
            ("", _("Choose one")),
            *SuspiciousReport.Channel.choices,
        ]


class PreferencesForm(forms.Form):
    """How a customer wants to hear from us, and in which language."""

    preferred_channel = forms.ChoiceField(
        label=_("How should we contact you first?"),
        widget=forms.RadioSelect,
        required=False,
        help_text=_("If we cannot reach you that way, we try the others."),
    )
    preferred_language = forms.ChoiceField(
        label=_("Language"), widget=forms.RadioSelect, choices=Language.choices
    )

    def __init__(self, *args, channels: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["preferred_channel"].choices = [("", _("No preference")), *channels]


class ContactChangeForm(forms.Form):
    value = forms.CharField(max_length=254)

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, prefix=kind, **kwargs)
        field = self.fields["value"]
        if kind == "email":
            field.label = _("New email address")
            field.widget = forms.EmailInput(attrs={"autocomplete": "email"})
        else:
            field.label = _("New mobile number")
            field.help_text = _("For example 0412 345 678.")
            field.widget = forms.TextInput(
                attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}
            )


class ContactConfirmForm(forms.Form):
    code = SixDigitCodeField(label=_("The 6-digit code we sent"))
