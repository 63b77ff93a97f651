"""Issue 23 (s7rec): the staff docs called the same warning «oransje» (okt.md, the monitor)
and «gult» (alarmer.md, the console and the monitor), and the screens drew it in two colours
(the console yellow, the monitor amber). One colour for a warning on every screen, and the
one word for it in every staff doc. Through the screens as rendered (Textual Pilot): the
console's alarm box with the strap's warning, the monitor's row with it."""

import asyncio
import re
from pathlib import Path

from rich.color import Color
from rich.text import Text
from textual.widgets import DataTable, Static

from controller.core import i18n
from controller.protocol import STRAP_ALARM
from tests.test_console import _Stepped, tmp_sock
from tests.test_console_alarm_lines import STRAP
from tests.test_monitor import T0, Offline, rendered, running, settle

DOCS = Path(__file__).resolve().parent.parent / "docs" / "personale"
WORDS = {"dark_orange": "oransje", "orange": "oransje", "yellow": "gul"}
"""The bokmål word for a colour the screens use."""


def _console_warning_colour() -> Color:
    async def main() -> Color:
        app = _Stepped(tmp_sock())
        async with app.run_test(size=(80, 24)) as pilot:
            app.feed(alarm_list=[STRAP], alarms={STRAP["kind"]: STRAP["message"]})
            await pilot.pause()
            text = Text.from_markup(str(app.query_one("#alarms", Static).content))
            colour = text.get_style_at_offset(app.console, 0).color
            assert colour is not None, (text.plain, text.spans)
            return colour

    return asyncio.run(asyncio.wait_for(main(), 60))


def _monitor_warning_colour() -> Color:
    async def main() -> Color:
        app = Offline(lambda: T0, command_key=lambda site, device: b"k" * 32)
        async with app.run_test(size=(80, 24)) as pilot:
            running(app, "oslo", "tm-1", now=T0, session="S1", alarms=(STRAP_ALARM,))
            await settle(pilot, app)
            y = next(y for y, ln in enumerate(rendered(app)) if " tm-1" in ln)
            table = app.query_one(DataTable)
            colours = {seg.style.bgcolor or seg.style.color for seg in table.render_line(y)
                       if seg.text.strip() and seg.style}
            colours.discard(None)
            assert len(colours) == 1, colours
            return colours.pop()

    return asyncio.run(asyncio.wait_for(main(), 60))


def test_a_warning_has_one_colour_on_every_screen_and_one_word_in_the_docs():
    i18n.set_language("nb")
    try:
        console, monitor = _console_warning_colour(), _monitor_warning_colour()
    finally:
        i18n.set_language("en")
    assert console.get_truecolor() == monitor.get_truecolor(), (console, monitor)
    word = WORDS[monitor.name]
    other = {w for w in WORDS.values() if w != word}
    said = []
    for page in ("alarmer.md", "okt.md"):
        text = (DOCS / page).read_text(encoding="utf-8")
        for sentence in re.split(r"(?<=[.;])\s", text):
            if re.search(r"[Aa]dvarsle", sentence) and re.search(r"\bi (gult|oransje)", sentence):
                said.append((page, sentence))
    assert said, "the docs name no colour for warnings"
    for page, sentence in said:
        assert re.search(rf"advarsler?\w* i {word}", sentence, re.I) or \
            f"i {word}" in sentence, (page, sentence)
        assert not any(re.search(rf"\bi {w}t?\b", sentence) for w in other), (page, sentence)
