"""Trial 15: a 4x4 stopped by staff 2 min 35 s into its first interval was listed by
`økter` as «avsluttet … 1/4» (one interval in the zone), while its report called that
interval «avbrutt». An interval counts in the zone only when it ran (``RAN_FRAC`` of its
planned time, the rule that says which intervals ran) and held the zone: the list says 0/4.
A session recorded through the simulation's real session and store; the CLI as a
subprocess reads it."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys

from controller.app.commands.demo_sim import _new_patient_profile
from controller.app.simdemo import run_session
from controller.core.metrics import ScoredRow, interval_metrics
from controller.records.store import Store
from controller.sim import VirtualPatient, make_patient


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "FOURBYFOUR_LANG"}
    return subprocess.run([sys.executable, "-m", "controller", *args], capture_output=True,
                          text=True, timeout=300, env=env)


def _recorded(db, stop_after_s: float | None) -> str:
    truth, measured = make_patient(random.Random(3), "typical", 3)
    profile = _new_patient_profile(truth, measured, None)

    def staff(session, sp, _t) -> None:  # type: ignore[no-untyped-def]
        if stop_after_s is not None and sp.phase == "interval" and sp.interval == 1 \
                and sp.phase_elapsed_s >= stop_after_s and session.run_state.value == "running":
            session.stop()

    store = Store(db)
    try:
        sid, _rows, _s = run_session(VirtualPatient(truth), profile, store=store,
                                     start_unix_s=1.75e9, trace=False, on_tick=staff)
        samples = store.samples(sid)
        held = interval_metrics([ScoredRow.of_sample(s) for s in samples],
                                store.session(sid).hr_max_bpm)
        assert held and held[0].ok, held  # the part that ran held the zone
        return profile.pseudonym or ""
    finally:
        store.close()


def test_an_interval_stopped_before_it_ran_is_not_counted_in_the_zone(tmp_path):
    db = str(tmp_path / "s.db")
    pseudonym = _recorded(db, stop_after_s=155.0)
    r = _cli("økter", "--øktlager", db, pseudonym)
    assert r.returncode == 0, r.stderr
    row = next(line for line in r.stdout.splitlines() if "4x4" in line)
    assert row.rstrip().endswith("0/4"), r.stdout


def test_a_whole_session_counts_its_intervals_in_the_zone(tmp_path):
    db = str(tmp_path / "s.db")
    pseudonym = _recorded(db, stop_after_s=None)
    r = _cli("økter", "--øktlager", db, pseudonym)
    row = next(line for line in r.stdout.splitlines() if "4x4" in line)
    assert re.search(r"[1-4]/4$", row.rstrip()), r.stdout
