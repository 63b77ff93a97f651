"""The bokmål trial of 6 December (evening): where the patient's progression speaks of a
heart rate above the profile's makspuls, the console's history said «HRmax: en puls på 152
slag/min ble registrert, over profilens makspuls» and `fourbyfour progression` printed
«Makspuls: a heart rate of 152 bpm was recorded, above the profile's 150.» (English, 'bpm').
The lines after it began in lower case («lært pulsrespons (06.12.2026): …»)."""

from __future__ import annotations

import asyncio

import pytest
from textual.app import App
from textual.widgets import Static

from controller.app.commands.patients import progression_text
from controller.app.screens import HistoryScreen
from controller.core import i18n
from tests.test_glossary import hits

PROG = {"pseudonym": "P-17", "sessions": [], "sessions_per_week": 1.0,
        "sessions_per_week_target": 2, "work_at_90_trend_vo2_per_week": None,
        "vo2max_trend_per_week": None, "hr_at_fixed_workload_trend_bpm_per_week": None,
        "trend_rule": "x",
        "hr_max_suggestion": {"hr_max_bpm": 152.0, "source": "observed_peak",
                              "profile_hr_max_bpm": 150.0,
                              "why": "a heart rate of 152 bpm was recorded, above the "
                                     "profile's 150"}}


@pytest.fixture
def nb():
    i18n.set_language("nb")
    yield
    i18n.set_language("en")


def test_the_progression_says_the_high_heart_rate_in_bokmal(nb):
    text = progression_text(PROG)
    last = text.splitlines()[-1]
    assert "heart rate" not in last and "bpm" not in last, last
    assert "152 slag/min" in last and "150" in last, last
    assert hits(last) == [], last


def test_the_history_names_makspuls_and_its_lines_begin_with_a_capital(nb):
    history = {"pseudonym": "P-17", "sessions": [], "sessions_counted": 0,
               "hr_max_suggestion": PROG["hr_max_suggestion"],
               "response_model": {"refused": "for få økter"}}

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(HistoryScreen(history))

    async def main() -> list[str]:
        app = Host()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            return str(app.screen.query_one("#history", Static).render()).splitlines()

    lines = asyncio.run(main())
    said = "\n".join(lines)
    assert "HRmax" not in said and hits(said) == [], said
    for line in lines[1:]:
        if line.strip() and line.strip()[0].isalpha():
            assert line.strip()[0].isupper(), line


def test_the_handover_pdf_is_titled_in_the_readers_language(tmp_path):
    """The trial: a PDF viewer listed the bokmål hand-over as «4x4 hand-over OUS-0042»."""
    from tests.test_one_language import cli, pdf_title

    db = tmp_path / "h.db"
    cli("demo", "--fast", "--weeks", "1", "--patient", "P-17", "--store", str(db))
    for lang, word in (("nb", "overlevering"), ("en", "hand-over")):
        out = tmp_path / f"h-{lang}.pdf"
        cli("handover", "P-17", "--store", str(db), "--out", str(out), "--lang", lang)
        title = pdf_title(out)
        assert word in title and "P-17" in title, (lang, title)
