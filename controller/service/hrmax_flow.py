"""The 6-minute HRmax test's end: the patient's Borg rating gives the proposal, staff accept,
edit or reject it and the register keeps it. A collaborator of ``Runtime``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from controller.records.store import Store

if TYPE_CHECKING:
    from controller.service.runtime import Runtime

_log = logging.getLogger("controller.service.runtime")  # the runtime's, as before the split


class HrmaxFlow:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.hrmax_proposal: dict | None = None
        """After a 6-minute test and the patient's Borg rating: the estimate for staff."""
        self.rpe: int | None = None

    async def test_rpe(self, rpe: object) -> dict:
        """The patient's Borg rating at the end of a 6-minute test: the HRmax proposal, with
        its uncertainty and method, for staff to accept, edit or reject."""
        from controller.core.hrmax import (
            LARGE_CHANGE_BPM,
            estimate_from_six_minute_test,
            interrupted_test_s,
            test_skipped,
        )
        from controller.protocol import refused

        rt = self.rt
        s = rt._s()
        if s.plan is None or not any(p.kind == "test" for p in s.plan.phases):
            raise refused("rpe_not_test")
        if s.phase in ("warmup", "test"):
            raise refused("test_running")
        if isinstance(rpe, bool) or not isinstance(rpe, int) or not 6 <= rpe <= 20:
            raise refused("rpe_range", detail=repr(rpe))
        if rt.store is None:
            raise refused("no_store")
        sid = rt.session_id
        # the ticks, and whether the test part was skipped (k: six minutes not walked,
        # interrupted like a stop), in one call to the store
        rows, skipped = await rt.store.call(lambda s: (
            [(r["t_s"], r["phase"], r["state"], r["hr_bpm"]) for r in s.samples(sid)],
            test_skipped(s.events(sid))))
        trace = [hr for _t, phase, _state, hr in rows if phase == "test"]
        ran_s = interrupted_test_s([(t, phase, state) for t, phase, state, _hr in rows],
                                   test_skipped=skipped)
        if ran_s is not None:
            # stopped before its end: no estimate (``core.hrmax``); staff may type their own
            return await self._no_proposal(rpe, interrupted_after_s=round(ran_s))
        try:
            est = estimate_from_six_minute_test(trace, rpe=rpe,
                                                age_years=s.profile.age_years)
        except ValueError as e:
            # the rating is still what the patient said: kept in the record, and the
            # proposal says there is none from it and why (issue 21: Borg 16 was «avvist»,
            # thrown away, and asked for again as if not given)
            return await self._no_proposal(rpe, no_estimate=str(e))
        await self._note_rpe(rpe)
        self.hrmax_proposal = {"hr_max_bpm": est.hr_max_bpm, "source": str(est.source),
                               "uncertainty_bpm": est.uncertainty_bpm, "method": est.method,
                               "explanation": est.explanation, "rpe": rpe,
                               "hr_end_bpm": est.hr_end_bpm, "floored": est.floored,
                               "current_hr_max_bpm": rt._s().profile.hr_max,
                               "current_source": str(rt._s().profile.hr_max_source),
                               # far from the HRmax in use: the console warns, staff
                               # confirm twice
                               "large_change": abs(est.hr_max_bpm - rt._s().profile.hr_max)
                               >= LARGE_CHANGE_BPM}
        return self.hrmax_proposal

    async def _no_proposal(self, rpe: int, **why: object) -> dict:
        """The rating kept, and a proposal document with no HRmax in it: ``why`` says why
        (``interrupted_after_s`` for a test that did not run to its end, ``no_estimate`` for
        a rating the method cannot use); staff may still type their own."""
        await self._note_rpe(rpe)
        profile = self.rt._s().profile
        self.hrmax_proposal = {"hr_max_bpm": None, "source": None, "uncertainty_bpm": None,
                               "rpe": rpe, **why, "current_hr_max_bpm": profile.hr_max,
                               "current_source": str(profile.hr_max_source),
                               "large_change": False}
        return self.hrmax_proposal

    async def _note_rpe(self, rpe: int) -> None:
        """The test's Borg rating, kept in the record."""
        from controller.protocol import Event

        rt = self.rt
        self.rpe = rpe
        assert rt.store is not None
        await rt.store.call(Store.note, rt.session_id, Event(
            rt.clock(), "borg", f"Borg rating at the end of the test: {rpe}",
            params={"rpe": rpe}))

    async def decide_hrmax(self, decision: str, hr_max_bpm: object = None) -> dict | None:
        """Staff accept, edit or reject the proposal; accepted or edited, the register keeps
        it with today's date for the next 4x4: accepted, with the proposal's source (the test,
        or the age formula it fell back to); edited, with ``six_minute_test_edited`` (staff
        set it from the test; never the formula's). After an interrupted test there was no
        proposal to edit: the number staff type is their own, ``staff_entered`` (issue 21:
        stored as the test's, edited, the register and the FHIR export said the test made
        it)."""
        from controller.protocol import Event, refused

        rt = self.rt
        prop = self.hrmax_proposal
        if prop is None:
            raise refused("no_proposal")
        if prop.get("decision"):
            raise refused("proposal_decided", decision=prop["decision"])
        from controller.records.register import Register

        assert rt.store is not None and rt.profile is not None
        value = prop["hr_max_bpm"]
        if decision == "edited":
            if isinstance(hr_max_bpm, bool) or not isinstance(hr_max_bpm, int | float) or \
                    not 100 <= hr_max_bpm <= 230:
                raise refused("hrmax_range", detail=repr(hr_max_bpm))
            value = float(hr_max_bpm)
            source = "six_minute_test_edited" if prop["hr_max_bpm"] is not None \
                else "staff_entered"
        elif decision not in ("accepted", "rejected"):
            raise refused("hrmax_decision")
        elif decision == "accepted" and value is None:
            # an interrupted test (or a rating the method cannot use) proposes nothing:
            # there is nothing to accept
            if prop.get("no_estimate"):
                raise refused("no_hrmax_estimate", detail=prop["no_estimate"])
            raise refused("hrmax_interrupted", seconds=prop.get("interrupted_after_s", 0))
        if decision != "edited":
            source = prop["source"] or prop["current_source"]
        profile, sid = rt.profile, rt.session_id

        def decide(store: Store):  # type: ignore[no-untyped-def]
            reg = Register(store)
            if reg.get(profile.pseudonym) is None:
                reg.remember(profile)
            return reg.decide_hrmax(profile.pseudonym, decision,
                                    None if decision == "rejected" else value, source,
                                    dict(prop), sid)

        rec = await rt.store.call(decide)
        proposed = prop["hr_max_bpm"]
        said = f"HRmax proposal {proposed:.0f} bpm {decision} by staff" if proposed is not None \
            else (f"no HRmax proposal from Borg {prop.get('rpe')} ({prop['no_estimate']}): "
                  f"{decision} by staff") if prop.get("no_estimate") \
            else (f"interrupted test (after {prop.get('interrupted_after_s', 0)} s), no "
                  f"HRmax proposal: {decision} by staff")
        await rt.store.call(Store.note, sid, Event(
            rt.clock(), "hrmax_decision",
            said + ("" if decision != "edited" else f" as {value:.0f} bpm"),
            params={"proposed_bpm": None if proposed is None else round(proposed),
                    "decision": decision,
                    **({"interrupted_after_s": prop["interrupted_after_s"]}
                       if prop.get("interrupted_after_s") is not None else {}),
                    # a rating the method could not use: the report says so, not «not given»
                    **({"no_estimate": True, "rpe": prop.get("rpe")}
                       if prop.get("no_estimate") else {}),
                    **({"value_bpm": round(value)} if decision == "edited" else {})}))
        self.hrmax_proposal = dict(prop, decision=decision,  # the end summary says it
                                   **({"value_bpm": value} if decision == "edited" else {}))
        if rec is not None:
            self._use_stored(rec.hr_max_bpm, rec.hr_max_source)
        return None if rec is None else {"hr_max_bpm": rec.hr_max_bpm,
                                         "hr_max_source": rec.hr_max_source,
                                         "hr_max_date": rec.hr_max_date}

    def _use_stored(self, hr_max_bpm: float, source: str) -> None:
        """The HRmax just stored is the patient's from now on: the console's header, the belt
        screen and the cool-down still running show it at once (the trial: «makspuls 176»
        stayed in the header after 170 was saved, until the patient was chosen again). The
        test phase is over here (``test_rpe`` answers only then), so only the easy cool-down
        follows it; the record keeps the HRmax the test ran under."""
        import dataclasses

        from controller.core.hrmax import HrMaxSource
        from controller.protocol import ProfileError

        rt = self.rt
        assert rt.profile is not None
        try:
            profile = dataclasses.replace(rt.profile, hr_max=hr_max_bpm,
                                          hr_max_source=HrMaxSource(source))
        except (ProfileError, ValueError) as e:  # e.g. HRrest too near: the register has it
            _log.warning("HRmax %s stored, not shown: %s", hr_max_bpm, e)
            return
        rt.profile = profile
        if rt.session is not None and rt.session.profile.pseudonym == profile.pseudonym:
            rt.session.profile = dataclasses.replace(rt.session.profile, hr_max=hr_max_bpm,
                                                     hr_max_source=HrMaxSource(source))
