"""Issue 21 (h21rec, the bokmål fresh-clone trial): the belt page's end screen said «2 av 32
minutter i sonen denne uken», which reads to a patient as a shortfall. The week's minutes are
said as what was managed (the glossary's belt-screen tone: never a deficit), true and kind;
the goal is celebrated when it is reached. The page as rendered in headless chromium, after a
real session on the emulated firmware."""

from __future__ import annotations

import time

from controller.records.store import Store
from tests.test_beltview import _run, _text, _to_interval, belt_rig, record_session


def test_the_weeks_minutes_on_the_end_screen_are_said_as_mastery(tmp_path):
    store = Store(tmp_path / "s.db")
    # earlier this week: 150 s in the zone (2 whole minutes), far from the week's 32
    record_session(store, "earlier", time.time() - 120, 5.0, 6.0, n=150, pseudonym="P-7")
    store.clock = time.time

    async def main() -> None:
        async with belt_rig(tmp_path, store=store) as rig:
            rig.hr[0] = 150.0  # below today's zone: today adds nothing to the week
            await _to_interval(rig)
            rig.rt.stop()
            await rig.page.wait_for_selector("#mastery:not(.hidden)", timeout=60000)
            assert await _text(rig.page, "#masterytitle") == \
                "Økten er avsluttet – takk for innsatsen i dag"
            lines = await rig.page.locator("#masterylines li").all_text_contents()
            body = await rig.page.text_content("body") or ""
            assert "av 32" not in body and " av " not in " ".join(lines), lines
            assert "Denne uken så langt: 2 minutter i sonen" in lines, lines
            # stopped before the belt moved: nothing said of a run that did not happen
            assert not any("0,0\u00a0km/t" in t for t in lines), lines

    try:
        _run(main())
    finally:
        store.close()
