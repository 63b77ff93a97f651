"""One runtime: heart-rate source → session → treadmill → publisher (and later recorder/UI).

Structured concurrency (shared/STYLE.md): the safety-relevant tasks — heart-rate input and
the session tick that drives the treadmill link — run in one ``asyncio.TaskGroup``; if either
fails, the group ends in the safe-stop path (a controlled STOP to the motor board; the
firmware stops the belt on its own when the host goes silent anyway). MQTT and any UI run
outside the group and are handed the latest values through non-blocking slots, so they can
never block it. Every await on the treadmill link in the tick has a timeout.

Staff actions are methods (``start``, ``pause``, ``resume``, ``skip``, ``extend``, ``stop``,
``acknowledge``); the console calls them, and the session keeps running if the console goes.

``Runtime`` keeps the safety group (heart-rate input, the tick, the link) and composes four
collaborators, each in its own module: ``StrapPairing`` (``strap_pairing``: pair, scan),
``HrmaxFlow`` (``hrmax_flow``: the 6-minute test's Borg rating and HRmax decision),
``Recording`` (``recording``: ratings, notes, the record's close) and ``Outbound``
(``outbound``: what goes to the central monitor). Their methods are reached through the
runtime as before (``rt.pair``, ``rt.test_rpe`` …), and the state they keep reads and sets
through it too (``rt.scan_note``, ``rt.hrmax_proposal``, ``rt.summary``, ``rt.publisher`` …).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from controller.core.hrgate import HrGate
from controller.core.metrics import IntervalTally, ScoredRow
from controller.core.plan import Plan
from controller.core.pulse import session_state, shown_pulse
from controller.hr import (
    BatteryReport,
    BleStrapSeen,
    HeartRateSource,
    HrSample,
    SourceStatus,
    StrapChoice,
    StrapSeen,
    check_strap,  # noqa: F401 - control_socket imports it from here
    reading_of,
    strap_key,
)
from controller.net import telemetry as tm
from controller.net.publisher import MqttPublisher
from controller.protocol import Event, PatientProfile, Session, Setpoint
from controller.records.store import Store
from controller.service import journal
from controller.service.hrmax_flow import HrmaxFlow
from controller.service.outbound import VERSION, Outbound  # noqa: F401 - VERSION was here
from controller.service.recording import (  # noqa: F401 - the constant was here
    LEARNED_MIN_EVIDENCE_S,
    Recording,
)
from controller.service.store_writer import StoreWriter
from controller.service.strap_pairing import StrapPairing
from controller.treadmill import Treadmill, TreadmillError, TreadmillStatus

_log = logging.getLogger(__name__)

LINK_TIMEOUT_S = 2.0
LATE_TICK_S = 0.1
"""A tick that starts this much after its due time is late: logged and counted."""
LATE_LOG_EVERY_S = 60.0
"""Late ticks are logged at most this often (with the count since), so a loaded machine does
not flood the journal."""
SUMMARY_TIMEOUT_S = 60.0


class _Kept:
    """An attribute a collaborator keeps, read and set through the runtime as before the
    split (``rt.scan_note`` is ``rt.pairing.scan_note``)."""

    def __init__(self, part: str) -> None:
        self.part = part

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, rt: Any, owner: type | None = None) -> Any:
        if rt is None:
            return self
        return getattr(getattr(rt, self.part), self.name)

    def __set__(self, rt: Any, value: Any) -> None:
        setattr(getattr(rt, self.part), self.name, value)


@dataclass
class Snapshot:
    """The latest state, for whoever shows it (console, tests). Replaced, never awaited."""

    setpoint: Setpoint | None = None
    treadmill: TreadmillStatus | None = None
    link_up: bool = False
    hr_state: str = "searching"
    hr_message: str = ""
    hr_live_bpm: float | None = None
    """The strap's latest gated reading, also before Start (staff check the strap on the
    patient)."""
    hr_live_reason: str = ""
    mqtt_online: bool | None = None
    events: list[Event] = field(default_factory=list)
    hr_battery_pct: int | None = None
    """The paired strap's battery when it said (ANT+ page 7, BLE Battery Level)."""
    hr_battery_low: bool = False
    late_ticks: int = 0
    """Ticks that started > 100 ms after their due time in this session (a loaded machine)."""


class Runtime:
    # kept by the collaborators (see the module docstring); one _Kept per name
    source_for = _Kept("pairing")
    scanner = _Kept("pairing")
    straps_in_use = _Kept("pairing")
    ble_scanner = _Kept("pairing")
    scan_note = _Kept("pairing")
    straps_guard = _Kept("pairing")
    _batteries = _Kept("pairing")
    profile_strap = _Kept("pairing")
    hrmax_proposal = _Kept("hrmax")
    rpe = _Kept("hrmax")
    _recording = _Kept("recording")
    _store_failures_seen = _Kept("recording")
    _finishing = _Kept("recording")
    summary = _Kept("recording")
    ratings = _Kept("recording")
    publisher = _Kept("outbound")
    _event_seq = _Kept("outbound")
    _telemetry_seq = _Kept("outbound")

    def __init__(self, profile: PatientProfile | None, plan: Plan | None, *,
                 hr_source: HeartRateSource | None, treadmill: Treadmill,
                 publisher: MqttPublisher | None = None,
                 clock: Callable[[], float] = time.monotonic, tick_s: float = 1.0,
                 on_tick: Callable[[Snapshot], None] | None = None,
                 safety_watchers: list[Callable[[], Awaitable[None]]] | None = None,
                 store: Store | StoreWriter | None = None,
                 source_for: Callable[[StrapChoice], HeartRateSource] | None = None,
                 scanner: Callable[[float], list[StrapSeen]] | None = None,
                 straps_in_use: Callable[[], dict[int | str, str]] | None = None,
                 ble_scanner: Callable[[float], Awaitable[list[BleStrapSeen]]] | None = None
                 ) -> None:
        self.profile = profile
        """None until staff choose the patient: a session never inherits the previous
        patient's profile."""
        self.session: Session | None = Session(profile, plan) if profile is not None else None
        self.default_plan = plan
        self.hr_source = hr_source
        """The strap for this session: given (demo, tests) or paired by staff (``pair``);
        released when the session ends."""
        self.strap: StrapChoice | None = None
        self._source_changed = asyncio.Event()
        self.treadmill = treadmill
        self.clock = clock
        self.tick_s = tick_s
        self.on_tick = on_tick
        self.safety_watchers = list(safety_watchers or [])
        """More safety tasks for the group (the e-stop watch on the Pi): if one returns or
        raises, the session ends in the safe-stop path."""
        self.start_checks: list[Callable[[], str | None]] = []  # refusal codes
        """More reasons to refuse a Start (the Pi's e-stop and key, the restart interlock):
        each returns a sentence for staff, or None."""
        self.stop_reason: str | None = None
        """Why the session stopped, for the record: staff, e-stop, key, shutdown, …"""
        self.session_id = uuid.uuid4().hex[:12]
        self.store: StoreWriter | None = StoreWriter.inline(store) \
            if isinstance(store, Store) else store
        """Every store call goes through the writer (its own thread in the service): no SQLite
        on the control loop."""
        self.late_ticks = 0
        self._late_logged_at: float | None = None
        self._late_unlogged = 0
        self.intervals_run = 0
        self.tally: IntervalTally | None = None
        """The session's ticks as recorded, scored while it runs (the belt screen's time in
        the zone: the same number the summary gives afterwards)."""
        """The highest interval begun (the rating of an interval comes after it ends)."""
        self.snapshot = Snapshot()
        self._live: tuple[float, float] | None = None  # (bpm, when) the gate believed it
        self._preview_gate = HrGate()
        self._released = asyncio.Event()
        self._released.set()
        self._start = asyncio.Event()
        self._done = asyncio.Event()
        self.pairing = StrapPairing(self, source_for=source_for, scanner=scanner,
                                    straps_in_use=straps_in_use, ble_scanner=ble_scanner)
        self.hrmax = HrmaxFlow(self)
        self.recording = Recording(self)
        self.outbound = Outbound(self, publisher=publisher)

    # -- staff actions ----------------------------------------------------------------------

    def configure(self, profile: PatientProfile, plan: Plan | None) -> None:
        """Staff entered the patient and chose the plan; only before the session starts.
        Raises (PlanError, ProfileError, SessionError) with the reason if it cannot be."""
        from controller.protocol import refused

        if self.started:
            raise refused("session_fixed")
        self.session = Session(profile, plan)
        self.profile = profile

    def _s(self) -> Session:
        from controller.protocol import refused

        if self.session is None:
            raise refused("no_patient")
        return self.session

    @property
    def register(self):  # type: ignore[no-untyped-def]
        """The register over an inline store (tools, tests); the service's store belongs to
        its writer thread: use ``in_store``."""
        from controller.records.register import Register

        return Register(self.store.store) if self.store is not None else None

    def in_store(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """``await rt.in_store(fn, *args)``: ``fn(store, *args)`` on the store's writer."""
        from controller.protocol import refused

        if self.store is None:
            raise refused("no_store")
        return self.store.call(fn, *args)

    def start(self) -> None:
        """Staff pressed Start: arm the motor board, start the belt slowly, begin the plan.
        Refused (SessionError, a sentence for the console) when no patient is chosen or the
        treadmill cannot start: key out, e-stop pressed, a latched fault, the link down."""
        from controller.protocol import refused

        self._s()
        if self.started:
            raise refused("already_started")
        if self.hr_source is None:
            raise refused("no_strap")
        why = self.start_refusal()
        if why is not None:
            code, params = why
            raise refused(code, **params)
        self._start.set()

    def start_refusal(self) -> tuple[str, dict[str, Any]] | None:
        """Why Start is refused now, as a refusal code with its parameters
        (``controller.core.refusals``), or None. ``start_checks`` give codes too."""
        for check in self.start_checks:
            why = check()
            if why:
                return why, {}
        st = self.treadmill.status
        if not self.treadmill.connected or st is None:
            return "start_link_down", {}
        if not st.key_present:
            return "start_key_out", {}
        if not st.estop_healthy:
            return "start_estop", {}
        if st.state == "fault":
            return "start_fault", {"fault": st.fault}
        if st.state not in ("idle", "armed"):
            return "start_board_busy", {"board": st.state}
        return None

    # -- the patient's strap ----------------------------------------------------------------

    def _use(self, source: HeartRateSource | None, strap: StrapChoice | None) -> None:
        self.hr_source = source
        self.strap = strap
        if self.profile is not None:  # a fresh gate for the new strap
            self.session = Session(self.profile, self.session.plan if self.session
                                   else self.default_plan)
        self._preview_gate = HrGate()
        self.snapshot.hr_live_bpm = None
        self.snapshot.hr_live_reason = ""
        seen = self._batteries.get(strap_key(strap)) if strap else None
        self.snapshot.hr_battery_pct, self.snapshot.hr_battery_low = seen or (None, False)
        self._live = None
        self.snapshot.hr_state = "searching" if source else "unpaired"
        self.snapshot.hr_message = ""
        self._source_changed.set()
        self._publish_meta()

    def pair(self, strap: object, *, confirm_in_use: bool = False) -> StrapChoice:
        """``StrapPairing.pair``."""
        return self.pairing.pair(strap, confirm_in_use=confirm_in_use)

    async def scan(self, seconds: float = 4.0) -> list[dict[str, Any]]:
        """``StrapPairing.scan``."""
        return await self.pairing.scan(seconds)

    def pause(self) -> None:
        self._s().pause()

    def adjust(self, speed_delta_kmh: float = 0.0, incline_delta_pct: float = 0.0) -> None:
        """Staff change the 6-minute test's load (the session bounds and rate-limits it)."""
        self._s().adjust(speed_delta_kmh, incline_delta_pct)

    async def test_rpe(self, rpe: object) -> dict:
        """``HrmaxFlow.test_rpe``."""
        return await self.hrmax.test_rpe(rpe)

    async def decide_hrmax(self, decision: str, hr_max_bpm: object = None) -> dict | None:
        """``HrmaxFlow.decide_hrmax``."""
        return await self.hrmax.decide_hrmax(decision, hr_max_bpm)

    async def resume(self) -> None:
        """Continue after a pause; re-arms the motor board if it stopped (a person decided)."""
        from controller.protocol import RunState, refused

        if self._s().run_state is not RunState.PAUSED:
            raise refused("resume_not_paused", state=str(self._s().run_state))
        st = self.treadmill.status
        if st is None or not self.treadmill.connected:
            raise refused("resume_link_down")
        if st.state == "fault":
            raise refused("resume_fault", fault=st.fault)
        if st.state in ("idle", "armed"):
            await self._arm_and_start(0.0)  # the session counts 3-2-1, then ramps the belt
        self._s().resume()

    def skip(self) -> None:
        self._s().skip()

    def extend(self, seconds: float = 60.0) -> None:
        self._s().extend(seconds)

    def stop(self, reason: str = "stopped by staff", code: str = "staff",
             by: str = "staff") -> None:
        """Controlled stop; ``code`` is the short reason kept in the record; ``by``: who or
        what stopped it (``Session.stop``)."""
        self._s().stop(reason, by=by)
        self.stop_reason = code

    def acknowledge(self, alarm: str) -> None:
        self._s().acknowledge(alarm)

    async def rate(self, interval: int, borg: int) -> None:
        """``Recording.rate``."""
        await self.recording.rate(interval, borg)

    async def note(self, text: str) -> None:
        """``Recording.note``."""
        await self.recording.note(text)

    async def wait_started(self) -> None:
        await self._start.wait()

    @property
    def shown_hr_bpm(self) -> float | None:
        """The heart rate every screen shows (the belt page, the console): the last reading
        the gate believed, for a short gap after it, and none while the session holds or
        slows for a lost heart rate (``core.pulse``: one decision, on the session's
        published state). A gap is timed on the session's last tick while it runs, so the
        number and the state it publishes change on the same tick (the hold falls due on
        one, ``Session.next_failsafe_s``)."""
        sp = self.snapshot.setpoint
        if sp is None or sp.state == "done":
            return shown_pulse(self.clock(), None, self._live)
        return shown_pulse(sp.now_s, self.session_state, self._live)

    @property
    def shown_hr_at_s(self) -> float | None:
        """When the heart rate shown (``shown_hr_bpm``) was read: the belt screen's zone
        word counts the readings' time, not the time it has been on screen."""
        return self._live[1] if self._live is not None else None

    @property
    def session_state(self) -> str:
        """The session's state as every screen shows it (the console's header, the belt
        page): the last tick's, with the heart-rate level the session holds now, the one its
        alarms follow (``core.pulse.session_state``); "ready" before the first tick."""
        sp = self.snapshot.setpoint
        if sp is None:
            return "ready"
        sess = self.session
        return session_state(sp.state, sess.state_name if sess is not None else None)

    @property
    def started(self) -> bool:
        return self._start.is_set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    # -- tasks ------------------------------------------------------------------------------

    def _publish_meta(self) -> None:
        self.outbound._publish_meta()

    def _publish(self, sp: Setpoint, speed: float, incline: float) -> None:
        self.outbound._publish(sp, speed, incline)

    def _store_trouble(self, now_s: float) -> None:
        self.recording._store_trouble(now_s)

    def _finish(self) -> Awaitable[None]:
        return self.recording._finish()

    async def _close_record(self) -> None:
        await self.recording._close_record()

    def _learned_response(self) -> dict[str, Any] | None:
        return self.recording._learned_response()

    async def run(self) -> None:
        self._publish_meta()
        try:
            async with asyncio.TaskGroup() as tg:
                helpers = [tg.create_task(self._hr_input(), name="hr-input"),
                           tg.create_task(self._guard(self.treadmill.watch, "treadmill link"),
                                          name="treadmill-link")]
                helpers += [tg.create_task(self._guard(w, getattr(w, "__name__", "watcher")))
                            for w in self.safety_watchers]
                await tg.create_task(self._tick(), name="session-tick")
                for h in helpers:
                    h.cancel()
        except asyncio.CancelledError:  # an orderly end (a signal, the demo's console): no trace
            _log.info("runtime cancelled: stopping the belt")
            raise
        except BaseException:
            _log.exception("runtime failed: stopping the belt")
            raise
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.treadmill.stop(), LINK_TIMEOUT_S)
            finishing = self._finishing is not None and not self._finishing.done()
            if self._recording or finishing:  # ended by a safety task, a crash or a cancel
                with contextlib.suppress(Exception):
                    self.stop_reason = self.stop_reason or "fault"
                    await asyncio.wait_for(self._finish(), SUMMARY_TIMEOUT_S)
                    sp = self.snapshot.setpoint
                    if self.publisher is not None and sp is not None:
                        self.publisher.set_retained("session", tm.session_payload(
                            self.session_id, self.profile.pseudonym if self.profile else "",
                            sp, self.summary,
                            late_ticks=self.late_ticks))
            self.strap = None  # released with the session
            self._publish_meta()
            self._done.set()

    @staticmethod
    async def _guard(watch: Callable[[], Awaitable[None]], what: str) -> None:
        await watch()
        raise RuntimeError(f"{what} stopped")

    async def _hr_input(self) -> None:
        """Listen to the paired strap; when staff pair another one (before Start), let go of
        the old one first. A strap's stream that ends is a failure of the group."""
        while True:
            self._source_changed.clear()
            src = self.hr_source
            if src is None:
                await self._source_changed.wait()
                continue
            self._released.clear()
            consume = asyncio.create_task(self._consume(src))
            changed = asyncio.create_task(self._source_changed.wait())
            try:
                done, _pending = await asyncio.wait({consume, changed},
                                                    return_when=asyncio.FIRST_COMPLETED)
                if consume in done:
                    consume.result()
                    raise RuntimeError("the heart-rate input ended")
            finally:
                changed.cancel()
                consume.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await consume  # the source lets go of the stick here
                self._released.set()

    async def _consume(self, src: HeartRateSource) -> None:
        async for item in src.stream():
            if isinstance(item, SourceStatus):
                self.snapshot.hr_state = str(item.state)
                self.snapshot.hr_message = item.message
            elif isinstance(item, BatteryReport):
                self.snapshot.hr_battery_pct = item.battery_pct
                self.snapshot.hr_battery_low = item.low
                if self.strap is not None and item.battery_pct is not None:
                    self._batteries[strap_key(self.strap)] = (item.battery_pct, item.low)
            elif isinstance(item, HrSample):
                self.offer_hr(item)

    def offer_hr(self, sample: HrSample) -> None:
        """Every sample goes to the session's one gate, with its beat evidence, as it
        arrives; the session's next tick uses what the gate believed, and its fail-safes
        count from the last valid beat (no reuse of an old reading)."""
        # Before staff choose the patient there is no session: the strap's heart rate is
        # still shown (through a gate of its own) so staff can check it on the patient.
        gate = self.session.offer_hr if self.session is not None else self._preview_gate.update
        v = gate(reading_of(sample))
        if v.hr_bpm is not None:
            self._live = (v.hr_bpm, self.clock())
        self.snapshot.hr_live_bpm = v.hr_bpm
        self.snapshot.hr_live_reason = v.reason

    async def _arm_and_start(self, speed_kmh: float) -> None:
        async with asyncio.timeout(60):
            await self.treadmill.arm()
            await self.treadmill.wait_status(lambda s: s.incline_homed and s.state == "armed",
                                             55)
            await self.treadmill.start(min(max(speed_kmh, 0.0), 3.0))

    async def _tick(self) -> None:
        await self._start.wait()
        session, profile = self._s(), self.profile
        assert profile is not None
        await self._arm_and_start(0.0)
        if self.store is not None:
            from controller.records.register import Register

            plan = session.plan.to_dict() if session.plan else {}
            await self.store.call(Store.begin_session, self.session_id, profile, plan,
                                  self.strap)
            self._recording = True
            journal.set_session(self.session_id)
            _log.info("session %s started (%s)", self.session_id, plan.get("name", ""))
            if profile.pseudonym:
                try:
                    await self.store.call(lambda s: Register(s).remember(profile))
                except Exception as e:  # the session and its record go on whatever the
                    _log.warning("register: %s", e)  # register says; staff see the log
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            # The tick runs on a deadline: due every tick_s of real time, however long the
            # work took; one that starts > 100 ms late is logged and counted.
            late_s = loop.time() - due
            if late_s > LATE_TICK_S:
                self._late(late_s, loop.time())
            if await self._step_once(session):
                return
            due += self.tick_s
            t = loop.time()
            if due < t:  # behind (a stall): tick now, never a burst of catch-up ticks
                due = t
            # a heart-rate fail-safe due before the next tick gets a step of its own, at
            # its time (issue 22: ±0.5 s from the last valid beat, not on the next tick)
            while (wake := self._failsafe_wake(session, loop.time())) is not None \
                    and wake < due:
                await asyncio.sleep(max(wake - loop.time(), 0.0))
                if await self._step_once(session):
                    return
            await asyncio.sleep(max(due - loop.time(), 0.0))

    def _failsafe_wake(self, session: Any, t: float) -> float | None:
        """The loop time at which ``session``'s next fail-safe falls due (None: none)."""
        due_s = session.next_failsafe_s()
        if due_s is None:
            return None
        per_real_s = float(getattr(self.clock, "speedup", 1.0))
        return t + max(due_s - self.clock(), 0.0) / per_real_s + 0.002

    async def _step_once(self, session: Any) -> bool:
        """One step of the session with what the treadmill says; True when it is done."""
        now = self.clock()
        st = self.treadmill.status
        link_up = self.treadmill.connected and st is not None
        speed = st.speed_kmh if link_up and st else 0.0
        incline = st.incline_pct if link_up and st else 0.0
        if link_up and st and st.state == "fault":  # the board latched: the belt stands
            session.belt_fault(st.fault)
        sp = session.step(now, None, speed, incline)  # the gate has the readings
        self.intervals_run = max(self.intervals_run, sp.interval)
        if self.tally is None and self.profile is not None:
            self.tally = IntervalTally(self.profile.hr_max)
        if self.tally is not None:  # the row the store records, scored as the summary will
            self.tally.add(ScoredRow(sp.now_s, sp.phase, sp.interval, sp.hr_bpm, speed,
                                     incline, sp.state not in ("paused", "stopping")))
        await self._drive(sp, st)
        if self.store is not None:
            self.store.record(self.session_id, sp, speed, incline)
            self._store_trouble(now)
        if sp.state == "done":
            await self._finish()
        self._publish(sp, speed, incline)
        old = self.snapshot
        self.snapshot = Snapshot(sp, st, link_up, old.hr_state, old.hr_message,
                                 old.hr_live_bpm, old.hr_live_reason,
                                 self.publisher.online if self.publisher else None,
                                 (old.events + list(sp.events))[-50:],
                                 old.hr_battery_pct, old.hr_battery_low, self.late_ticks)
        if self.on_tick is not None:
            self.on_tick(self.snapshot)
        return sp.state == "done"

    def _late(self, late_s: float, t: float) -> None:
        self.late_ticks += 1
        self._late_unlogged += 1
        if self._late_logged_at is None or t - self._late_logged_at >= LATE_LOG_EVERY_S:
            _log.warning("session tick late by %.0f ms (%d late tick(s) since the last "
                         "warning, %d in this session): the machine is overloaded",
                         late_s * 1000, self._late_unlogged, self.late_ticks)
            self._late_logged_at = t
            self._late_unlogged = 0

    async def _drive(self, sp: Setpoint, st: TreadmillStatus | None) -> None:
        """Send the set-point. Never ARM or START here: after a fault the belt stays still
        until a person resumes (``resume``)."""
        try:
            async with asyncio.timeout(LINK_TIMEOUT_S):
                # a controlled stop lowers the incline too (SET, the belt standing) and ends
                # with STOP once the session is done: the board's STOP leaves the incline
                # where it stands (PROTOCOL.md), so it must not come before
                if sp.state == "done" and sp.speed_kmh == 0.0:
                    if st is not None and st.state in ("running", "armed"):
                        await self.treadmill.stop()
                elif st is not None and st.state == "running":
                    await self.treadmill.set(round(sp.speed_kmh, 2), round(sp.incline_pct, 1))
        except (TreadmillError, TimeoutError) as e:
            _log.warning("treadmill: %s", e)

