"""The heart-rate gate against strap patterns: seconds of genuine data refused and seconds of
artefact believed, with beat timing (an ANT+ strap at 4 Hz) and without (one reading per
second, as the research API and a simulated strap give it).

    python -m bench.hr_gate          (./run bench-gate)

Each pattern starts with 60 s of a steady genuine level. A strap is scripted as segments:
genuine readings (the value is the heart rate of the beats), dropouts (nothing arrives),
halved / doubled values (the strap's computed value is wrong while its beats go on at the true
rate), spike storms (every other reading 25–60 bpm off), a frozen strap (it repeats its last
page: no new beats), ramps. ``strap_readings`` is shared with the tests.

Detector patterns (issue 22): the strap's own detector misses every other R-wave (``missed``:
its beat count, beat times, RR intervals *and* value all halve) or counts T-waves as beats
(``double_counted``: all of them double), and a value that sticks while the beats go on
(``stuck``). Beats from the same detector are no independent evidence, so only physiology
(and the session's model) can tell. Scored with beat count and time (ANT+, 4 Hz), with RR
intervals (BLE, 1 Hz) and by value alone; "alarm s" is how long after the artefact began the
gate asked for the strap alarm ("strap may be missing beats — wet or move it").
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from controller.core.hrgate import HrGate, HrReading

GENUINE = "genuine"
ARTEFACTS = ("halved", "doubled", "spikes", "frozen", "missed", "double_counted", "stuck")
DETECTOR = {"missed": 0.5, "double_counted": 2.0}
"""The rate the strap's detector sees, as a multiple of the heart's."""


@dataclass(frozen=True)
class Segment:
    duration_s: float
    kind: str  # genuine | dropout | halved | doubled | spikes | frozen | missed |
    #            double_counted | stuck
    bpm: float | Callable[[float], float]
    """The true heart rate: a level, or a function of the time since the segment began."""


def strap_readings(segments: list[Segment], *, beats: bool = True, rate_hz: float = 4.0,
                   seed: int = 1, value_only: bool = True, rr: bool = False,
                   with_true: bool = False) -> Iterator[tuple]:
    """(reading, kind) for a scripted strap (with ``with_true``: (reading, kind, true bpm)).
    With ``beats`` the readings carry the beat count and beat time an ANT+ strap sends; with
    ``rr`` the RR intervals of the beats since the last reading (BLE) instead; without
    either, the value alone (``value_only``: a strap known to send no timing, judged frozen
    on its value)."""
    rng = random.Random(seed)
    dt = 1.0 / rate_hz
    t = 0.0
    count, beat_t, next_beat = 0, 0.0, 0.0
    rrs: list[float] = []
    last: HrReading | None = None
    stuck: float | None = None
    hrv = 0.0
    for seg in segments:
        t_end = t + seg.duration_s
        t0 = t
        while t < t_end - 1e-9:
            true = (seg.bpm(t - t0) if callable(seg.bpm) else seg.bpm) + hrv
            hrv = min(max(hrv + rng.gauss(0.0, 0.4), -3.0), 3.0)  # a living heart wanders
            seen = true * DETECTOR.get(seg.kind, 1.0)  # the rate the strap's detector sees
            if seg.kind in ("dropout", "frozen"):
                next_beat = t + 60.0 / seen  # the heart beats on; the strap does not see it
                rrs.clear()
            else:
                if next_beat - beat_t > 1.5 * 60.0 / seen:  # the detector changed its mind
                    next_beat = beat_t + 60.0 / seen
                while next_beat <= t:
                    count = (count + 1) & 0xFF
                    if next_beat > beat_t:
                        rrs.append(1000.0 * (next_beat - beat_t))
                    beat_t = next_beat
                    next_beat += 60.0 / seen
            if seg.kind != "stuck":
                stuck = None
            if seg.kind == "dropout":
                t += dt
                continue
            if seg.kind == "frozen" and last is not None:
                r = HrReading(t, last.hr_bpm, last.beat_count, last.beat_time_s)
            else:
                value = float(round(seen))
                if seg.kind == "halved":
                    value = float(round(true / 2))
                elif seg.kind == "doubled":
                    value = float(round(true * 2))
                elif seg.kind == "stuck":
                    if stuck is None:
                        stuck = last.hr_bpm if last is not None and last.hr_bpm else value
                    value = stuck
                elif seg.kind == "spikes" and rng.random() < 0.5:
                    value = float(round(true + rng.choice((-1, 1)) * rng.uniform(25, 60)))
                r = HrReading(t, value, count if beats else None,
                              (beat_t % 64.0) if beats else None)
            last = r
            kind = seg.kind
            if seg.kind == "spikes" and abs((r.hr_bpm or 0) - true) < 3:
                kind = GENUINE
            if rr:
                out = HrReading(t, r.hr_bpm, rr_ms=tuple(rrs[-4:]))
            elif beats:
                out = r
            else:
                out = HrReading(t, r.hr_bpm, value_only=value_only)
            rrs.clear()
            yield (out, kind, true) if with_true else (out, kind)
            t += dt


def score(segments: list[Segment], *, beats: bool, rate_hz: float, rr: bool = False
          ) -> tuple[float, float, float | None]:
    """(seconds of genuine data refused, seconds of artefact believed, seconds from the
    first artefact — or from the start when there is none — to the strap alarm; None: no
    alarm). An artefact counts as believed when the gate passed on a value more than
    max(10 bpm, 8 %) off the true heart rate (a frozen strap: any value it passed on), so
    steering on the beats when the value sticks is not counted."""
    gate = HrGate()
    refused = believed = 0.0
    onset: float | None = None
    alarm: float | None = None
    for r, kind, true in strap_readings(segments, beats=beats, rate_hz=rate_hz, rr=rr,
                                        with_true=True):
        v = gate.update(r)
        if kind in ARTEFACTS and onset is None:
            onset = r.now_s
        if alarm is None and gate.strap_alarm(r.now_s):
            alarm = r.now_s - (onset if onset is not None else 0.0)
        if kind == GENUINE and not v.valid:
            refused += 1.0 / rate_hz
        elif kind in ARTEFACTS and v.valid and v.hr_bpm is not None and (
                kind == "frozen" or abs(v.hr_bpm - true) > max(10.0, 0.08 * true)):
            believed += 1.0 / rate_hz
    return refused, believed, alarm


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
    for dur in (10, 20, 30, 60):
        p[f"missed beats ×0.5 {dur:>2} s"] = [base(150), Segment(dur, "missed", 150),
                                              Segment(30, GENUINE, 150)]
    for dur in (10, 20, 30, 60):
        p[f"T-waves counted ×2 {dur:>2} s (70)"] = [
            base(70), Segment(dur, "double_counted", 70), Segment(30, GENUINE, 70)]
    p["stuck value, beats 150 → 170"] = [
        base(150), Segment(60, "stuck", lambda s: 150 + min(s, 20.0)),
        Segment(30, GENUINE, 170)]
    p["frozen 60 s"] = [base(), Segment(60, "frozen", 120), Segment(30, GENUINE, 120)]
    p["ramp +1 bpm/s, 60 s"] = [base(100), Segment(60, GENUINE, lambda s: 100 + s),
                                Segment(30, GENUINE, 160)]
    p["ramp −2 bpm/s, 30 s"] = [base(170), Segment(30, GENUINE, lambda s: 170 - 2 * s),
                                Segment(30, GENUINE, 110)]
    return p


def _alarm(a: float | None, name: str) -> str:
    if a is None:
        return "—"
    return f"{a:.1f}" + ("!" if not any(k in name for k in ARTEFACT_WORDS) else "")


ARTEFACT_WORDS = ("halved", "doubled", "spike", "frozen", "missed", "T-waves", "stuck")
"""A pattern without any of these is genuine throughout: an alarm there is false ("!")."""


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    cols = (("with beats (ANT+, 4 Hz)", dict(beats=True, rate_hz=4.0)),
            ("RR intervals (BLE, 1 Hz)", dict(beats=False, rr=True, rate_hz=1.0)),
            ("value only (1 Hz)", dict(beats=False, rate_hz=1.0)))
    head = (f"{'pattern':<34}" + "".join(f"{c:>27}" for c, _ in cols) + "\n"
            f"{'':<34}" + f"{'refused':>9}{'believed':>9}{'alarm':>9}" * len(cols) + "\n"
            f"{'':<34}" + f"{'s':>9}{'s':>9}{'s':>9}" * len(cols))
    print(head)
    print("-" * (34 + 27 * len(cols)))
    for name, segs in patterns().items():
        cells = []
        for _, kw in cols:
            r, b, a = score(segs, **kw)  # type: ignore[arg-type]
            cells.append(f"{r:>9.2f}{b:>9.2f}{_alarm(a, name):>9}")
        print(f"{name:<34}" + "".join(cells))
    print("alarm: seconds from the first artefact reading to the strap alarm; '!' marks an "
          "alarm on a genuine pattern")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
