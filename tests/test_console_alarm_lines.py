"""Issue 21, the bokmål "new nurse" trial with a strap that loses beats (demo
``--category pulsbelte-trøbbel``) at 80×24: the header's heart-rate state, the acknowledged
alarm's event, the lost-heart-rate alarm's advice and the strap hint's label. The console
(Textual Pilot) fed the states the service sends in those moments."""

import asyncio
import contextlib

import pytest
from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from controller.core import i18n
from tests.test_console import _Stepped, tmp_sock


@pytest.fixture(params=["nb", "en"])
def lang(request):
    i18n.set_language(request.param)
    yield request.param
    i18n.set_language("en")


def _lines(app, wid: str) -> tuple[list[str], int, int]:
    box = app.query_one(wid, Static)
    plain = Text.from_markup(str(box.render())).plain
    return plain.split("\n"), box.content_size.width, box.size.height


def _fits(app, wid: str) -> list[str]:
    """Every line of ``wid`` fits its width and none wraps (its height is its lines)."""
    lines, width, height = _lines(app, wid)
    assert all(cell_len(line) <= width for line in lines), (wid, width, lines)
    assert height == len(lines), (wid, height, lines)
    assert not any(line.endswith("…") for line in lines), (wid, lines)
    return lines


async def _settled(pilot, app, wid: str) -> list[str]:
    """``_fits`` once Textual has laid ``wid`` out again: a new text is rendered before the
    layout pass that gives the box its new height (a loaded machine showed 3 rows for 2)."""
    for _ in range(50):
        lines, _width, height = _lines(app, wid)
        if height == len(lines):
            break
        await pilot.pause(0.02)
    return _fits(app, wid)


HR_LOST = {"kind": "hr_lost",
           "message": "no valid heart rate for 15 s: slowing to an easy walk; check the strap"}
STRAP = {"kind": "strap_missing_beats",
         "message": "strap may be missing beats (12 % of beats): wet it or move it"}


def test_the_header_shows_the_whole_heart_rate_state_at_80_columns(lang):
    """Trial: "AKTIV PAUSE ETTER INTERVALL 1 · finner ikke" (the state is "finner ikke pulsen
    – senker farten"): the phase and the whole state, nothing cut mid-word."""
    from controller.core.words import ALARMS, STATES, word

    async def main():
        app = _Stepped(tmp_sock())
        async with app.run_test(size=(80, 24)) as pilot:
            for phase, n in (("recovery", 1), ("interval", 4), ("warmup", 0), ("cooldown", 4)):
                for state in ("hr_slow", "hr_hold", "running", "paused"):
                    app.feed(phase=phase, interval=n, state=state)
                    await pilot.pause()
                    lines = await _settled(pilot, app, "#phase")
                    # a missing pulse in the alarm's words (test_console_footer.py)
                    # staff's pause in an active pause without the word "pause" (issue 21);
                    # the belt still moves in this state (5,79 km/t): it slows to a stop,
                    # said short on the part's line (brief s10ack)
                    said = word(ALARMS, "hr_lost") if state == "hr_slow" else \
                        word(ALARMS, "hr_hold") if state == "hr_hold" else \
                        i18n._("slowing to a stop") if (phase, state) == ("recovery",
                                                                           "paused") \
                        else word(STATES, state)
                    assert any(said in line for line in lines), (state, lines)
                    assert "P-17" in lines[-1], lines

    asyncio.run(asyncio.wait_for(main(), 60))


def test_the_acknowledged_alarm_event_is_shown_whole(lang):
    """Trial: "info: Alarmen er kvittert: pulsbeltet kan miste slag – fukt det eller flytt
    d…" was cut at 80 columns: wrapped on a second line, nothing lost."""
    from controller.core.words import event_text

    async def main():
        app = _Stepped(tmp_sock())
        async with app.run_test(size=(80, 24)) as pilot:
            ack = {"kind": "acknowledged", "severity": "info",
                   "message": "alarm strap_missing_beats acknowledged",
                   "params": {"alarm": "strap_missing_beats"}}
            app.feed(event_list=[ack], alarm_list=[], alarms={})
            await pilot.pause()
            lines = await _settled(pilot, app, "#events")
            whole = event_text(ack["kind"], ack["message"], ack["params"])
            assert " ".join(line.strip() for line in lines).endswith(whole), lines

    asyncio.run(asyncio.wait_for(main(), 60))


def test_the_lost_heart_rate_alarm_says_to_check_the_strap_as_the_belt_screen_does(lang):
    """Trial: "ALARM Finner ikke pulsen – senker til gange" without the glossary's "kjenn
    etter at pulsbeltet sitter godt", which the belt screen shows (one catalog entry)."""
    from controller.core.i18n import _
    from controller.service.beltview import STRAP_HINT

    async def main():
        app = _Stepped(tmp_sock())
        async with app.run_test(size=(80, 24)) as pilot:
            for kind in ("hr_lost", "hr_hold", "hr_lost_stop"):
                app.feed(state="hr_slow", alarm_list=[dict(HR_LOST, kind=kind)],
                         alarms={kind: HR_LOST["message"]})
                await pilot.pause()
                lines = await _settled(pilot, app, "#alarms")
                assert any(_(STRAP_HINT) in line for line in lines), (kind, lines)

    asyncio.run(asyncio.wait_for(main(), 60))


def test_the_strap_hint_is_not_labelled_alarm(lang):
    """Trial: "ALARM Pulsbeltet kan miste slag – fukt det eller flytt det": a hint for the
    strap, labelled with the warning level's word, not ALARM; a real alarm keeps ALARM."""
    from controller.core.i18n import _
    from controller.core.words import SEVERITIES, word

    async def main():
        app = _Stepped(tmp_sock())
        async with app.run_test(size=(80, 24)) as pilot:
            app.feed(alarm_list=[STRAP], alarms={STRAP["kind"]: STRAP["message"]})
            await pilot.pause()
            lines = await _settled(pilot, app, "#alarms")
            assert not lines[0].startswith(_("ALARM")), lines
            assert lines[0].startswith(word(SEVERITIES, "warning").upper()), lines
            app.feed(alarm_list=[STRAP, HR_LOST], state="hr_slow", hr_bpm=None,
                     alarms={STRAP["kind"]: STRAP["message"], "hr_lost": HR_LOST["message"]})
            await pilot.pause()
            lines = await _settled(pilot, app, "#alarms")
            assert lines[0].startswith(word(SEVERITIES, "warning").upper()), lines
            assert lines[1].startswith(_("ALARM")), lines

    asyncio.run(asyncio.wait_for(main(), 60))


def test_the_console_shows_one_warm_up_figure_its_zone(lang):
    """Trial: in the warm-up the status said "oppvarming: mål 88 slag/min" (the controller's
    target) and the info line under it "sone 96–115" (the plan's band): two targets. The
    console showed the controller's target only, until the bokmål trial of issue 21 read
    «mål 71» at the start (the target rises from the heart rate of the start): a number
    staff do not recognise. It shows the warm-up's zone only, once (not in the log line)."""
    from textual.widgets import Static

    async def main():
        app = _Stepped(tmp_sock())
        async with app.run_test(size=(80, 24)) as pilot:
            begins = {"kind": "phase", "severity": "info",
                      "message": "warmup begins (300 s, zone 96–115 bpm)",
                      "params": {"phase": "warmup", "duration_s": 300.0,
                                 "zone_low_bpm": 96.0, "zone_high_bpm": 115.0}}
            app.feed(phase="warmup", interval=0, target_bpm=88.2, zone_low_bpm=96.0,
                     zone_high_bpm=115.0, event_list=[begins], alarm_list=[], alarms={})
            await pilot.pause()
            shown = "\n".join(Text.from_markup(str(w.render())).plain
                              for w in app.query(Static))
            zone = app.query_one("#zone", Static).render().plain
            assert "96–115" in zone and "88" not in shown, shown
            assert "96" not in str(app.query_one("#events", Static).render()), shown
            assert ("Oppvarming" if lang == "nb" else "Warm-up") in \
                str(app.query_one("#events", Static).render()), shown

    asyncio.run(asyncio.wait_for(main(), 60))


@pytest.mark.realtime
def test_a_strap_losing_beats_at_80x24_against_the_real_service(tmp_path):
    """The trial itself: the demo's service with a strap that loses beats (category
    strap_trouble, ``--category pulsbelte-trøbbel``), the console at 80×24 in bokmål,
    Start by key. Until a lost heart rate's alarm has been shown or the session ended: the
    header, the alarms and the events never lose text, a lost heart rate's alarm says what to
    do with the strap, and the strap's hint is labelled ADVARSEL."""
    import dataclasses

    from controller.app.console import StaffConsole
    from controller.app.demo import run_demo
    from controller.service.config import load
    from tests.test_console import wait_for
    from tests.test_runtime import SHORT

    i18n.set_language("nb")

    async def main():
        sock = tmp_path / "control.sock"
        cfg = dataclasses.replace(load(None), plan=SHORT)
        service = asyncio.create_task(run_demo(
            cfg, speedup=5, seed=3, category="strap_trouble", use_mqtt=False,
            control_socket=str(sock)))
        await wait_for(sock.exists)
        app = StaffConsole(str(sock))
        seen: set[str] = set()
        try:
            async with app.run_test(size=(80, 24)) as pilot:
                await wait_for(lambda: app.state.get("session_id"))
                await pilot.press("s")
                async with asyncio.timeout(150):
                    while not seen & {"hr_hold", "hr_lost"} and app.state.get("phase") != "done":
                        await asyncio.sleep(0.1)
                        await pilot.pause()
                        if not app.state.get("started"):
                            continue
                        for wid in ("#phase", "#alarms", "#events"):
                            await _settled(pilot, app, wid)
                        kinds = {a["kind"] for a in app.doc.alarm_list or []}
                        if kinds & {"hr_hold", "hr_lost", "hr_lost_stop"}:
                            lines, _w, _h = _lines(app, "#alarms")
                            assert any("Kjenn etter at pulsbeltet sitter godt" in line
                                       for line in lines), lines
                        if "strap_missing_beats" in kinds:
                            lines, _w, _h = _lines(app, "#alarms")
                            assert any(line.startswith("ADVARSEL Pulsbeltet gir usikre")
                                       for line in lines), lines
                            assert not any(line.startswith("ALARM Pulsbeltet")
                                           for line in lines), lines
                        seen |= kinds
            # the strap's hint came in every run; a lost heart rate in most (the short plan
            # can end before the strap drops out for 5 s): the fed tests above pin that one
            assert seen & {"hr_hold", "hr_lost", "strap_missing_beats"}, seen
        finally:
            service.cancel()
            with contextlib.suppress(BaseException):
                await service
            i18n.set_language("en")

    asyncio.run(asyncio.wait_for(main(), 200))


# -- issue 21 (h21mon): one severity; the dropout's times from the events --------------------

def test_the_console_labels_each_alarm_by_the_severity_the_service_sends(lang):
    """The console had its own list of warnings (``HINT_ALARMS``): a name it did not know was
    ALARM whatever the session said. It reads the severity sent with each held name; an older
    service's entry without one is read by the core's one list; a word nobody knows is an
    alarm."""
    from controller.core.i18n import _
    from controller.core.words import SEVERITIES, word

    cases = [({"kind": "strap_checkup", "message": "check the strap", "severity": "warning"},
              "warning"),
             (dict(STRAP, severity="alarm"), "alarm"),
             (STRAP, "warning"),  # an older service: no severity
             (dict(HR_LOST, severity="critical"), "alarm")]

    async def main():
        app = _Stepped(tmp_sock())
        said = []
        async with app.run_test(size=(80, 24)) as pilot:
            for alarm, _want in cases:
                app.feed(alarm_list=[alarm], alarms={alarm["kind"]: alarm["message"]},
                         state="hr_slow" if alarm["kind"] == "hr_lost" else "running",
                         hr_bpm=None if alarm["kind"] == "hr_lost" else 150)
                await pilot.pause()
                said.append((await _settled(pilot, app, "#alarms"))[0])
        return said

    said = asyncio.run(asyncio.wait_for(main(), 60))
    labels = {"warning": word(SEVERITIES, "warning").upper(), "alarm": _("ALARM")}
    for (alarm, want), line in zip(cases, said, strict=True):
        assert line.startswith(labels[want] + " "), (alarm, line)
        assert "critical" not in line, line


DROPOUT = [  # the session's clock: it started at 5000 s (a Pi's monotonic clock)
    {"kind": "phase", "severity": "info", "message": "warmup begins", "now_s": 5000.0,
     "params": {"phase": "warmup", "duration_s": 300.0}},
    {"kind": "hr_hold", "severity": "warning", "params": {}, "now_s": 5135.2,
     "message": "no valid heart rate for 5 s: holding speed and incline"},
    {"kind": "hr_lost", "severity": "alarm", "params": {}, "now_s": 5145.2,
     "message": HR_LOST["message"]},
    {"kind": "hr_restored", "severity": "info", "params": {}, "now_s": 5151.0,
     "message": "heart rate is back; control resumes"},
]


def test_the_lost_heart_rate_line_says_when_by_the_events_times(lang):
    """«Fant pulsen igjen (fant den ikke 2:10–2:31 ut i økten)»: from the last valid beat
    (the hold's event, 5 s after it) to the event that says it is back, on the session's
    clock from its start; an older service's events without ``now_s`` keep the line without
    times (never the console's clock)."""
    from controller.core.i18n import _

    async def main():
        app = _Stepped(tmp_sock())
        async with app.run_test(size=(80, 24)) as pilot:
            app.feed(alarm_list=[dict(HR_LOST, severity="alarm")],
                     alarms={"hr_lost": HR_LOST["message"]}, state="running", hr_bpm=141,
                     event_list=DROPOUT, started_s=5000.0)
            await pilot.pause()
            with_times = await _settled(pilot, app, "#alarms")
            older = [{k: v for k, v in e.items() if k != "now_s"} for e in DROPOUT]
            app.feed(alarm_list=[HR_LOST], alarms={"hr_lost": HR_LOST["message"]},
                     state="running", hr_bpm=141, event_list=older, started_s=5000.0)
            await pilot.pause()
            return with_times, await _settled(pilot, app, "#alarms")

    with_times, older = asyncio.run(asyncio.wait_for(main(), 60))
    # times into the session, said so (trial 10: «7:33–7:53» read as a clock time)
    assert with_times[0].startswith(_("The heart rate was lost {start}–{end} into the session "
                                      "– it is back").format(start="2:10", end="2:31")), \
        with_times
    if lang == "nb":
        assert with_times[0].startswith("Fant pulsen igjen (fant den ikke 2:10–2:31 ut i "
                                        "økten)"), with_times
    assert older[0].startswith(_("The heart rate was lost – it is back")), older
    assert not any(c.isdigit() for c in older[0]), older


class OffsetClock:
    """A simulated clock that reads like a Pi's monotonic clock (hours since boot), not 0 at
    the start: a console that took the events' times for times into the session shows it."""

    def __init__(self, speedup: float, offset_s: float = 5000.0) -> None:
        from controller.service.simclock import ScaledClock

        self._scaled = ScaledClock(speedup)
        self.speedup = speedup
        self.offset_s = offset_s

    def __call__(self) -> float:
        return self.offset_s + self._scaled()


@pytest.mark.realtime
def test_the_dropouts_times_come_through_the_control_socket(tmp_path):
    """The real service (runtime, emulated board, a strap that goes quiet for 20 s in the
    warm-up) behind its control socket, the console at 80×24 in bokmål: its events carry
    ``now_s`` and the state the session's start on that clock, the held alarm its severity,
    and the console's line says when the heart rate was gone, as the events say."""

    from controller.protocol import HR_HOLD_AFTER_S
    from tests.console_rig import console_in_warmup, lose_the_pulse, strap_with_a_gap, wait_for

    speed = 10.0
    clock = OffsetClock(speed)
    gone, hr_of = strap_with_a_gap()  # quiet from gone[0] to gone[1] on the session's clock

    async def main():
        async with console_in_warmup(tmp_path, speed, clock, hr_of) as (_rt, app, pilot):
            await lose_the_pulse(app, gone, clock)  # back after 15 s and a little more
            await wait_for(lambda: any(e["kind"] == "hr_restored"
                                       for e in app.state.get("event_list") or [])
                           and app.state.get("hr_bpm") is not None)
            await pilot.pause()
            await wait_for(lambda: "Fant pulsen igjen (" in
                           Text.from_markup(str(app.query_one("#alarms", Static)
                                                .render())).plain)
            return dict(app.state), await _settled(pilot, app, "#alarms")

    i18n.set_language("nb")
    try:
        state, lines = asyncio.run(asyncio.wait_for(main(), 120))
    finally:
        i18n.set_language("en")
    events = state["event_list"]
    assert all(isinstance(e.get("now_s"), float) for e in events), events
    started = state["started_s"]
    assert started is not None and started >= 5000.0, started
    hold = next(e for e in events if e["kind"] == "hr_hold")
    back = next(e for e in events if e["kind"] == "hr_restored")

    def mss(s: float) -> str:
        s = round(s)
        return f"{s // 60}:{s % 60:02d}"

    span = f"{mss(hold['now_s'] - HR_HOLD_AFTER_S - started)}–{mss(back['now_s'] - started)}"
    assert any(line.startswith(f"Fant pulsen igjen (fant den ikke {span} ut i økten)")
               for line in lines), (span, lines)
    assert 0.0 < back["now_s"] - started < 600, (back, started)  # times into the session
    held = {a["kind"]: a.get("severity") for a in state["alarm_list"]}
    assert held.get("hr_lost") == "alarm", held
