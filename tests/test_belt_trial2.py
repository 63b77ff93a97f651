"""Issue 21, the bokmål new-nurse trial on the patient's belt screen (second round), through
the page as rendered in headless chromium (``test_beltview.belt_rig``): one rounding rule for
the zone's edges on the console and the belt, no heart-rate number beside "can't find your
heart rate", and a calm, true screen after the treadmill stopped by itself."""

from __future__ import annotations

import asyncio
import re
from collections import deque

import pytest

from controller.app.console import zone_text
from controller.core.i18n import set_language
from controller.service.control_socket import snapshot_doc
from controller.service.messages import StateDoc
from tests.test_beltview import _run, _text, _to_interval, _until, belt_rig

PAIRS_JS = """() => {
  window.__pairs = [];
  const $ = (id) => document.getElementById(id);
  const note = () => window.__pairs.push([$("hr").textContent, $("zonetext").textContent,
                                          $("shape").textContent, $("heart").className]);
  new MutationObserver(note).observe(document.body, {subtree: true, childList: true,
                                                     characterData: true, attributes: true});
}"""
"""Every state of the heart panel the page showed, as the patient saw it (number and word
together)."""


def _edges(text: str) -> tuple[str, str]:
    m = re.search(r"(\d+)–(\d+) slag/min", text)
    assert m is not None, text
    return m.group(1), m.group(2)


@pytest.mark.parametrize("hr_max", [150.0, 171.0, 183.0, 199.0])
def test_the_console_and_the_belt_say_the_same_zone(tmp_path, hr_max):
    """Trial: makspuls 150, the console said «sone 128–142 slag/min» (142.5 rounded half to
    even), the belt «Mål 128–143 slag/min» (half up). One rule: ``metrics.shown_bpm``."""

    async def main() -> None:
        async with belt_rig(tmp_path, hr_max=hr_max) as rig:
            rig.hr[0] = 0.8 * hr_max
            await _to_interval(rig)
            await _until(rig.page, "document.getElementById('target').textContent"
                                   ".startsWith('Mål ')")
            belt = await _text(rig.page, "#target")
            set_language("nb")
            doc = StateDoc.from_wire(snapshot_doc(rig.rt, rig.rt.snapshot, deque()))
            console = zone_text(doc).splitlines()[0]
            assert console.startswith("sone "), console
            assert _edges(console) == _edges(belt), (console, belt)
            lo, hi = 0.85 * hr_max, 0.95 * hr_max
            assert _edges(belt) == (str(int(lo + 0.5)), str(int(hi + 0.5))), belt

    _run(main())


def test_a_page_that_cannot_find_the_heart_rate_shows_no_heart_rate_number(tmp_path):
    """Trial: during a dropout the page showed «?159» beside «Finner ikke pulsen»: the session
    still held the belt (hr_hold / hr_slow) while the strap's reading was back, or the page
    still kept the last number. Now the number and the words never disagree."""

    async def main() -> None:
        async with belt_rig(tmp_path) as rig:
            page = rig.page
            rig.hr[0] = 150.0
            await _to_interval(rig)
            await page.evaluate(PAIRS_JS)
            for _ in range(2):
                rig.hr[0] = None  # the strap is off
                await _until(page, "document.getElementById('zonetext').textContent === "
                                   "'Finner ikke pulsen'")
                await asyncio.sleep(1.5)  # 15 s: the session slows the belt
                rig.hr[0] = 150.0  # the strap is back
                await _until(page, "/^[0-9]+$/.test(document.getElementById('hr')"
                                   ".textContent) && document.getElementById('zonetext')"
                                   ".textContent !== 'Finner ikke pulsen'")
                await asyncio.sleep(1.0)
            pairs = await page.evaluate("window.__pairs")
            missing = [p for p in pairs if p[1] == "Finner ikke pulsen"]
            assert missing, pairs
            bad = [p for p in missing if re.search(r"\d", p[0]) or "?" in p[2]]
            assert not bad, bad[:5]
            assert {p[0] for p in missing} == {"–"}, {p[0] for p in missing}

    _run(main())


def test_a_belt_that_stopped_by_itself_says_so_calmly_and_never_looks_broken(tmp_path):
    """Trial: after a treadmill fault (the board latched host_silent under load) the page
    went grey with «Venter på tredemøllen» and nothing for the patient. Under load the
    service's stream to the page drops too; the page lost the stop's line at once and covered
    everything with the grey, breathing "waiting" cover. A stop by the board is latched (a
    person must reset it), so its line stays true while the page reconnects."""

    async def main() -> None:
        async with belt_rig(tmp_path) as rig:
            page = rig.page
            rig.hr[0] = 150.0
            await _to_interval(rig)
            await rig.tm.wait_status(lambda s: s.speed_kmh > 0.5, 30)
            rig.emu.deafen(1.5)  # the board hears nothing: host_silent latches
            await rig.tm.wait_status(lambda s: s.state == "fault", 30)
            await _until(page, "document.getElementById('guidance').textContent"
                               ".startsWith('Båndet har stoppet av seg selv')", 30)
            assert await _text(page, "#guidance") == \
                "Båndet har stoppet av seg selv – du kan gå rolig av. " \
                "Personalet har fått beskjed"
            await page.evaluate(COVER_JS)
            # the loaded service drops the page's stream for a while, then serves it again
            serve = next(t for t in asyncio.all_tasks()
                         if t.get_coro().__qualname__.startswith("BeltView.serve"))
            serve.cancel()
            await asyncio.gather(serve, return_exceptions=True)
            await asyncio.sleep(4.0)
            body = await page.evaluate("document.body.innerText")
            await rig.view.start()
            again = asyncio.create_task(rig.view.serve())
            try:
                await asyncio.sleep(2.0)
                covers = await page.evaluate("window.__covers")
                assert not covers, (covers, body)
                assert "Venter på tredemøllen" not in body, body
                assert "Båndet har stoppet av seg selv" in body, body
                assert "hos deg" not in body and "kommer" not in body, body
            finally:
                again.cancel()
                await asyncio.gather(again, return_exceptions=True)

    _run(main())


COVER_JS = """() => {
  window.__covers = [];
  const w = document.getElementById("waiting");
  new MutationObserver(() => {
    if (!w.classList.contains("hidden") || document.body.classList.contains("waiting"))
      window.__covers.push(performance.now());
  }).observe(document.body, {subtree: true, attributes: true});
}"""
"""Every moment the page put up its grey "waiting for the treadmill" cover."""
