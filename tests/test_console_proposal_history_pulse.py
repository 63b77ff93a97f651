"""The nurse's console: the makspuls proposal answers a key it does not take (as
the yes/no question does). Through the console (Textual's Pilot) against the real control
service over a runtime holding a recorded 6-minute test; each seen failing first."""

import asyncio
import time

import pytest

from controller.core import i18n
from tests.console_rig import console_on_runtime, demo_console, realtime, wait_for
from tests.test_console_six_minute_desk import _test_runtime


@pytest.fixture
def nb():
    i18n.set_language("nb")
    yield "nb"
    i18n.set_language("en")


def test_the_makspuls_proposal_says_which_keys_it_takes(tmp_path, nb):
    """The yes/no question answers a key it does not take with «Trykk j for ja, n for nei.»
    and stays open (trial 10); the makspuls proposal after a 6-minute test shares its j/n
    footer but ignored such a key without a word. It says the same, stores nothing, and the
    proposal's own keys still answer."""
    from controller.app.screens import BorgScreen, HrMaxProposalScreen
    from controller.records.register import Register
    from controller.records.store import Store

    store = Store(tmp_path / "sessions.db")
    rt, _sid, _belt = _test_runtime(store, until="cooldown")

    async def main():
        async with console_on_runtime(rt, str(tmp_path / "c.sock")) as (app, pilot):
            await wait_for(lambda: isinstance(app.screen, BorgScreen))
            await pilot.press("1", "5", "enter")
            await wait_for(lambda: isinstance(app.screen, HrMaxProposalScreen))
            await pilot.pause()
            screen = app.screen
            await pilot.press("k")
            await pilot.pause()
            said = str(screen.query_one("#refused").render())
            assert app.screen is screen, app.screen
            assert said == "Trykk j for ja, n for nei.", said
            assert Register(store).require("P-57").hr_max_bpm == 176
            await pilot.press("escape")  # its own keys still answer: later
            await wait_for(lambda: len(app.screen_stack) == 1)

    asyncio.run(asyncio.wait_for(main(), 60))



@pytest.mark.parametrize(("tests", "trained", "quit_early"),
                         [(1, 1, 0), (3, 1, 0), (1, 0, 0), (1, 1, 2), (1, 9, 0)])
def test_the_history_says_how_many_pulstests_it_leaves_out_in_plain_words(
        tmp_path, nb, tests, trained, quit_early):
    """The history (`h`) said «(3 6-minutters pulstester er ikke med: de er ikke trening)»:
    two numbers side by side, hard to read. One number, the test's name as the glossary
    has it, singular and plural right. With only a pulstest and no 4x4 yet it said
    «0 økter med 4x4» and no why (the trial's notes). A 4x4 quit in the warm-up is kept and
    not counted (``stats.counts_as_okt``): the history says so too."""
    from controller.app.screens import BorgScreen, HistoryScreen
    from controller.protocol import PatientProfile, Setpoint
    from controller.records.store import Store
    from tests.test_beltview import record_session

    store = Store(tmp_path / "sessions.db")
    for k in range(trained):  # 4x4 sessions to count
        record_session(store, f"S{k}", 1.7e9 + 86400 * k, 5.0, 4.0, pseudonym="P-57")
    for k in range(quit_early):  # a 4x4 stopped in its warm-up
        store.clock = lambda k=k: 1.6e9 + 3600 * k
        store.begin_session(f"W{k}", PatientProfile(hr_max=183.0, max_speed_kmh=8.0,
                                                    pseudonym="P-57"), {})
        for i in range(120):
            store.record(f"W{k}", Setpoint(float(i), 4.0, 1.0, "warmup", 0, 110.0, 128.0,
                                           100.0, "running", float(i), 480.0 - i, 100.0,
                                           "ok"), 4.0, 1.0)
        store.end_session(f"W{k}", "stopped", None)
    store.clock = time.time
    for k in range(tests - 1):
        _test_runtime(store, sid=f"T{k}")
    rt, _sid, _belt = _test_runtime(store)

    async def main():
        from controller.service import worker

        # the worker that makes the history starts first, as the service starts it
        # (spawned later under Textual's run_test it fails on fds_to_keep: test_one_number)
        worker.shared().start()
        async with console_on_runtime(rt, str(tmp_path / "c.sock")) as (app, pilot):
            await wait_for(lambda: isinstance(app.screen, BorgScreen))
            await pilot.press("escape")  # the rating later
            await wait_for(lambda: len(app.screen_stack) == 1)
            await pilot.press("h")
            try:
                await wait_for(lambda: isinstance(app.screen, HistoryScreen), 10)
            except TimeoutError:
                raise AssertionError((app.message, app.screen_stack)) from None
            await pilot.pause()
            return " ".join(str(app.screen.query_one("#history").render()).split())

    shown = asyncio.run(asyncio.wait_for(main(), 60))
    said = {1: "(6-minutters pulstesten er ikke med: den er ikke trening)",
            3: "(6-minutters pulstestene, 3 i alt, er ikke med: de er ikke trening)"}[tests]
    assert said in shown, shown
    assert "3 6-minutters" not in shown, shown
    assert f"{trained} økt" in shown, shown
    # the list shows the 8 newest; the count is of them all, and says so (trial 11: «9
    # økter med 4x4» over 8 rows)
    rows = shown.count("ved 90 % av makspuls")
    assert rows == min(trained, 8), shown
    assert ("(de 8 nyeste vises; rapportlisten, w, har alle)" in shown) == (trained > 8), shown
    if quit_early:
        assert "(2 økter avbrutt i oppvarmingen lagres, men telles ikke)" in shown, shown
    else:
        assert "oppvarmingen" not in shown, shown


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_the_big_pulse_digits_say_what_they_are_and_the_screen_still_fits(lang):
    """Staff new to the console saw a big number with no word beside it. The big digits
    are labelled «puls» and «slag/min» (the glossary's words) beside them, in every phase,
    and the header, the patient line, the belt and the footer still fit 80×24."""
    from textual.widgets import Digits

    from tests.test_console import _screen_lines, _Stepped, tmp_sock
    from tests.test_console_alarm_lines import _settled

    words = {"nb": ("puls", "slag/min"), "en": ("heart rate", "bpm")}[lang]

    async def main():
        app = _Stepped(tmp_sock())
        async with app.run_test(size=(80, 24)) as pilot:
            for phase, n, hr in (("ready", 0, None), ("warmup", 0, 112), ("interval", 4, 163),
                                 ("recovery", 1, 141), ("cooldown", 4, 118), ("done", 0, 99)):
                app.feed(phase=phase, interval=n, hr_bpm=hr, hr_shown_bpm=hr,
                         started=phase != "ready")
                await pilot.pause()
                lines = _screen_lines(app)
                digits = app.query_one("#hr", Digits)
                top, rows = digits.region.y, digits.region.height
                right = app.query_one("#hrbox").region.right
                # the words on the digits' own rows, between them and the header
                beside = [line[digits.region.right:right] for line in lines[top:top + rows]]
                for word in words:
                    assert any(word in line for line in beside), (phase, word, beside)
                assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
                for wid in ("#phase", "#countdown", "#belt", "#zone"):
                    await _settled(pilot, app, wid)
                assert "P-17" in "\n".join(lines[:6]), (phase, lines[:6])
                assert lines[-1].strip(), (phase, lines)  # the footer is drawn

    i18n.set_language(lang)
    try:
        asyncio.run(asyncio.wait_for(main(), 60))
    finally:
        i18n.set_language("en")



@realtime
def test_the_key_after_choosing_the_next_patient_sees_that_patient(tmp_path, nb,
                                                                    monkeypatch):
    """Trial 11: after a session the nurse chose the next patient in the form (ctrl+s) and
    pressed `s` 0,3 s later. The console still held the state from before the choice (its
    pushes come every 0,5 s), so `s` acted on the session before: after P-31's pulstest it
    asked «Starte 4x4 for P-31 …?» and the `j` after it started P-31 again; after a 4x4 it
    said «Økten er avsluttet: velg neste pasient (n), så start (s).» and the `s` was lost.
    The state a command made reaches the console before the command's reply, so the key
    after it sees the patient chosen: here `s` starts P-56's session."""
    from controller.service import control_socket
    from tests.test_console_nurse import _choose

    async def main():
        async with demo_console(tmp_path, str(tmp_path / "s.db"), linger=True,
                                choose_patient=True) as (app, pilot):
            await _choose(pilot, app, "P-55")
            await pilot.press("s")
            await wait_for(lambda: app.state.get("phase") == "warmup", 60)
            await pilot.press("x", "j")
            await wait_for(lambda: app.state.get("state") == "done", 60)
            first = app.state["session_id"]
            # the state's next push long after the two keys (a push every 0,5 s met them
            # or not, by chance): what the keys see is what the replies bring
            monkeypatch.setattr(control_socket, "STATE_PUSH_S", 60.0)
            await asyncio.sleep(0.7)  # the push loop in its long wait
            await _choose(pilot, app, "P-56", burst=("s",))  # ctrl+s, s: a nurse's two keys
            try:
                await wait_for(lambda: app.state.get("session_id") != first and
                               app.state.get("started"), 20)
            except TimeoutError:
                raise AssertionError((app.message, app.state.get("pseudonym"),
                                      app.state.get("started"))) from None
            assert app.state["pseudonym"] == "P-56", app.state["pseudonym"]
            assert "velg neste pasient" not in app.message, app.message

    asyncio.run(asyncio.wait_for(main(), 240))
