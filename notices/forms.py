from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from notices.models import SuspiciousReport


class VerifyForm(forms.Form):
    reference = forms.CharField(
        label=_("The reference in the message"),
        max_length=40,
        help_text=_("Twelve letters and digits, like K7QM-3TXP-9HWC."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )


class SuspiciousReportForm(forms.ModelForm):
    class Meta:
        model = SuspiciousReport
        fields = ["channel", "sender", "reference", "message", "contact"]
        widgets = {"message": forms.Textarea(attrs={"rows": 6})}
