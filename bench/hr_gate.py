"""The heart-rate gate against strap patterns: seconds of genuine data refused and seconds of
artefact believed, with beat timing (an ANT+ strap at 4 Hz) and without (one reading per
second, as the research API and a simulated strap give it).

    python -m bench.hr_gate          (./run bench-gate)

Each pattern starts with 60 s of a steady genuine level. A strap is scripted as segments:
genuine readings (the value is the heart rate of the beats), dropouts (nothing arrives),
halved / doubled values (the strap's computed value is wrong while its beats go on at the true
rate), spike storms (every other reading 25–60 bpm off), a frozen strap (it repeats its last
page: no new beats), ramps. ``strap_readings`` is shared with the tests.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from controller.core.hrgate import HrGate, HrReading

GENUINE = "genuine"
ARTEFACTS = ("halved", "doubled", "spikes", "frozen")


@dataclass(frozen=True)
class Segment:
    duration_s: float
    kind: str  # genuine | dropout | halved | doubled | spikes | frozen
    bpm: float | Callable[[float], float]
    """The true heart rate: a level, or a function of the time since the segment began."""


def strap_readings(segments: list[Segment], *, beats: bool = True, rate_hz: float = 4.0,
                   seed: int = 1, value_only: bool = True) -> Iterator[tuple[HrReading, str]]:
    """(reading, kind) for a scripted strap. With ``beats`` the readings carry the beat count
    and beat time an ANT+ strap sends; without, the value alone (``value_only``: a strap
    known to send no timing, judged frozen on its value)."""
    rng = random.Random(seed)
    dt = 1.0 / rate_hz
    t = 0.0
    count, beat_t, next_beat = 0, 0.0, 0.0
    last: HrReading | None = None
    hrv = 0.0
    for seg in segments:
        t_end = t + seg.duration_s
        t0 = t
        while t < t_end - 1e-9:
            true = (seg.bpm(t - t0) if callable(seg.bpm) else seg.bpm) + hrv
            hrv = min(max(hrv + rng.gauss(0.0, 0.4), -3.0), 3.0)  # a living heart wanders
            if seg.kind in ("dropout", "frozen"):
                next_beat = t + 60.0 / true  # the heart beats on; the strap does not see it
            else:
                while next_beat <= t:
                    count = (count + 1) & 0xFF
                    beat_t = next_beat
                    next_beat += 60.0 / true
            if seg.kind == "dropout":
                t += dt
                continue
            if seg.kind == "frozen" and last is not None:
                r = HrReading(t, last.hr_bpm, last.beat_count, last.beat_time_s)
            else:
                value = float(round(true))
                if seg.kind == "halved":
                    value = float(round(true / 2))
                elif seg.kind == "doubled":
                    value = float(round(true * 2))
                elif seg.kind == "spikes" and rng.random() < 0.5:
                    value = float(round(true + rng.choice((-1, 1)) * rng.uniform(25, 60)))
                r = HrReading(t, value, count if beats else None,
                              (beat_t % 64.0) if beats else None)
            last = r
            kind = seg.kind
            if seg.kind == "spikes" and abs((r.hr_bpm or 0) - true) < 3:
                kind = GENUINE
            yield (r if beats else HrReading(t, r.hr_bpm, value_only=value_only)), kind
            t += dt


def score(segments: list[Segment], *, beats: bool, rate_hz: float) -> tuple[float, float]:
    """(seconds of genuine data refused, seconds of artefact believed)."""
    gate = HrGate()
    refused = believed = 0.0
    for r, kind in strap_readings(segments, beats=beats, rate_hz=rate_hz):
        v = gate.update(r)
        if kind == GENUINE and not v.valid:
            refused += 1.0 / rate_hz
        elif kind in ARTEFACTS and v.valid:
            believed += 1.0 / rate_hz
    return refused, believed


def base(bpm: float = 120.0) -> Segment:
    return Segment(60, GENUINE, bpm)


def patterns() -> dict[str, list[Segment]]:
    p: dict[str, list[Segment]] = {}
    for gap in (5, 30, 60, 200):
        for d in (-40, 25, 33, 40):
            p[f"dropout {gap:>3} s, new level {d:+d} bpm"] = [
                base(130), Segment(gap, "dropout", 130), Segment(60, GENUINE, 130 + d)]
    p["spike storm 30 s"] = [base(), Segment(30, "spikes", 120), Segment(30, GENUINE, 120)]
    for dur in (5, 20, 60, 120):
        p[f"halved {dur:>3} s"] = [base(150), Segment(dur, "halved", 150),
                                   Segment(30, GENUINE, 150)]
    p["doubled 60 s (70 → 140)"] = [base(70), Segment(60, "doubled", 70),
                                    Segment(30, GENUINE, 70)]
    p["frozen 60 s"] = [base(), Segment(60, "frozen", 120), Segment(30, GENUINE, 120)]
    p["ramp +1 bpm/s, 60 s"] = [base(100), Segment(60, GENUINE, lambda s: 100 + s),
                                Segment(30, GENUINE, 160)]
    p["ramp −2 bpm/s, 30 s"] = [base(170), Segment(30, GENUINE, lambda s: 170 - 2 * s),
                                Segment(30, GENUINE, 110)]
    return p


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    head = (f"{'pattern':<38}{'with beats (ANT+, 4 Hz)':>26}{'value only (1 Hz)':>24}\n"
            f"{'':<38}{'refused s':>13}{'believed s':>13}{'refused s':>12}{'believed s':>12}")
    print(head)
    print("-" * len(head.splitlines()[0]))
    for name, segs in patterns().items():
        r1, b1 = score(segs, beats=True, rate_hz=4.0)
        r2, b2 = score(segs, beats=False, rate_hz=1.0)
        print(f"{name:<38}{r1:>13.2f}{b1:>13.2f}{r2:>12.1f}{b2:>12.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
