"""Small drivers shared by the tests: run a session against a scripted heart rate."""

from __future__ import annotations

from collections.abc import Callable

from controller.protocol import Session, Setpoint
from controller.sim import Belt


def drive(session: Session, hr_of_t: Callable[[float], float | None], seconds: float,
          *, dt_s: float = 1.0, t0: float = 0.0, belt: Belt | None = None
          ) -> list[Setpoint]:
    """Step ``session`` with a belt that follows its set-points; return every set-point."""
    belt = belt or Belt()
    out = []
    t = t0
    while t <= t0 + seconds:
        sp = session.step(t, hr_of_t(t), belt.speed_kmh, belt.incline_pct)
        out.append(sp)
        belt.step(dt_s, sp.speed_kmh, sp.incline_pct)
        t += dt_s
    return out


def events_of(sps: list[Setpoint]) -> list[tuple[float, str]]:
    return [(e.now_s, e.kind) for sp in sps for e in sp.events]
