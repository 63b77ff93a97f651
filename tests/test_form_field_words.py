"""The patient form's refusals name a field with the words of its label (trial 11: the field
«fart i pulstesten km/t» was refused as «testens fart: skriv et tall …», so the nurse looked
for a field «testens fart»). Every number field's range and not-a-number refusals, in bokmål
and English, begin with its label's words (the unit and «(valgfri)» left out)."""

import re

import pytest

from controller.app.screens.patient import LIMITS, NOT_A_NUMBER
from controller.core.i18n import translations

LABELS = {"age": "age (optional)", "hr_max": "HRmax bpm", "hr_rest": "HRrest bpm (optional)",
          "max_speed": "max speed km/h", "max_incline": "max incline %",
          "pace": "6-minute test pace km/h"}
"""The form's label of each number field (``PatientScreen.compose``)."""


def _words(label: str) -> str:
    """A label's words without its unit or its «(valgfri)»."""
    label = re.sub(r"\s*\([^)]*\)", "", label)
    return re.sub(r"\s+(km/t|km/h|slag/min|bpm|%)$", "", label).strip()


@pytest.mark.parametrize("lang", ["nb", "en"])
@pytest.mark.parametrize("field", sorted(LABELS))
def test_a_refusal_names_the_field_as_its_label_does(field, lang):
    t = translations(lang).gettext
    name = _words(t(LABELS[field]))
    said = [t(LIMITS[field][2])] + ([t(NOT_A_NUMBER[field])] if field in NOT_A_NUMBER else [])
    for text in said:
        assert text.lower().startswith(name.lower()), (name, text)
