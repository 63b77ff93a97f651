"""A new nurse (s10, bokmål, 80×24): in the last 20–45 s of an active pause the control law
raises the load for the coming interval (its preview, ``Session.change_lead_s``), and the
console said only «4x4 · AKTIV PAUSE ETTER INTERVALL 2 · går» and «mål 121 slag/min» while
the set speed climbed to 7,0 km/t: nothing told staff why. The countdown line says it while
the preview runs. The state comes from the service's own document (``snapshot_doc``) of a
real session on a simulated heart, sans-IO; the console (Textual's Pilot at 80×24) is fed
it as the control socket would."""

from __future__ import annotations

from collections import deque
from typing import Any

import pytest

from tests.console_rig import run_console
from tests.test_console import _Stepped, tmp_sock
from tests.test_console_alarm_lines import _settled

HINT = {"nb": "belastningen øker før intervallet", "en": "the load rises before the interval"}


def _states_around_the_first_preview() -> tuple[dict[str, Any], dict[str, Any]]:
    """The service's state documents in the active pause after interval 1 of a slow heart's
    first session (τ 90 s: the law previews interval 2): one half a minute before the load
    starts rising, one while it rises."""
    from controller.service.control_socket import snapshot_doc
    from tests.test_beltview import slow_first_session_on_a_runtime

    before = None
    for rt, session, sp in slow_first_session_on_a_runtime("P-17"):
        lead = session.change_lead_s
        if sp.phase != "recovery" or lead <= 0.0:
            continue
        doc = snapshot_doc(rt, rt.snapshot, deque())
        if before is None and sp.phase_remaining_s <= lead + 30.0:
            before = doc
        if sp.phase_remaining_s <= lead - 5.0:
            assert before is not None and doc["interval"] == 1, doc
            return before, doc
    raise AssertionError("the law never previewed an interval")


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_staff_are_told_the_load_rises_before_the_interval_at_80_columns(lang):
    before, rising = _states_around_the_first_preview()
    assert rising["state"] == "running" and rising["speed_set_kmh"] > before["speed_set_kmh"]
    left = {"nb": "igjen", "en": "left"}[lang]

    async def main() -> tuple[list[str], list[str]]:
        app = _Stepped(tmp_sock())
        async with app.run_test(size=(80, 24)) as pilot:
            app.feed(**dict(before, started=True))
            await pilot.pause()
            calm = await _settled(pilot, app, "#countdown")
            app.feed(**dict(rising, started=True))
            await pilot.pause()
            said = await _settled(pilot, app, "#countdown")  # fits: nothing cut or wrapped
            return calm, said

    calm, said = run_console(main(), 60, lang)
    assert len(said) == 1 and left in said[0] and HINT[lang] in said[0], said
    m, s = divmod(round(rising["phase_remaining_s"]), 60)
    assert said[0].startswith(f"{m}:{s:02d} "), said  # still the part's time left
    assert len(calm) == 1 and left in calm[0] and HINT[lang] not in calm[0], calm
