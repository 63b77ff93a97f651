"""Issue 21 (a bokmål trial): a fresh load of the belt page while a session ran showed
«Venter på tredemøllen» for a moment (3 of 35 screenshots): the page painted its waiting
cover until the first document arrived on ``/events``. The page must draw the current state
from its first paint. Real headless chromium, every animation frame looked at."""

from __future__ import annotations

import asyncio

from tests.test_beltview import _browser, _phase, _run, belt_rig

FRAMES_JS = """() => {
  window.__frames = [];
  const look = () => {
    const w = document.getElementById("waiting"), ph = document.getElementById("phase");
    if (w && ph) window.__frames.push({
      waiting: !w.classList.contains("hidden") && getComputedStyle(w).display !== "none",
      phase: ph.textContent, body: document.body.className});
    if (window.__frames.length < 90) requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
}"""
"""Each frame the page paints from its first one: is the waiting cover shown, what phase."""


def test_a_fresh_load_during_a_session_draws_the_session_from_its_first_paint(tmp_path):
    """The stream is slow to answer (a loaded Pi, a tablet on Wi-Fi: ``/events`` held back
    1.5 s here): no frame shows the waiting cover or an empty phase; the first says
    «Oppvarming». The page still follows the stream after it."""
    async def main():
        async with belt_rig(tmp_path) as rig:
            rig.rt.start()
            await _phase(rig.page, "Oppvarming")
            from playwright.async_api import async_playwright

            async with async_playwright() as p:
                browser = await _browser(p)
                page = await browser.new_page(viewport={"width": 1280, "height": 720})

                async def slow(route):
                    await asyncio.sleep(1.5)
                    await route.continue_()

                await page.route("**/events", slow)
                await page.add_init_script(f"({FRAMES_JS})()")
                await page.goto(rig.view.url.replace("localhost", "127.0.0.1"))
                await asyncio.sleep(1.0)  # frames before the stream answers
                early = await page.evaluate("window.__frames.slice()")
                await page.wait_for_function(
                    "/^[0-9]+$/.test(document.getElementById('hr').textContent)")
                await browser.close()
            return early

    frames = _run(main())
    assert frames, "no frame was painted"
    assert not any(f["waiting"] for f in frames), frames[:5]
    assert all(f["phase"] == "Oppvarming" for f in frames), frames[:5]
