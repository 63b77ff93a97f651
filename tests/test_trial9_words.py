"""The ninth bokmål trial's two wording points: a warning acknowledged was said to be an
alarm («Alarmen er kvittert: usikre målinger fra pulsbeltet …» under «ADVARSEL»), and keeping
the makspuls after an interrupted 6-minute test was said as «avvist» (nothing was proposed, so
nothing was rejected). Through the session core's own events and the console's end summary."""

from __future__ import annotations

import pytest

from controller.core import i18n


@pytest.fixture
def nb():
    i18n.set_language("nb")
    yield
    i18n.set_language("en")


def _held_strap_warning():
    """A session holding the strap-readings warning (what the trial acknowledged)."""
    from controller.core.plan import default_4x4
    from controller.protocol import PatientProfile, Session

    s = Session(PatientProfile(hr_max=183.0, max_speed_kmh=8.0, pseudonym="P-7"),
                default_4x4(183.0))
    s._hold("strap_missing_beats", "the strap reads too low", "warning")  # as the gate does
    return s


def test_a_warning_acknowledged_is_said_as_a_warning(nb):
    from controller.core.words import event_text

    s = _held_strap_warning()
    s.acknowledge("strap_missing_beats")
    kind, message, _sev, params = s._pending[-1]
    said = event_text(kind, message, params)
    assert said.startswith("Advarselen er kvittert: "), said
    assert "Alarmen" not in said


def test_keeping_the_makspuls_after_an_interrupted_test_is_not_said_rejected(nb):
    from controller.core.six_minute_text import six_minute_summary_lines

    proposal = {"hr_max_bpm": None, "interrupted_after_s": 52, "decision": "rejected",
                "rpe": 15}
    lines = six_minute_summary_lines({"distance_m": 300.0, "peak_hr_bpm": 150.0}, proposal)
    text = " ".join(lines)
    assert "makspulsen i bruk beholdes" in text, text
    assert "avvist" not in text, text
