"""The local control socket between the runtime (the control service) and staff consoles.

The console is a separate client, so it can crash, be closed and be reopened while the
session runs on: it connects to a Unix socket, receives the runtime's state as one JSON line
every 0.5 s and before each reply, and sends staff commands as JSON lines
(``{"cmd": "pause", "id": 3}``), each answered with ``{"reply": cmd, "id": 3, "ok": true}``
or, refused, ``{"reply": cmd, "id": 3, "ok": false, "code": "…", "params": {…},
"error": "…"}``: the console renders the code in its language, ``error`` is the English for
logs. The messages are typed and documented in
``controller.service.messages``; ``_command`` dispatches them by type.
Commands: setup (``profile`` with an optional ``strap``, ``plan``; before start only; empty
fields come from the patient's register entry), scan (the straps in range, ANT+ and BLE,
``straps``; ``note`` says when Bluetooth could not be scanned), pair (``strap``: the patient's
strap, before start only; its heart rate and battery show in the state from then on; a strap
in use on another treadmill needs ``confirm_in_use: true``), start (refused until a patient
is chosen and a strap is paired), pause, resume,
skip, extend (``seconds``), stop, ack (``alarm``), borg (``interval``, ``borg`` 6–20: the
patient's rating at the end of an interval), note (``text``: staff's note; before a session
starts it goes to this patient's last recorded one), adjust (``speed_delta_kmh``,
``incline_delta_pct``; the 6-minute test only), rpe (``rpe`` 6–20 after a 6-minute test:
answers the HRmax proposal), hrmax (``decision`` accepted | edited | rejected,
``hr_max_bpm`` when edited), patient (``pseudonym``: the register's profile for the
console's form, or None for a new patient), history (this patient's progression), sessions
(this patient's recorded sessions, the newest first: the console's report chooser), export
(``session_id``, else the last session, as PDF and CSV beside the store; also while a
session runs).
Reports, exports and history are made in the worker process and every store call goes
through the store's writer thread: a command never holds the event loop that sends the
motor board its heartbeat.
A line that is not a JSON object with a known command gets a clear error, never a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from controller.core.hrmax import HrMaxSource, formula_conflict_bpm
from controller.core.i18n import language
from controller.core.plan import Plan, default_4x4, six_minute_test
from controller.core.pseudonym import check_pseudonym, pseudonym_problem
from controller.protocol import PatientProfile, Session, SessionError, refused
from controller.records import jobs
from controller.records.register import Register
from controller.records.store import Store
from controller.service import messages as m
from controller.service import worker
from controller.service.messages import Command, Reply
from controller.service.runtime import Runtime, Snapshot, check_strap

_log = logging.getLogger(__name__)

MAX_LINE = 4096
STATE_PUSH_S = 0.5
"""How often a console is sent the state unasked; and before each command's reply
(``ControlServer._client``)."""


def snapshot_doc(rt: Runtime, snap: Snapshot, hr_history: deque[float | None]) -> dict[str, Any]:
    sp = snap.setpoint
    st = rt.treadmill.status  # live, also before the session ticks
    link_up = rt.treadmill.connected and st is not None
    prof, sess = rt.profile, rt.session
    severity = sess.alarm_severities if sess else {}
    doc: dict[str, Any] = {  # typed: a field added or lost is an error here, not in a console
        "type": "state", "session_id": rt.session_id,
        "pseudonym": prof.pseudonym if prof else "",
        "plan": sess.plan.name if sess and sess.plan else "", "started": rt.started,
        "hr_max": prof.hr_max if prof else None,
        "hr_max_source": str(prof.hr_max_source) if prof else "",
        "max_speed_kmh": prof.speed_cap_kmh if prof else None,
        "max_incline_pct": prof.max_incline_pct if prof else None,
        "walk_only": prof.walk_only if prof else False,
        "hr_rest": prof.hr_rest if prof else None,
        "age_years": prof.age_years if prof else None,
        "test_load": test_load(sess),
        "hrmax_proposal": rt.hrmax_proposal,
        "phase": sp.phase if sp else "ready", "interval": sp.interval if sp else 0,
        # a runtime that has ended is done, however it ended (an e-stop mid-ramp too): it stays
        # on show until staff choose the next patient
        "state": "done" if rt.done else rt.session_state,
        "ended_by": sess.ended_by if sess else "",
        "test_interrupted": sess.test_interrupted if sess else False,
        "restart_in_s": restart_in_s(rt),
        "change_lead_s": sess.change_lead_s if sess is not None and sess.plan is not None
        and not rt.done else 0.0,
        "phase_remaining_s": sp.phase_remaining_s if sp else None,
        "hr_bpm": sp.hr_bpm if sp else None, "target_bpm": sp.target_bpm if sp else None,
        "zone_low_bpm": sp.zone_low_bpm if sp else None,
        "zone_high_bpm": sp.zone_high_bpm if sp else None,
        "speed_set_kmh": sp.speed_kmh if sp else 0.0,
        "incline_set_pct": sp.incline_pct if sp else 0.0,
        "speed_kmh": st.speed_kmh if st else None, "incline_pct": st.incline_pct if st else None,
        "treadmill": ("offline" if not link_up or st is None else
                      st.state if st.fault == "none" else f"fault: {st.fault}"),
        "strap": snap.hr_state, "strap_message": snap.hr_message,
        "paired_strap": rt.strap, "remembered_strap": rt.profile_strap,
        "strap_needed": rt.hr_source is None,
        "strap_choice": rt.scanner is not None or rt.ble_scanner is not None,
        "hr_live_bpm": snap.hr_live_bpm, "hr_live_reason": snap.hr_live_reason,
        "hr_shown_bpm": rt.shown_hr_bpm,  # the belt page's number too (core.pulse)
        "strap_battery_pct": snap.hr_battery_pct, "strap_battery_low": snap.hr_battery_low,
        # live, as the treadmill's: the tick's snapshot says it only while a session runs
        "mqtt": None if rt.publisher is None else ("online" if rt.publisher.online
                                                   else "offline"),
        "alarms": dict(sess.alarm_messages) if sess else {},
        "events": [f"{e.severity}: {e.message}" for e in snap.events[-8:]],
        "event_list": [m.EventItem(kind=e.kind, severity=e.severity, message=e.message,
                                   params=e.params, now_s=e.now_s) for e in snap.events[-8:]],
        "alarm_list": [m.AlarmItem(kind=a, message=msg, severity=severity[a])
                       for a, msg in (sess.alarm_messages.items() if sess else ())],
        "started_s": sess.started_s if sess else None,
        "hr_history": list(hr_history),
        "summary": rt.summary,
        "late_ticks": snap.late_ticks,
        "ratings": {str(k): v for k, v in rt.ratings.items()},
    }
    return m.StateDoc(**doc).to_wire()


def restart_in_s(rt: Runtime) -> float | None:
    """Seconds left of the 3-2-1 before the belt moves (the belt page's count), on the
    runtime's clock; None when the session is not counting down."""
    sess = rt.session
    at = sess.restart_at_s if sess is not None else None
    if at is None or rt.done or rt.session_state != "running":
        return None
    left = at - rt.clock()
    return left if left > 0.0 else None


def test_load(sess: Session | None) -> list[float] | None:
    """The 6-minute test's load (km/h, %) in its test phase: staff's, else the plan's (the
    console steps from it; the ramping set-point read 1,0 km/t at the phase's start)."""
    if sess is None:
        return None
    if sess.test_load:
        return list(sess.test_load)
    spec = sess.spec
    if spec is None or str(spec.kind) != "test" or spec.fixed_speed_kmh is None:
        return None
    return [spec.fixed_speed_kmh, spec.fixed_incline_pct or 0.0]


def strap_from(msg: dict[str, Any]) -> dict[str, Any] | None:
    """The patient's strap from a ``setup`` profile (optional); ValueError if malformed."""
    p = msg.get("profile")
    strap = p.get("strap") if isinstance(p, dict) else None
    return None if strap is None else check_strap(strap)


def setup_from(msg: dict[str, Any], register: Register | None = None,
               warmup_s: float = 600.0) -> tuple[PatientProfile, Plan]:
    """Profile and plan from a console's ``setup`` command; ValueError names what is wrong.
    A 4x4 whose command names no warm-up gets ``warmup_s`` (the config's ``[plan]``).

    A field the console leaves empty (None or absent) comes from *this* patient's profile in
    the register, never from the session before; a new patient needs an HRmax."""
    p = msg.get("profile")
    if not isinstance(p, dict):
        raise refused("bad_field", command="setup", field="profile")
    pseudonym = check_pseudonym(p.get("pseudonym", ""))
    known = register.get(pseudonym) if register is not None else None
    base: dict[str, Any] = {"max_speed_kmh": 6.0, "max_incline_pct": 15.0,
                            "hr_max_source": "measured", "walk_only": False}
    if known is not None:
        base.update(hr_max=known.hr_max_bpm, hr_rest=known.hr_rest_bpm,
                    max_speed_kmh=known.max_speed_kmh, max_incline_pct=known.max_incline_pct,
                    hr_max_source=known.hr_max_source, walk_only=known.walk_only,
                    # the age too: an empty age field erased it from the register (trial)
                    age_years=known.age_years)
        if p.get("hr_max") is not None and p.get("hr_max") != known.hr_max_bpm and \
                p.get("hr_max_source") is None:
            raise refused("hrmax_source_needed")

    def get(key: str) -> Any:
        v = p.get(key)
        if key == "hr_max_source" and p.get("hr_max") is None:
            return base.get(key)  # the register's HRmax comes with its own source
        return base.get(key) if v is None else v

    if get("hr_max") is None:
        raise refused("unknown_patient", pseudonym=pseudonym)
    # issue 26: the response learned last time is offered (staff may say no: false); one the
    # register keeps but this version refuses is not used at all (the history says why)
    carried = None
    if known is not None and p.get("response_model") is not False:
        carried, why = known.carried_response()
        if why is not None:
            _log.warning("%s: learned response not used: %s", pseudonym, why)
    profile = PatientProfile(
        hr_max=get("hr_max"), hr_rest=get("hr_rest"),
        max_speed_kmh=get("max_speed_kmh"), max_incline_pct=get("max_incline_pct"),
        hr_max_source=HrMaxSource(get("hr_max_source")),
        walk_only=bool(get("walk_only")), pseudonym=pseudonym,
        age_years=get("age_years"), response_model=carried,
    )
    # an HRmax from an age formula is the formula's value at the age: the form's and the
    # CLI's one rule (core.hrmax), held here too for any client that sends one
    if any(p.get(k) is not None for k in ("hr_max", "hr_max_source", "age_years", "hr_rest")):
        bpm = formula_conflict_bpm(profile.hr_max, str(profile.hr_max_source),
                                   profile.age_years, profile.hr_rest)
        if bpm is not None:
            raise refused("hrmax_formula_conflict", field="hr_max", typed=profile.hr_max,
                          bpm=bpm)
    plan_doc = msg.get("plan") or {"name": "4x4"}
    name = plan_doc.get("name")
    if name == "4x4":
        plan = default_4x4(float(plan_doc.get("warmup_s", warmup_s)))
    elif name == "six_minute_test":
        plan = six_minute_test(float(plan_doc.get("speed_kmh", 0)),
                               float(plan_doc.get("incline_pct", 0)))
    else:
        raise refused("bad_field", command="setup", field="plan")
    return profile, plan


class ControlServer:
    def __init__(self, runtime: Runtime, path: str) -> None:
        self.rt = runtime
        self.path = path
        self.clients = 0
        self._history: deque[float | None] = deque(maxlen=180)
        self._last_t: float | None = None
        self.profile_lookup: Callable[[str], Awaitable[dict[str, Any] | None]] | None = None
        """The clinic record's profile of a pseudonym (``RecordsLink.request_profile``), for
        the console at setup; None when no records service is configured."""
        self.fresh: Callable[[], Runtime] | None = None
        """The next session's runtime (the demo): a setup after the session has ended is for
        the next patient, whose session then waits for Start (it never starts by itself)."""
        self._history_of = runtime.session_id
        self.warmup_s = 600.0
        """The warm-up of a 4x4 set up here (the config's ``[plan] warmup_s``): the console's
        setup names the plan, not its warm-up (it took 600 s whatever IT configured)."""
        self.demo_reset: Callable[[], Awaitable[None]] | None = None
        """The demo's emulated treadmill: press its reset button (None: a real treadmill,
        whose reset only a person at it can press)."""

    async def _from_clinic_record(self, msg: dict[str, Any]) -> None:
        """A patient this Pi's register does not know (they trained on another treadmill):
        the clinic record's profile is taken into the register before the setup, so staff
        need not type it again. No answer (timeout) or no usable profile: staff enter it."""
        rt = self.rt
        p = msg.get("profile")
        pseudonym = p.get("pseudonym") if isinstance(p, dict) else None
        if self.profile_lookup is None or rt.store is None or not isinstance(pseudonym, str) \
                or pseudonym_problem(pseudonym) is not None:
            return
        if await rt.in_store(lambda s: Register(s).get(pseudonym)) is not None:
            return
        try:
            found = await self.profile_lookup(pseudonym)
        except TimeoutError as e:
            _log.warning("clinic record: no profile for the chosen patient: %s", e)
            return
        if not found or found.get("hr_max") is None:
            return
        try:
            profile = PatientProfile(
                hr_max=found["hr_max"], hr_rest=found.get("hr_rest"),
                max_speed_kmh=found.get("max_speed_kmh", 6.0),
                max_incline_pct=found.get("max_incline_pct", 15.0),
                hr_max_source=HrMaxSource(found.get("hr_max_source", "measured")),
                walk_only=bool(found.get("walk_only", False)), pseudonym=pseudonym,
                age_years=found.get("age_years"))
            await rt.in_store(lambda s: Register(s).remember(profile))
        except (ValueError, TypeError) as e:  # a profile this software cannot use
            _log.warning("clinic record: the chosen patient's profile not used: %s", e)

    async def _register_profile(self, pseudonym: Any) -> dict[str, Any] | None:
        """The register's profile of a pseudonym for the console's patient form (HRmax with
        its source and date, caps), taken from the clinic record first when this Pi does not
        know the patient; None: a new patient."""
        problem = pseudonym_problem(pseudonym)
        if problem is not None:
            raise refused("bad_pseudonym", field="pseudonym", detail=problem)
        if self.rt.store is None:
            return None
        await self._from_clinic_record({"profile": {"pseudonym": pseudonym}})
        rec = await self.rt.in_store(lambda s: Register(s).get(pseudonym))
        if rec is None:
            return None
        return {"pseudonym": rec.pseudonym, "hr_max_bpm": rec.hr_max_bpm,
                "hr_max_source": rec.hr_max_source, "hr_max_date": rec.hr_max_date,
                "hr_rest_bpm": rec.hr_rest_bpm, "max_speed_kmh": rec.max_speed_kmh,
                "max_incline_pct": rec.max_incline_pct, "walk_only": rec.walk_only,
                "age_years": rec.age_years}

    def _doc(self) -> dict[str, Any]:
        snap = self.rt.snapshot
        sp = snap.setpoint
        if self.rt.session_id != self._history_of:  # the next session: its own chart
            self._history_of, self._last_t = self.rt.session_id, None
            self._history.clear()
        if sp is not None and sp.now_s != self._last_t:
            self._last_t = sp.now_s
            self._history.append(sp.hr_bpm)
        doc = snapshot_doc(self.rt, snap, self._history)
        doc["demo_reset"] = self.demo_reset is not None
        return doc

    async def serve(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        server = await asyncio.start_unix_server(self._client, self.path, limit=MAX_LINE)
        os.chmod(self.path, 0o660)
        async with server:
            await server.serve_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.clients += 1
        lock = asyncio.Lock()

        async def send(doc: dict[str, Any]) -> None:
            async with lock:
                writer.write(json.dumps(doc, allow_nan=False).encode() + b"\n")
                await asyncio.wait_for(writer.drain(), 2.0)

        async def push() -> None:
            try:
                while True:
                    await send(self._doc())
                    await asyncio.sleep(STATE_PUSH_S)
            except (ConnectionError, TimeoutError):  # the console went away: an orderly end
                return

        pusher = asyncio.create_task(push())
        try:
            while True:
                try:
                    line = await reader.readline()
                except ValueError:  # over the line limit
                    await send(Reply.refusal(None, None, refused("line_too_long")).to_wire())
                    continue
                if not line:
                    return
                reply = await self._command(line)
                # the state as the command left it goes first: the console has it before the
                # reply, so the key after a command sees what it did (trial 11: `s` 0,3 s after
                # choosing P-23 met the state from before, ≤ 0,5 s old, and acted on P-31)
                await send(self._doc())
                await send(reply)
        except (ConnectionError, TimeoutError):
            return
        finally:
            pusher.cancel()
            self.clients -= 1
            with contextlib.suppress(Exception):
                writer.close()

    async def _history_doc(self) -> dict[str, Any]:
        """This patient's progression, computed in the worker process."""
        store = self.rt.store
        if store is None:
            raise refused("no_store")
        pseudonym = self._pseudonym()
        await store.flush()
        return await worker.shared().call(jobs.history, str(store.path), pseudonym,
                                          language())

    def _pseudonym(self) -> str:
        if self.rt.profile is None:
            raise refused("no_patient")
        return self.rt.profile.pseudonym

    async def _export(self, session_id: str = "") -> list[str]:
        """The last recorded session of this patient as PDF report and CSV, written
        beside the store (the journal's import folder) by the worker process: also while a
        session runs (then it is the running one, as far as it has gone)."""
        from controller.records.store import StoreError

        store = self.rt.store
        if store is None:
            raise refused("no_store")
        pseudonym = self._pseudonym()
        await store.flush()  # the worker reads the file: it must see the latest rows
        try:
            return await worker.shared().call(jobs.export_last, str(store.path), pseudonym,
                                              language(), str(session_id or ""))
        except StoreError as e:
            raise refused("no_recorded_session", detail=str(e)) from None

    async def _note(self, text: Any) -> str:
        """The note goes to the running session, or before one starts to this patient's
        last recorded session (staff write it after the session ended)."""
        if not isinstance(text, str):
            raise ValueError("note needs a 'text'")
        rt = self.rt
        if rt.started:
            await rt.note(text)
            return rt.session_id
        pseudonym = self._pseudonym()

        def to_last(store: Store) -> str:
            recs = store.sessions(pseudonym)
            if not recs:
                raise refused("no_recorded_session", pseudonym=pseudonym)
            store.add_note(recs[-1].id, text)
            return recs[-1].id

        return await rt.in_store(to_last)

    async def _command(self, line: bytes) -> dict[str, Any]:
        """One JSON line in, one reply out: parsed into its typed command
        (``controller.service.messages``), run by its handler, refusals as codes."""
        try:
            doc = json.loads(line)
        except ValueError:
            return Reply.refusal(None, None, refused("bad_json")).to_wire()
        name = doc.get("cmd") if isinstance(doc, dict) else None
        name = name if isinstance(name, str) else None
        rid = doc.get("id") if isinstance(doc, dict) else None
        rid = rid if isinstance(rid, int | str) and not isinstance(rid, bool) else None
        try:
            cmd = m.parse(doc)
            return (await self._handlers[type(cmd)](cmd)).to_wire()
        except SessionError as e:
            return Reply.refusal(name, rid, e).to_wire()
        except (ValueError, TypeError) as e:
            # a check's code and params (a profile, a plan, a strap, the store's Borg
            # check); a check without a code of its own: its English text as "invalid"
            code, params = getattr(e, "code", None), getattr(e, "params", None)
            if isinstance(code, str) and isinstance(params, dict):
                return Reply.refusal(name, rid, SessionError(str(e), code, **params)).to_wire()
            return Reply.refusal(name, rid, SessionError(str(e))).to_wire()
        except TimeoutError as e:
            return Reply.refusal(name, rid, refused("timeout", detail=str(e))).to_wire()
        except Exception as e:  # a console must get an answer, whatever went wrong
            _log.exception("command %s failed", name)
            return Reply.refusal(name, rid, refused(
                "failed", detail=f"{type(e).__name__}: {e}")).to_wire()

    @functools.cached_property
    def _handlers(self) -> dict[type[Command], Callable[[Any], Awaitable[Reply]]]:
        """The dispatch table: one handler per command type."""
        return {m.Start: self._start, m.Pause: self._simple(lambda c: self.rt.pause()),
                m.Resume: self._resume, m.Skip: self._simple(lambda c: self.rt.skip()),
                m.Extend: self._simple(lambda c: self.rt.extend(c.seconds)),
                m.Stop: self._simple(lambda c: self.rt.stop()),
                m.Ack: self._simple(lambda c: self.rt.acknowledge(c.alarm)),
                m.Setup: self._setup, m.Scan: self._scan, m.Pair: self._pair,
                m.Borg: self._borg, m.Note: self._note_cmd,
                m.Adjust: self._simple(lambda c: self.rt.adjust(c.speed_delta_kmh,
                                                                c.incline_delta_pct)),
                m.Rpe: self._rpe, m.HrMax: self._hrmax, m.History: self._history_cmd,
                m.Profile: self._profile, m.Patient: self._patient,
                m.Export: self._export_cmd, m.Sessions: self._sessions_cmd,
                m.DemoReset: self._demo_reset_cmd}

    async def _demo_reset_cmd(self, cmd: m.DemoReset) -> Reply:
        """The demo's treadmill reset button, pressed: the board's latched fault is cleared
        (it stays still); the session stays as it is until staff resume or stop it."""
        if self.demo_reset is None:
            raise refused("not_demo")
        await self.demo_reset()
        return Reply.done(cmd)

    @staticmethod
    def _simple(act: Callable[[Any], object]) -> Callable[[Any], Awaitable[Reply]]:
        async def run(cmd: Command) -> Reply:
            act(cmd)
            return Reply.done(cmd)
        return run

    async def _start(self, cmd: m.Start) -> Reply:
        if self.rt.started:
            raise refused("already_started")
        self.rt.start()
        return Reply.done(cmd)

    async def _resume(self, cmd: m.Resume) -> Reply:
        await asyncio.wait_for(self.rt.resume(), 60)
        return Reply.done(cmd)

    async def _setup(self, cmd: m.Setup) -> Reply:
        rt = self.rt
        if cmd.profile is None:
            raise refused("bad_field", command=cmd.name, field="profile")
        problem = pseudonym_problem(cmd.profile.get("pseudonym", ""))
        if problem is not None:
            raise refused("bad_pseudonym", field="pseudonym", detail=problem)
        msg = {"profile": cmd.profile, "plan": cmd.plan}
        await self._from_clinic_record(msg)
        if rt.store is None:
            profile, plan = setup_from(msg, None, self.warmup_s)
        else:
            profile, plan = await rt.in_store(
                lambda s: setup_from(msg, Register(s), self.warmup_s))
        tm = rt.treadmill  # the treadmill's own limits (config [treadmill]): refused, not capped
        limits = () if tm is None else (
            ("max_speed_kmh", profile.max_speed_kmh, tm.max_speed_kmh, "km/h"),
            ("max_incline_pct", profile.max_incline_pct, tm.max_incline_pct, "%"))
        for field, value, limit, unit in limits:
            if value > limit:
                raise refused("cap_above_treadmill", field=field, value=value, limit=limit,
                              unit=unit)
        strap = strap_from(msg)
        if rt.done and self.fresh is not None:  # the next patient, after a session ended
            Session(profile, plan)  # refused here: the finished session stays on show
            rt = self.rt = self.fresh()
        rt.configure(profile, plan)
        if rt.store is not None and profile.pseudonym:
            # chosen is registered (the trial: "valgt", yet not in `patients` before Start)
            await rt.in_store(lambda s: Register(s).remember(profile))
        if strap is None and rt.store is not None:
            strap = await rt.in_store(Store.last_strap, profile.pseudonym)
        rt.profile_strap = strap
        return Reply.done(cmd)

    async def _scan(self, cmd: m.Scan) -> Reply:
        if not 1.0 <= cmd.seconds <= 15.0:
            raise refused("scan_seconds")
        straps = await self.rt.scan(cmd.seconds)
        return Reply.done(cmd, straps=straps, note=self.rt.scan_note)

    async def _pair(self, cmd: m.Pair) -> Reply:
        return Reply.done(cmd, strap=self.rt.pair(cmd.strap,
                                                  confirm_in_use=cmd.confirm_in_use))

    async def _borg(self, cmd: m.Borg) -> Reply:
        await self.rt.rate(cmd.interval, cmd.borg)
        return Reply.done(cmd)

    async def _note_cmd(self, cmd: m.Note) -> Reply:
        return Reply.done(cmd, session_id=await self._note(cmd.text))

    async def _rpe(self, cmd: m.Rpe) -> Reply:
        return Reply.done(cmd, proposal=await self.rt.test_rpe(cmd.rpe))

    async def _hrmax(self, cmd: m.HrMax) -> Reply:
        return Reply.done(cmd, profile=await self.rt.decide_hrmax(cmd.decision,
                                                                  cmd.hr_max_bpm))

    async def _history_cmd(self, cmd: m.History) -> Reply:
        return Reply.done(cmd, history=await self._history_doc())

    async def _profile(self, cmd: m.Profile) -> Reply:
        if self.profile_lookup is None:
            raise refused("no_records_service")
        if not cmd.pseudonym:
            raise refused("need_pseudonym")
        return Reply.done(cmd, profile=await self.profile_lookup(cmd.pseudonym))

    async def _patient(self, cmd: m.Patient) -> Reply:
        return Reply.done(cmd, patient=await self._register_profile(cmd.pseudonym))

    async def _export_cmd(self, cmd: m.Export) -> Reply:
        return Reply.done(cmd, files=await self._export(cmd.session_id))

    async def _sessions_cmd(self, cmd: m.Sessions) -> Reply:
        """The chosen patient's sessions for the report chooser (none: refused, as `w` was)."""
        store = self.rt.store
        if store is None:
            raise refused("no_store")
        pseudonym = self._pseudonym()
        await store.flush()
        found = await worker.shared().call(jobs.session_list, str(store.path), pseudonym)
        if not found:
            raise refused("no_recorded_session", pseudonym=pseudonym)
        return Reply.done(cmd, pseudonym=pseudonym, sessions=found)


class ControlClient:
    """The console's side: ``async for doc in client.updates()``, ``await client.command()``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._states: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=4)
        self._next_id = 0

    async def connect(self) -> None:
        self._reader, self._writer = await asyncio.open_unix_connection(self.path,
                                                                        limit=1 << 20)

    async def updates(self) -> AsyncIterator[dict[str, Any]]:
        assert self._reader is not None
        while True:
            line = await self._reader.readline()
            if not line:
                raise ConnectionError("the control service closed the connection")
            doc = json.loads(line)
            if doc.get("type") == "state":
                yield doc
            else:
                await self._replies.put(doc)

    async def command(self, cmd: str, **kw: Any) -> dict[str, Any]:
        """Send one command with a fresh request id; its reply (a reply to an earlier
        command that timed out is dropped, never taken for this one's)."""
        assert self._writer is not None
        self._next_id += 1
        rid = self._next_id
        self._writer.write(json.dumps({"cmd": cmd, "id": rid, **kw}).encode() + b"\n")
        await self._writer.drain()
        async with asyncio.timeout(70):
            while True:
                reply = await self._replies.get()
                if reply.get("id") in (rid, None):
                    return reply

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
