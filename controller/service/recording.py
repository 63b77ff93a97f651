"""The session's record: staff's ratings and notes, a write that failed shown to staff, and
the close (rows flushed, summary in the worker process, learned response kept). A
collaborator of ``Runtime``; the rows themselves go through its ``StoreWriter`` each tick."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from controller.core.i18n import _
from controller.core.response import LEARNED_MIN_EVIDENCE_S  # the one threshold
from controller.core.summary import summarise
from controller.net import telemetry as tm
from controller.protocol import Event
from controller.records import jobs
from controller.records.store import Store
from controller.service import journal, worker

if TYPE_CHECKING:
    from controller.service.runtime import Runtime

_log = logging.getLogger("controller.service.runtime")  # the runtime's, as before the split

class Recording:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._recording = False
        self._store_failures_seen = rt.store.failures if rt.store is not None else 0
        self._finishing: asyncio.Future[None] | None = None
        self.summary: dict | None = None
        self.ratings: dict[int, int] = {}

    async def rate(self, interval: int, borg: int) -> None:
        """Staff entered the patient's Borg rating (6–20) of an interval of this session."""
        from controller.protocol import refused

        rt = self.rt
        if rt.store is None or not rt.started:
            raise refused("not_recording")
        if not 0 <= interval <= rt.intervals_run:
            raise refused("interval_not_run", interval=interval)
        await rt.store.call(Store.rate, rt.session_id, interval, borg)
        self.ratings[interval] = borg

    async def note(self, text: str) -> None:
        """Staff's note on this session."""
        from controller.protocol import refused

        rt = self.rt
        if rt.store is None or not rt.started:
            raise refused("not_recording")
        await rt.store.call(Store.add_note, rt.session_id, text)

    def _store_trouble(self, now_s: float) -> None:
        """A sample that could not be written: staff see it in the event list (the session
        goes on; the writer logged it and kept every other row)."""
        rt = self.rt
        assert rt.store is not None
        if rt.store.failures == self._store_failures_seen:
            return
        self._store_failures_seen = rt.store.failures
        e = Event(now_s, "store_failed", _("The session record could not be written "
                                           "({error}): the session goes on. Tell the "
                                           "technician.").format(error=rt.store.last_error),
                  "warning")
        rt.snapshot.events = [*rt.snapshot.events, e][-50:]
        if rt.publisher is not None:
            rt.publisher.offer_event(tm.event_payload(rt.session_id, rt._event_seq, e))
            rt._event_seq += 1

    def _finish(self) -> Awaitable[None]:
        """Summarise the session and close its record, once; a cancel of the caller (a
        controlled stop that overran its bound) does not cut it short: ``run``'s clean-up
        waits for the same work."""
        if self._finishing is None:
            self._finishing = asyncio.ensure_future(self._close_record())
        return asyncio.shield(self._finishing)

    async def _close_record(self) -> None:
        """Summarise the session for the journal, the console and the central monitor: the
        rows are flushed, the summary computed in the worker process (never on this loop)."""
        rt = self.rt
        if rt.store is None or not self._recording:
            return
        self._recording = False
        _log.info("session %s ending (%s)", rt.session_id, rt.stop_reason or
                  ("plan complete" if rt._s().ended_by == "plan" else "stopped"))
        assert rt.profile is not None and rt.session is not None
        sid, hr_max = rt.session_id, rt.profile.hr_max
        summary: dict[str, Any] | None = None
        try:
            await rt.store.flush()
            if rt.store.path.exists():
                summary = await worker.shared().call(jobs.summary, str(rt.store.path), sid,
                                                     hr_max)
            else:  # an in-memory store (tests): nothing to read in another process
                summary = await rt.store.call(
                    lambda s: summarise(s.samples(sid), hr_max, s.events(sid)))
        except Exception as e:  # the record is ended even without its summary
            _log.error("session %s: no summary (%s: %s)", sid, type(e).__name__, e)
        learned = self._learned_response()
        if summary is not None:
            summary["late_ticks"] = rt.late_ticks
            if learned is not None:
                summary["response_model"] = learned
        self.summary = summary
        finished = rt.session.ended_by == "plan" and rt.stop_reason is None
        await rt.store.call(Store.end_session, sid, "finished" if finished else "stopped",
                              summary, None if finished else
                              rt.stop_reason or rt.session.ended_by or "fault")
        journal.set_session(None)
        if learned is not None and rt.profile.pseudonym:
            from controller.records.register import Register
            pseudonym = rt.profile.pseudonym
            try:
                await rt.store.call(lambda s: Register(s).keep_response_model(
                    pseudonym, learned, sid))
            except Exception as e:  # the session's record stands without it
                _log.error("session %s: learned response not kept (%s)", sid, e)

    def _learned_response(self) -> dict[str, Any] | None:
        """The response this 4x4 taught (issue 26), when it saw enough heart rate: the warm-up
        and most of an interval (``LEARNED_MIN_EVIDENCE_S``)."""
        rt = self.rt
        assert rt.session is not None and rt.session.plan is not None
        if rt.session.plan.name != "4x4":
            return None
        try:
            doc = rt.session.response_model()
        except ValueError as e:
            _log.error("learned response refused: %s", e)
            return None
        if doc is None or doc.get("evidence_s", 0.0) < LEARNED_MIN_EVIDENCE_S:
            return None
        return doc
