"""A golden trace of the closed loop's set-points: moving code must not move the belt.

Five deterministic sessions (fixed seeds) run through ``controller.sim.simulate`` with the
bench's own controller (``bench.closed_loop``), one of them fed by an ANT+ strap whose detector
halves (``bench.detector``), one an alt-family patient on the slower belt. Every change of a
set-point (speed km/h, incline %), phase or state is compared with
``tests/golden/setpoints.txt`` at 4 decimals: a refactoring that changes control behaviour
fails here. A deliberate change of the control law regenerates the file with
``GOLDEN_UPDATE=1`` (and says so in its commit).

The file holds only the changes (the series between two changes is constant), so it is the
per-tick series, losslessly, in a few hundred lines.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.alt_patient import alt_cohort, slow_belt
from bench.closed_loop import _ours
from bench.detector import StrapStream
from controller.protocol import Session
from controller.sim import Trace, VirtualPatient, cohort, simulate

GOLDEN = Path(__file__).parent / "golden" / "setpoints.txt"


def _changes(name: str, trace: Trace) -> list[str]:
    out, last, last_where = [f"# {name}"], None, None
    for r in trace.rows:
        key = f"{r.speed_sp_kmh:.4f} {r.incline_sp_pct:.4f}"
        where = f"{r.phase}/{r.interval} {r.state}"
        if key != last or where != last_where:
            out.append(f"{r.t_s:g} {key}" + (f" {where}" if where != last_where else ""))
            last, last_where = key, where
    out.append(f"end {trace.rows[-1].t_s:g} events " + ",".join(k for _, k, _ in trace.events))
    return out


def _runs() -> list[str]:
    lines: list[str] = []
    people = cohort(12, seed=2026)
    for index in (0, 3, 6):  # typical, beta-blocked, drift
        truth, profile = people[index]
        session = Session(profile, control=_ours(profile))  # type: ignore[arg-type]
        lines += _changes(f"main{index}", simulate(VirtualPatient(truth), profile,
                                                   session=session))
    truth, profile = people[7]  # strap trouble, fed as an ANT+ strap, a halving detector
    session = Session(profile, control=_ours(profile))  # type: ignore[arg-type]
    stream = StrapStream(session, VirtualPatient(truth), radio="ant", halving_s=20.0)
    lines += _changes("ant7", simulate(stream.patient, profile,  # type: ignore[arg-type]
                                       session=stream))
    alt, profile = alt_cohort(4, 2026)[1]
    session = Session(profile, control=_ours(profile))  # type: ignore[arg-type]
    lines += _changes("alt1", simulate(alt, profile, session=session,  # type: ignore[arg-type]
                                       belt=slow_belt()))
    return lines


def test_setpoints_match_the_golden_trace() -> None:
    got = "\n".join(_runs()) + "\n"
    if os.environ.get("GOLDEN_UPDATE") == "1":
        GOLDEN.write_text(got, encoding="utf-8")
    want = GOLDEN.read_text(encoding="utf-8")
    assert got.splitlines() == want.splitlines()
