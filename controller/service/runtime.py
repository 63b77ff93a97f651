"""One runtime: heart-rate source → session → treadmill → publisher (and later recorder/UI).

Structured concurrency (shared/STYLE.md): the safety-relevant tasks — heart-rate input and
the session tick that drives the treadmill link — run in one ``asyncio.TaskGroup``; if either
fails, the group ends in the safe-stop path (a controlled STOP to the motor board; the
firmware stops the belt on its own when the host goes silent anyway). MQTT and any UI run
outside the group and are handed the latest values through non-blocking slots, so they can
never block it. Every await on the treadmill link in the tick has a timeout.

Staff actions are methods (``start``, ``pause``, ``resume``, ``skip``, ``extend``, ``stop``,
``acknowledge``); the console calls them, and the session keeps running if the console goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from controller.core.plan import Plan
from controller.core.summary import summarise
from controller.hr import HeartRateSource, HrSample, SourceStatus, reading_of
from controller.net import telemetry as tm
from controller.net.publisher import MqttPublisher
from controller.protocol import Event, PatientProfile, Session, Setpoint
from controller.records.store import Store
from controller.treadmill import Treadmill, TreadmillError, TreadmillStatus

_log = logging.getLogger(__name__)

LINK_TIMEOUT_S = 2.0
VERSION = "0.1.0"


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


class Runtime:
    def __init__(self, profile: PatientProfile, plan: Plan | None, *,
                 hr_source: HeartRateSource, treadmill: Treadmill,
                 publisher: MqttPublisher | None = None,
                 clock: Callable[[], float] = time.monotonic, tick_s: float = 1.0,
                 on_tick: Callable[[Snapshot], None] | None = None,
                 safety_watchers: list[Callable[[], Awaitable[None]]] | None = None,
                 store: Store | None = None) -> None:
        self.profile = profile
        self.session = Session(profile, plan)
        self.hr_source = hr_source
        self.treadmill = treadmill
        self.publisher = publisher
        self.clock = clock
        self.tick_s = tick_s
        self.on_tick = on_tick
        self.safety_watchers = list(safety_watchers or [])
        """More safety tasks for the group (the e-stop watch on the Pi): if one returns or
        raises, the session ends in the safe-stop path."""
        self.session_id = uuid.uuid4().hex[:12]
        self.store = store
        self.summary: dict | None = None
        self.snapshot = Snapshot()
        self._start = asyncio.Event()
        self._done = asyncio.Event()
        self._event_seq = 0
        self._telemetry_seq = 0

    # -- staff actions ----------------------------------------------------------------------

    def configure(self, profile: PatientProfile, plan: Plan | None) -> None:
        """Staff entered the patient and chose the plan; only before the session starts.
        Raises (PlanError, ProfileError, SessionError) with the reason if it cannot be."""
        from controller.protocol import SessionError

        if self.started:
            raise SessionError("the session has started: patient and plan are fixed")
        self.session = Session(profile, plan)
        self.profile = profile

    def start(self) -> None:
        """Staff pressed Start: arm the motor board, start the belt slowly, begin the plan."""
        self._start.set()

    def pause(self) -> None:
        self.session.pause()

    async def resume(self) -> None:
        """Continue after a pause; re-arms the motor board if it stopped (a person decided)."""
        from controller.protocol import RunState, SessionError

        if self.session.run_state is not RunState.PAUSED:
            raise SessionError(f"cannot resume: the session is {self.session.run_state}")
        st = self.treadmill.status
        if st is None or not self.treadmill.connected:
            raise SessionError("cannot resume: the treadmill link is down")
        if st.state == "fault":
            raise SessionError(f"cannot resume: the motor board has a latched fault "
                               f"({st.fault}); release the e-stop / insert the key, then press "
                               "the reset on the treadmill")
        if st.state in ("idle", "armed"):
            await self._arm_and_start(0.5)
        self.session.resume()

    def skip(self) -> None:
        self.session.skip()

    def extend(self, seconds: float = 60.0) -> None:
        self.session.extend(seconds)

    def stop(self, reason: str = "stopped by staff") -> None:
        self.session.stop(reason)

    def acknowledge(self, alarm: str) -> None:
        self.session.acknowledge(alarm)

    async def wait_started(self) -> None:
        await self._start.wait()

    @property
    def started(self) -> bool:
        return self._start.is_set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    # -- tasks ------------------------------------------------------------------------------

    async def run(self) -> None:
        if self.publisher is not None:
            self.publisher.set_retained("meta", tm.meta_payload(
                self.publisher.s.site, self.publisher.s.device, VERSION,
                self.session.plan.name if self.session.plan else "4x4"))
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
        except BaseException:
            _log.exception("runtime failed: stopping the belt")
            raise
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.treadmill.stop(), LINK_TIMEOUT_S)
            self._done.set()

    @staticmethod
    async def _guard(watch: Callable[[], Awaitable[None]], what: str) -> None:
        await watch()
        raise RuntimeError(f"{what} stopped")

    async def _hr_input(self) -> None:
        async for item in self.hr_source.stream():
            if isinstance(item, SourceStatus):
                self.snapshot.hr_state = str(item.state)
                self.snapshot.hr_message = item.message
            elif isinstance(item, HrSample):
                self.offer_hr(item)

    def offer_hr(self, sample: HrSample) -> None:
        """Every sample goes to the session's one gate, with its beat evidence, as it
        arrives; the session's next tick uses what the gate believed, and its fail-safes
        count from the last valid beat (no reuse of an old reading)."""
        v = self.session.offer_hr(reading_of(sample))
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
        await self._arm_and_start(0.0)
        if self.store is not None:
            plan = self.session.plan.to_dict() if self.session.plan else {}
            self.store.begin_session(self.session_id, self.profile, plan)
        while True:
            now = self.clock()
            st = self.treadmill.status
            link_up = self.treadmill.connected and st is not None
            speed = st.speed_kmh if link_up and st else 0.0
            incline = st.incline_pct if link_up and st else 0.0
            sp = self.session.step(now, None, speed, incline)  # the gate has the readings
            await self._drive(sp, st)
            if self.store is not None:
                self.store.record(self.session_id, sp, speed, incline)
            if sp.state == "done":
                self._finish()
            self._publish(sp, speed, incline)
            old = self.snapshot
            self.snapshot = Snapshot(sp, st, link_up, old.hr_state, old.hr_message,
                                     old.hr_live_bpm, old.hr_live_reason,
                                     self.publisher.online if self.publisher else None,
                                     (old.events + list(sp.events))[-50:])
            if self.on_tick is not None:
                self.on_tick(self.snapshot)
            if sp.state == "done":
                return
            await asyncio.sleep(self.tick_s)

    async def _drive(self, sp: Setpoint, st: TreadmillStatus | None) -> None:
        """Send the set-point. Never ARM or START here: after a fault the belt stays still
        until a person resumes (``resume``)."""
        try:
            async with asyncio.timeout(LINK_TIMEOUT_S):
                if sp.state in ("stopping", "done") and sp.speed_kmh == 0.0:
                    if st is not None and st.state in ("running", "armed"):
                        await self.treadmill.stop()
                elif st is not None and st.state == "running":
                    await self.treadmill.set(round(sp.speed_kmh, 2), round(sp.incline_pct, 1))
        except (TreadmillError, TimeoutError) as e:
            _log.warning("treadmill: %s", e)

    def _finish(self) -> None:
        """Summarise the session for the journal, the console and the central monitor."""
        if self.store is None:
            return
        samples = self.store.samples(self.session_id)
        events = self.store.events(self.session_id)
        self.summary = summarise(samples, self.profile.hr_max, events)
        status = "finished" if self.session.ended_by == "plan" else "stopped"
        self.store.end_session(self.session_id, status, self.summary)

    def _publish(self, sp: Setpoint, speed: float, incline: float) -> None:
        pub = self.publisher
        if pub is None:
            return
        for e in sp.events:
            pub.offer_event(tm.event_payload(self.session_id, self._event_seq, e))
            self._event_seq += 1
        self._telemetry_seq += 1
        pub.offer_telemetry(tm.telemetry_payload(self.session_id, self._telemetry_seq, sp,
                                                 speed, incline))
        if sp.events or self._telemetry_seq % 10 == 1:
            pub.set_retained("session", tm.session_payload(
                self.session_id, self.profile.pseudonym, sp, self.summary))
