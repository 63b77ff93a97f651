"""The patient's screen at the belt: a read-only web page served by the control service.

A screen mounted at the treadmill (the Pi's HDMI in a kiosk browser, or a tablet on the clinic
network) opens ``http://<pi>:<port>/``. The page (``beltview_static/``: HTML, CSS and a little
JavaScript, no CDN, nothing from the internet) listens to ``/events``, a server-sent-events
stream of one JSON document per change, and reconnects by itself (``EventSource``); while the
service is down it shows "waiting for the treadmill". ``/state`` is the same document once.

Theory of operation: the HTTP server is a small asyncio stream server from the standard
library, started beside the runtime and outside its safety ``TaskGroup``. It never awaits the
runtime: a ticker reads the runtime's latest snapshot (a replaced reference, never awaited)
every ``push_s`` and puts the built document in a one-value slot; each client's task sends the
slot when it changed. Writes to a client have a timeout and a slow client is dropped, so a
stuck tablet cannot hold anything up. Mastery (today against last time) reads SQLite and runs
in a worker thread once per finished session.

Every text on the page is translated here, on the server, from the gettext catalog in the
configured language (``belt_doc``), so the page holds no language of its own. The only
person-related datum in the document is the pseudonym.

What the page says to a patient who is running is decided sans-IO in
``controller.core.beltscreen`` (one ``BeltScreen`` per session, kept here between pushes):
the zone word true of the shown numbers and calm at an edge ("at the edge of the zone", no
flicker), in the warm-up judged on its band as the console shows it, calm sentences where
the physiology is expected, "can't find your heart rate" when no heart rate is shown: while
the session holds or slows for it, or 5 s after the last valid reading (``core.pulse``, the
one decision the console follows too; a shorter gap keeps the last value). The seconds in the
zone (each interval's, the session's, the week's goal celebrated when it is reached) are the
runtime's ``metrics.IntervalTally``: the recorded ticks scored as the journal's summary
scores them, so the screen, the console and the report say the same number.
The 3-2-1 before the belt sets off from a standstill comes from the session
(``Session.restart_at_s``), which holds the belt still meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.core.beltscreen import (
    VERDICTS,
    BeltScreen,
    Inputs,
    intervals_ran,
    load_rising_for_interval,
)
from controller.core.i18n import (
    N_,
    format_duration,
    format_number,
    format_percent,
    format_points,
    format_speed,
    translations,
)
from controller.core.plan import PhaseKind, PhaseSpec
from controller.protocol import Setpoint
from controller.records.mastery import WEEK_GOAL_HIT_MIN, Mastery, mastery
from controller.service.runtime import Runtime

_log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("beltview_static")
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
                 ".js": "text/javascript; charset=utf-8"}
MAX_CLIENTS = 8
REQUEST_TIMEOUT_S = 5.0
WRITE_TIMEOUT_S = 1.0
KEEPALIVE_S = 5.0
ANNOUNCE_S = 10.0
"""Seconds before a change of speed or incline the page announces it; the last 3 count down."""
CELEBRATE_S = 12.0
"""How long the week's-goal moment stays on the screen (runtime seconds)."""

PHASE_LABELS = {"ready": N_("Getting ready"), "warmup": N_("Warm-up"),
                "cooldown": N_("Cool-down"), "done": N_("Finished"),
                "test": N_("6-minute test")}
ENDED_LABEL = N_("Session ended")
GUIDANCE = {"ready": N_("Staff will start the belt slowly"),
            "warmup": N_("Warm up: walk easy, the belt finds your pace"),
            "recovery": N_("Recovery: walk easy"),
            "cooldown": N_("Cool-down: walk easy and let your breathing settle"),
            # the belt sets the test's speed (staff choose it): never "keep a steady pace"
            "test": N_("Go with the belt's speed — tell staff if it gets too hard"),
            "done": N_("Well done — the session is complete"),
            "below": N_("Good — the belt brings you up to the zone"),
            "in": N_("You're in the zone — hold it"),
            "above": N_("A little above the zone — the belt eases off"),
            "edge": N_("Good — keep going, the belt adjusts")}
WARMUP_SET_BY_STAFF = N_("Warm up: walk easy — staff have set the pace")
"""A warm-up at a speed staff chose (the 6-minute test's): the belt finds no pace there."""
ENDED_EARLY = N_("The session has ended — thank you for your effort today")
TEST_ENDED_LABEL = N_("Test ended")
TEST_ENDED_EARLY = N_("The test has ended — thank you for your effort today")
"""A 6-minute test whose test part did not run to its end (``Session.test_interrupted``):
true and kind, never «fullført» (issue 21: the belt said «Bra jobbet – økten er fullført»)."""
# the staff's hold said as what staff did: "Pause" alone read as the active pause (the trial)
STATE_GUIDANCE = {"paused": N_("Staff have paused the session — the belt stands still"),
                  "stopping": N_("The belt slows to a stop"),
                  "hr_hold": N_("Looking for your heart rate — the belt holds steady"),
                  "hr_slow": N_("Can't find your heart rate — the belt slows to an easy walk")}
BELT_STOPPED = {"estop": N_("The emergency stop is pressed — the belt stands still"),
                "key": N_("The safety key is out — the belt stands still"),
                # the board stopped it (a latched fault): calm, concrete, never blaming
                "fault": N_("The belt has stopped by itself — you can step off calmly")}
"""What stopped the belt, said as it is: nobody may be at the treadmill yet (staff are "told"
only once the session's alarm went out, never "with you")."""
STAFF_TOLD = N_("Staff have been told")
KIND_WORDS = {"below": N_("Below the zone"), "in": N_("In the zone"),
              "above": N_("Above the zone"), "edge": N_("At the edge of the zone"),
              "ready": N_("Your heart rate"), "steady": N_("Your heart rate"),
              "warmup": N_("Your heart rate rises gently — just as it should"),
              "climb": N_("Your heart rate is on its way up — just as it should"),
              "down": N_("Your heart rate comes down — just as it should"),
              "pause": N_("Your heart rate settles — just as it should"),
              "missing": N_("Can't find your heart rate")}
WARMUP_ON_TARGET = N_("Your heart rate is on target")
"""The warm-up's good news, in its band (about 60–70 % of makspuls): not the training zone."""
STRAP_HINT = N_("Check that the chest strap sits snugly")
CHANGE_WORDS = {"up": N_("The belt gets heavier"), "down": N_("The belt gets lighter"),
                "stop": N_("The belt slows to a stop"), "start": N_("The belt starts")}
CHANGE_COMING = N_("{change} in {seconds} s")
"""The announcement before a change, «Båndet blir tyngre om 8 s» («(8 s)» read oddly)."""
RISING_FOR_INTERVAL = N_("The belt gets heavier — interval {n} starts in {time}")
"""The part's words while the law raises the load ahead of an interval (its preview): the
belt gets heavier, and why; counted as the page's countdown (m:ss). «Aktiv pause: gå
rolig» beside a belt going from 6,3 to 7,0 km/t was a contradiction (s10)."""
PAGE_TEXTS = {"waiting": N_("Waiting for the treadmill"), "title": N_("Belt view"),
              "time_left": N_("Time left in this phase"), "bpm": N_("beats per minute")}


def _direction(now: PhaseSpec | None, nxt: PhaseSpec | None) -> str | None:
    """Which way the belt's load goes at the next phase change (None: no change)."""
    if now is None:
        return None
    if nxt is None:
        return "stop"

    def load(p: PhaseSpec) -> float:
        if p.fixed_speed_kmh is not None:
            return p.fixed_speed_kmh + 0.1 * (p.fixed_incline_pct or 0.0)
        return p.target_frac or 0.0

    a, b = load(now), load(nxt)
    return None if math.isclose(a, b) else ("up" if b > a else "down")


def change_ahead(session: Any, remaining_s: float) -> tuple[str, int] | None:
    """(direction, seconds until the belt's load changes) while the change is to be
    announced, else None: from ``ANNOUNCE_S`` before the load starts to change. That is the
    next phase's start, or earlier by the session's ``change_lead_s`` where the control law
    raises the load ahead of an interval (its preview): a change never comes unannounced."""
    direction = _direction(session.spec, session.next_spec)
    lead = float(getattr(session, "change_lead_s", 0.0) or 0.0)
    if direction is None or not lead < remaining_s <= ANNOUNCE_S + lead:
        return None
    return direction, math.ceil(remaining_s - lead)


def mastery_lines(m: Mastery, lang: str) -> list[str]:
    """The end-of-session words: today's time in the zone (the console's and the report's
    number), what grew, what the patient ran, the week's minutes in the zone, the streak.
    Only what was managed: no line for nothing done (never "0 of 32")."""
    tr = translations(lang)
    lines = []
    if m.today_in_zone_s is not None and m.today_in_zone_s >= 1:
        lines.append(tr.gettext(N_("Today: {time} in the zone")).format(
            time=format_duration(m.today_in_zone_s, lang)))
    sp, inc = m.speed_gain_kmh, m.incline_gain_pct
    if sp is not None and inc is not None and (sp >= 0.1 or inc >= 0.5):
        fmt = {"speed": format_speed(sp, 1, lang), "incline": format_points(inc, lang)}
        if sp >= 0.1 and inc >= 0.5:
            lines.append(tr.gettext(N_("Same heart rate at {speed} more and {incline} steeper "
                                       "than last time")).format(**fmt))
        elif sp >= 0.1:
            lines.append(tr.gettext(N_("Same heart rate at {speed} more than last time"))
                         .format(**fmt))
        else:
            lines.append(tr.gettext(N_("Same heart rate at {incline} steeper than last time"))
                         .format(**fmt))
    if m.intervals_speed_kmh is not None and m.intervals_incline_pct is not None \
            and round(m.intervals_speed_kmh, 1) > 0.0:  # a belt that never moved: no line
        # (issue 21: a stop in the 3-2-1 said «du gikk i snitt 0,0 km/t med 0,0 % stigning»)
        # what the patient ran (the belt's mean over the intervals), never the belt at 90 %
        # HRmax (a derived figure: "4,9 km/t" read as what they ran at ~7 km/t)
        lines.append(tr.gettext(N_("In the intervals you ran {speed} at {incline} incline on "
                                   "average")).format(
            speed=format_speed(m.intervals_speed_kmh, 1, lang),
            incline=format_percent(m.intervals_incline_pct, 1, lang)))
    week_min = math.floor(m.week_hit_min + 1e-9)  # whole minutes done: 6:06 is 6, never 7
    if 1 <= week_min < m.week_goal_min:  # reached: a celebration line says it
        # the minutes managed, said as what was done: "2 of 32" read as a shortfall to a
        # patient (issue 21; glossary: never a deficit); the goal is celebrated when reached
        lines.append(tr.ngettext("This week so far: {minutes} minute in the zone",
                                 "This week so far: {minutes} minutes in the zone",
                                 week_min).format(minutes=format_number(week_min, 0, lang)))
    if m.sessions_in_a_row >= 1:
        lines.append(tr.ngettext("{n} session in a row completed",
                                 "{n} sessions in a row completed",
                                 m.sessions_in_a_row).format(n=m.sessions_in_a_row))
    return lines


def celebration_lines(m: Mastery, lang: str) -> list[str]:
    """The moments worth a celebration at the end: the week's goal, a personal best."""
    tr = translations(lang).gettext
    lines = []
    if m.week_hit_min >= m.week_goal_min:
        lines.append(tr(N_("The week's goal is reached: {goal} minutes in the zone"))
                     .format(goal=format_number(m.week_goal_min, 0, lang)))
    if m.personal_best:
        lines.append(tr(N_("Personal best: the most you have managed at this heart rate")))
    return lines


def _clock_text(seconds: float) -> str:
    s = max(int(seconds), 0)
    return f"{s // 60}:{s % 60:02d}"


def _phase_index(plan_kinds: list[str], phase: str, interval: int) -> int | None:
    """Which phase of the plan is running, from its kind and interval number."""
    seen = 0
    for k, kind in enumerate(plan_kinds):
        if kind == "interval":
            seen += 1
        if kind == phase and (phase not in ("interval", "recovery") or seen == interval):
            return k
    return None


def _timeline(rt: Runtime, sp: Setpoint | None, lang: str) -> dict[str, Any] | None:
    """The session's blocks (done / now / ahead, widths by duration) and the time left."""
    session = rt.session
    if session is None or session.plan is None:
        return None
    phases = session.plan.phases
    kinds = [str(p.kind) for p in phases]
    phase = sp.phase if sp else "ready"
    now_i = -1 if sp is None else len(phases) if phase == "done" else \
        _phase_index(kinds, phase, sp.interval)
    if now_i is None:
        return None
    durations = [p.duration_s for p in phases]
    progress = 0.0
    left_s = sum(durations)
    if sp is not None and 0 <= now_i < len(phases):
        durations[now_i] = sp.phase_elapsed_s + sp.phase_remaining_s
        progress = sp.phase_elapsed_s / max(durations[now_i], 1.0)
        left_s = sp.phase_remaining_s + sum(durations[now_i + 1:])
    elif now_i >= len(phases):
        left_s = 0.0
    total = sum(durations) or 1.0
    blocks = [{"kind": kinds[k], "w": round(100 * durations[k] / total, 2),
               "at": "done" if k < now_i else "now" if k == now_i else "ahead"}
              for k in range(len(phases))]
    tr = translations(lang).gettext
    return {"blocks": blocks, "progress": round(min(max(progress, 0.0), 1.0), 3),
            "left_s": math.ceil(left_s),
            "text": tr(N_("{minutes} min left of the session")).format(
                minutes=math.ceil(left_s / 60.0)) if left_s > 0 else ""}


def _training(rt: Runtime) -> bool:
    """A 4x4 (``report.is_4x4``): only training counts towards the week's minutes; a
    6-minute test (it sets HRmax) neither adds to them nor celebrates them."""
    from controller.records.report import is_4x4

    plan = rt.session.plan if rt.session is not None else None
    return plan is not None and is_4x4(plan.name)


def _in_zone_total(rt: Runtime) -> int:
    """The session's seconds in the zone so far (``metrics.IntervalTally``): what its
    summary will say, and what counts towards the week's goal."""
    return rt.tally.total_in_zone_s() if rt.tally is not None else 0


def _belt_stopped(rt: Runtime) -> str | None:
    """What stopped the belt outside the session, as the board says (None: nothing)."""
    st = rt.snapshot.treadmill
    if st is None:
        return None
    if not st.estop_healthy:
        return "estop"
    if not st.key_present:
        return "key"
    if st.state == "fault":
        return "fault"
    return None


def belt_doc(rt: Runtime, lang: str, mastery_of: Mastery | None = None,
             screen: BeltScreen | None = None, week: tuple[float, float] | None = None,
             celebrate_until: float | None = None) -> dict[str, Any]:
    """The page's document, every text translated; reads the runtime, never awaits it.

    ``screen`` keeps the verdict's memory between calls (hysteresis, counters; a fresh one
    without it); ``week`` is (the week's minutes in the zone, the session's seconds in the
    zone when they were read: ``_in_zone_total``) for the live week's goal."""
    tr = translations(lang).gettext
    screen = screen if screen is not None else BeltScreen()
    sp = rt.snapshot.setpoint
    session = rt.session
    now = rt.clock()
    phase = sp.phase if sp else "ready"
    state = rt.session_state  # the heart-rate level the session's alarms follow
    interval = sp.interval if sp else 0
    total = sum(1 for p in (session.plan.phases if session and session.plan else ())
                if p.kind is PhaseKind.INTERVAL)
    planned = [p.duration_s for p in (session.plan.phases if session and session.plan else ())
               if p.kind is PhaseKind.INTERVAL]
    # complete only when the plan ran out and its intervals ran (not skipped through)
    finished = session is not None and session.ended_by == "plan" and rt.stop_reason is None \
        and intervals_ran(screen.ran_s, planned) and not session.test_interrupted
    test_cut = session is not None and session.test_interrupted
    if phase == "interval":
        label = tr(N_("Interval {n} of {total}")).format(n=interval, total=total)
    elif phase == "recovery":
        label = tr(N_("Recovery after interval {n} of {total}")).format(n=interval, total=total)
    elif phase == "done" and not finished:
        label = tr(TEST_ENDED_LABEL if test_cut else ENDED_LABEL)
    else:
        label = tr(PHASE_LABELS.get(phase, N_("Getting ready")))
    remaining = None
    elapsed = 0.0
    if sp is not None and phase != "done":
        remaining = sp.phase_remaining_s
        elapsed = sp.phase_elapsed_s
        held = session is not None and session.phase_clock_held  # a resume's 3-2-1
        if state != "paused" and not held:  # between ticks: on the runtime's own clock
            gone = max(0.0, now - sp.now_s)
            remaining = max(0.0, remaining - gone)
            elapsed += gone
    hr = rt.shown_hr_bpm  # the one decision, as the console shows it (core.pulse)
    lo, hi = (sp.zone_low_bpm, sp.zone_high_bpm) if sp else (None, None)
    shown = screen.update(Inputs(now, phase, state, interval, elapsed, hr, lo, hi,
                                 rt.profile.hr_max if rt.profile else None,
                                 sp.target_bpm if sp else None,
                                 rt.shown_hr_at_s if hr is not None else None))
    kind = shown.kind
    zone = kind if kind in VERDICTS else None
    stopped_by = _belt_stopped(rt) if phase != "done" and sp is not None else None
    if stopped_by is not None:
        guidance = tr(BELT_STOPPED[stopped_by])
        if session is not None and "belt_stopped" in session.alarm_messages:
            guidance += ". " + tr(STAFF_TOLD)
    elif state in STATE_GUIDANCE and not (state.startswith("hr_") and kind != "missing"):
        guidance = tr(STATE_GUIDANCE[state])
    elif state == "running" and session is not None and remaining is not None \
            and load_rising_for_interval(session.change_lead_s, remaining):
        guidance = tr(RISING_FOR_INTERVAL).format(n=interval + 1,
                                                  time=_clock_text(math.ceil(remaining)))
    elif phase == "interval":
        guidance = tr(GUIDANCE[zone]) if zone else \
            tr(GUIDANCE["edge"]) if kind in ("edge", "steady") else ""
    elif phase == "done":
        guidance = tr(GUIDANCE["done"] if finished else
                      TEST_ENDED_EARLY if test_cut else ENDED_EARLY)
    elif phase == "warmup" and session is not None and session.spec is not None \
            and session.spec.fixed_speed_kmh is not None:
        guidance = tr(WARMUP_SET_BY_STAFF)
    else:
        guidance = tr(GUIDANCE.get(phase, GUIDANCE["ready"]))
    change = None
    restart_at = session.restart_at_s if session is not None else None
    if restart_at is not None and state == "running" and now < restart_at:
        change = {"direction": "start", "in_s": max(1, math.ceil(restart_at - now)),
                  "arrow": "↑", "text": tr(CHANGE_WORDS["start"])}
    elif sp is not None and remaining is not None and state == "running" \
            and session is not None:
        ahead = change_ahead(session, remaining)
        if ahead is not None:
            direction, in_s = ahead
            change = {"direction": direction, "in_s": in_s,
                      "arrow": "↑" if direction == "up" else "↓",
                      "text": tr(CHANGE_WORDS[direction])}
    if change is not None:
        change["coming"] = tr(CHANGE_COMING).format(change=change["text"],
                                                    seconds=change["in_s"])
    # the board's report of this moment, as the console shows it (``snapshot_doc``): the
    # tick's copy was an older moment, and the two screens disagreed on the incline while a
    # pause brought it down
    st = rt.treadmill.status
    load = None
    if st is not None and sp is not None and phase != "done":
        load = f"{format_speed(st.speed_kmh, 1, lang)} · {format_percent(st.incline_pct, 1, lang)}"
    counter = None
    tally = rt.tally  # the recorded ticks, scored as the journal's summary scores them
    in_zone_now = tally.in_zone_s(interval) if tally is not None and phase == "interval" \
        else None
    if in_zone_now is not None and in_zone_now >= 1:
        counter = tr(N_("{time} in the zone")).format(time=_clock_text(in_zone_now))
    summary = None
    if phase in ("recovery", "cooldown") and state != "done":
        last = interval if phase == "recovery" else total
        secs = tally.in_zone_s(last) if tally is not None else None
        if secs is not None:
            if secs >= 1:
                summary = tr(N_("Interval {n}: {time} in the zone")).format(
                    n=last, time=format_duration(secs, lang))
            else:  # nothing to count is no deficit to show
                summary = tr(N_("Interval {n} is done")).format(n=last)
    celebrate = None
    if week is not None and mastery_of is None:
        week_min = week[0] + (_in_zone_total(rt) - week[1]) / 60.0
        if week_min >= WEEK_GOAL_HIT_MIN and celebrate_until is not None \
                and now < celebrate_until:
            celebrate = tr(N_("The week's goal is reached: {goal} minutes in the zone")
                           ).format(goal=format_number(WEEK_GOAL_HIT_MIN, 0, lang))
    missing = kind == "missing"
    return {
        "connected": True, "lang": lang, "pseudonym": rt.profile.pseudonym if rt.profile else "",
        "phase": phase, "state": state, "interval": interval, "intervals_total": total,
        "phase_label": label, "remaining_s": None if remaining is None else math.ceil(remaining),
        "hr_bpm": shown.hr_bpm, "kind": kind,
        "zone": zone, "zone_text": tr(WARMUP_ON_TARGET if phase == "warmup" and kind == "in"
                                      else KIND_WORDS[kind]),
        "zone_low_bpm": shown.low_bpm, "zone_high_bpm": shown.high_bpm,
        # the warm-up's band (about 60–70 % of makspuls), the one the console shows: the
        # controller's rising target began at the start's heart rate («Mål 71», issue 21)
        "target_text": tr(STRAP_HINT) if missing else
        "" if shown.low_bpm is None or shown.high_bpm is None or phase not in
        ("interval", "warmup", "recovery", "cooldown") else
        tr(N_("Target {low}–{high} bpm")).format(low=shown.low_bpm, high=shown.high_bpm),
        "guidance": guidance, "change": change, "load": load,
        "stopped": stopped_by,  # latched until a person re-arms: the page keeps it if cut off
        "timeline": _timeline(rt, sp, lang), "counter": counter, "summary": summary,
        "celebrate": celebrate,
        "mastery": None if mastery_of is None or phase != "done" else
        mastery_lines(mastery_of, lang),
        "celebration": [] if mastery_of is None or phase != "done" else
        celebration_lines(mastery_of, lang),
        "mastery_title": tr(GUIDANCE["done"] if finished else
                            TEST_ENDED_EARLY if test_cut else ENDED_EARLY),
    }


@dataclass
class _Slot:
    """One value, replaced: the latest document and its version number."""

    doc: dict[str, Any]
    version: int = 0


class BeltView:
    """The belt screen's web server.

    >>> view = BeltView(lambda: runtime, "nb", "0.0.0.0", 8080)
    >>> asyncio.create_task(view.serve())     # beside the runtime, never inside its TaskGroup
    """

    def __init__(self, runtime_of: Callable[[], Runtime], lang: str, host: str, port: int,
                 *, push_s: float = 0.1, now_unix: Callable[[], float] = time.time) -> None:
        translations(lang)  # an unknown language is refused here, not on the first request
        self.runtime_of = runtime_of
        self.lang = lang
        self.host = host
        self.port = port
        self.push_s = push_s
        self.now_unix = now_unix
        self.clients = 0
        self._slot = _Slot({"connected": True})
        self._changed = asyncio.Event()
        self._mastery: dict[str, Mastery | None] = {}
        self._screens: dict[str, BeltScreen] = {}
        """The verdict's memory of each session (hysteresis, seconds in the zone)."""
        self._week: dict[str, tuple[float, float] | None] = {}
        """Per session: (the week's high-intensity minutes read at its start, the screen's
        high-intensity seconds then), for the week's goal while it happens."""
        self._celebrate_until: dict[str, float] = {}
        self._mastery_tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        host = "localhost" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}/"

    async def start(self) -> None:
        """Bind the port (an ``OSError`` says if it is taken) and start the ticker."""
        self._server = await asyncio.start_server(self._client, self.host, self.port,
                                                  limit=8192)
        if self.port == 0:
            self.port = self._server.sockets[0].getsockname()[1]
        self._ticker = asyncio.create_task(self._tick())

    async def serve(self) -> None:
        """Serve until cancelled (binds first unless ``start`` did)."""
        if self._server is None:
            await self.start()
        assert self._server is not None
        try:
            async with self._server:
                await self._server.serve_forever()
        finally:
            if self._ticker is not None:
                self._ticker.cancel()
            for t in list(self._mastery_tasks):
                t.cancel()
            for w in list(self._writers):  # the open event streams end with the server
                w.close()

    # -- the one-value slot -----------------------------------------------------------------

    async def _tick(self) -> None:
        last = ""
        while True:
            try:
                doc = self._build()
            except Exception:  # a view must never take anything down: log, try again
                _log.exception("belt view: building the document failed")
                doc = {"connected": True}
            text = json.dumps(doc, sort_keys=True)
            if text != last:
                last = text
                self._slot = _Slot(doc, self._slot.version + 1)
                self._changed.set()
                self._changed = asyncio.Event()
            await asyncio.sleep(self.push_s)

    def _build(self) -> dict[str, Any]:
        rt = self.runtime_of()
        sp = rt.snapshot.setpoint
        sid = rt.session_id
        if sp is not None and sp.state == "done" and rt.store is not None \
                and sid not in self._mastery:
            self._mastery[sid] = None
            self._spawn(self._compute_mastery(rt))
        if sp is not None and sp.state != "done" and rt.store is not None \
                and sid not in self._week and rt.profile is not None and _training(rt):
            self._week[sid] = None
            self._spawn(self._read_week(rt))
        screen = self._screens.setdefault(sid, BeltScreen())
        if len(self._screens) > 4:  # a long-running service: keep the latest sessions only
            for old in list(self._screens)[:-4]:
                del self._screens[old]
        week = self._week.get(sid)
        doc = belt_doc(rt, self.lang, self._mastery.get(sid), screen, week,
                       self._celebrate_until.get(sid))
        if week is not None and sid not in self._celebrate_until and \
                week[0] < WEEK_GOAL_HIT_MIN <= week[0] + (_in_zone_total(rt) - week[1]) / 60.0:
            self._celebrate_until[sid] = rt.clock() + CELEBRATE_S  # the goal, just now
        return doc

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._mastery_tasks.add(task)
        task.add_done_callback(self._mastery_tasks.discard)

    async def _read_week(self, rt: Runtime) -> None:
        assert rt.store is not None and rt.profile is not None
        sid = rt.session_id
        hit_s = _in_zone_total(rt)
        try:
            m = await asyncio.to_thread(mastery, rt.store.path, rt.profile.pseudonym, sid,
                                        self.now_unix())
        except Exception:
            _log.exception("belt view: the week's minutes of session %s", sid)
            return
        self._week[sid] = (m.week_hit_min, hit_s)

    async def _compute_mastery(self, rt: Runtime) -> None:
        assert rt.store is not None and rt.profile is not None
        try:
            self._mastery[rt.session_id] = await asyncio.to_thread(
                mastery, rt.store.path, rt.profile.pseudonym, rt.session_id, self.now_unix())
        except Exception:
            _log.exception("belt view: mastery of session %s", rt.session_id)

    # -- HTTP -------------------------------------------------------------------------------

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            if self.clients >= MAX_CLIENTS:
                await self._respond(writer, 503, "text/plain", b"too many screens\n")
                return
            self.clients += 1
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT_S):
                    request = await reader.readline()
                    while await reader.readline() not in (b"\r\n", b"\n", b""):
                        pass  # headers: nothing in them changes the answer
                parts = request.decode("latin-1").split()
                if len(parts) != 3 or parts[0] != "GET":
                    await self._respond(writer, 405, "text/plain", b"GET only\n")
                    return
                await self._route(parts[1].split("?", 1)[0], writer)
            finally:
                self.clients -= 1
        except (ConnectionError, TimeoutError, ValueError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _route(self, path: str, writer: asyncio.StreamWriter) -> None:
        if path == "/events":
            await self._events(writer)
        elif path == "/state":
            await self._respond(writer, 200, "application/json",
                                json.dumps(self._slot.doc).encode())
        elif path == "/":
            await self._respond(writer, 200, CONTENT_TYPES[".html"], self._page())
        elif path in ("/belt.css", "/belt.js"):
            f = STATIC_DIR / path[1:]
            await self._respond(writer, 200, CONTENT_TYPES[f.suffix], f.read_bytes())
        else:
            await self._respond(writer, 404, "text/plain", b"not found\n")

    def _page(self) -> bytes:
        """The page with the state of this moment in it and its script inline: the first
        paint draws the session (issue 21: a fresh load showed «Venter på tredemøllen» until
        the stream's first document; the browser paints before a separate script and the
        stream arrive). The waiting cover is shown at first only when there is no state."""
        tr = translations(self.lang).gettext
        html = (STATIC_DIR / "index.html").read_text()
        html = html.replace("{{lang}}", self.lang)
        for key, msg in PAGE_TEXTS.items():
            html = html.replace("{{" + key + "}}", tr(msg))
        doc = self._slot.doc
        drawn = "phase" in doc
        # JSON inside <script>: no "<" at all (no "</script>" from a text, no "<!--")
        state = json.dumps(doc if drawn else None).replace("<", "\\u003c")
        script = (STATIC_DIR / "belt.js").read_text().replace("</", "<\\/")
        for key, value in (("body_class", "" if drawn else "waiting"),
                           ("waiting_class", " hidden" if drawn else ""),
                           ("script", script)):
            html = html.replace("{{" + key + "}}", value)
        return html.replace("{{state}}", state, 1).encode()  # data last: nothing after it

    @staticmethod
    async def _respond(writer: asyncio.StreamWriter, status: int, ctype: str,
                       body: bytes) -> None:
        reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed",
                  503: "Service Unavailable"}[status]
        writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                     f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n"
                     "Connection: close\r\n\r\n".encode() + body)
        await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT_S)

    async def _events(self, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                     b"Cache-Control: no-store\r\nConnection: keep-alive\r\n\r\nretry: 1000\n\n")
        sent = -1
        last_write = 0.0
        loop = asyncio.get_running_loop()
        while True:
            slot = self._slot
            if slot.version != sent:
                writer.write(b"data: " + json.dumps(slot.doc).encode() + b"\n\n")
                sent = slot.version
                last_write = loop.time()
            elif loop.time() - last_write >= KEEPALIVE_S:
                writer.write(b": keep-alive\n\n")
                last_write = loop.time()
            await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT_S)
            if self._slot.version == sent:  # no await between this check and the wait
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), KEEPALIVE_S)
