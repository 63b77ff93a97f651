"""What the console's status lines say in the states staff reported as confusing."""

import asyncio
from typing import ClassVar

import pytest
from textual.widgets import Static

from controller.core import i18n
from tests.test_snapshots import STATE, FixedConsole


def _text(state: dict, widget: str, lang: str = "nb") -> str:
    class Console(FixedConsole):
        fixed: ClassVar[dict] = state

    async def main() -> str:
        app = Console("/nonexistent.sock")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            return str(app.query_one(widget, Static).render())

    i18n.set_language(lang)
    try:
        return asyncio.run(main())
    finally:
        i18n.set_language("en")


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_a_session_stopped_by_staff_says_stopped_once(lang):
    """Was "FERDIG · ferdig": the phase and the state said the same word, and a stopped
    session looked finished."""
    done = dict(STATE, phase="done", state="done", interval=0, ended_by="stopped by staff",
                alarms={}, alarm_list=[])
    text = _text(done, "#phase", lang)
    stopped, finished = ("STOPPET", "ferdig") if lang == "nb" else ("STOPPED", "done")
    assert stopped in text and finished not in text.lower(), text
    plan_done = dict(done, ended_by="plan")
    text = _text(plan_done, "#phase", lang)
    assert text.lower().count(finished) == 1, text


def test_a_paused_belt_is_not_said_to_be_running():
    """After a pause the board is still enabled at 0 km/h: the console said "går"."""
    paused = dict(STATE, state="paused", speed_kmh=0.0, speed_set_kmh=0.0, treadmill="running")
    text = _text(paused, "#links")
    assert "går" not in text and "står" in text, text


def test_a_board_fault_is_named_in_words_not_by_its_key():
    """Was "tredemølle: feil: estop" (the firmware's key) in the bokmål console."""
    faulted = dict(STATE, state="paused", speed_kmh=0.0, treadmill="fault: estop")
    text = _text(faulted, "#links")
    assert "estop" not in text and "feil: nødstopp" in text, text
    assert "key_pulled" not in _text(dict(faulted, treadmill="fault: key_pulled"), "#links")
