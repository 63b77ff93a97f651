"""A strap with beat evidence in the closed loop, and a detector that misses every other beat.

``StrapStream`` sits between ``controller.sim.simulate`` and the ``Session``: on every tick it
turns the virtual patient's heart into what a strap sends — ANT+ (four pages a second with the
beat count and beat time) or BLE (one notification a second with the RR intervals since the
last) — and offers them to the session's gate as the runtime does (``Session.offer_hr``), then
ticks the session with no reading of its own. The strap's value is the simulated strap reading
(its noise, dropouts and artefacts included); its beats come at the true heart rate.

``halving_s`` seconds of a detector that misses every other R-wave start ``halving_at_s``
into interval 2 (issue 22): its beats, RR intervals and value all halve together, so the beats
confirm the value and only physiology (and the session's model) can tell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controller.core.hrgate import HrReading
from controller.protocol import Session, Setpoint


@dataclass
class StrapStream:
    session: Session
    patient: object
    radio: str = "ant"  # ant | ble
    halving_s: float = 0.0
    halving_at_s: float = 60.0
    interval: int = 2
    _count: int = 0
    _beat_t: float = 0.0
    _next_beat: float = 0.0
    _rr: list[float] = field(default_factory=list)
    _sp: Setpoint | None = None
    _halving_from: float | None = None
    halved_ticks: int = 0

    @property
    def plan(self):  # type: ignore[no-untyped-def]
        return self.session.plan

    def _halving(self, now_s: float) -> bool:
        sp = self._sp
        if self._halving_from is None and self.halving_s > 0 and sp is not None and \
                sp.phase == "interval" and sp.interval == self.interval and \
                sp.phase_elapsed_s >= self.halving_at_s:
            self._halving_from = now_s
        return self._halving_from is not None and \
            self._halving_from <= now_s < self._halving_from + self.halving_s

    def _beats_until(self, t: float, true_bpm: float, factor: float) -> None:
        seen = max(true_bpm, 20.0) * factor
        if self._next_beat - self._beat_t > 1.5 * 60.0 / seen:  # the detector changed
            self._next_beat = self._beat_t + 60.0 / seen
        while self._next_beat <= t:
            self._count = (self._count + 1) & 0xFF
            if self._next_beat > self._beat_t:
                self._rr.append(1000.0 * (self._next_beat - self._beat_t))
            self._beat_t = self._next_beat
            self._next_beat += 60.0 / seen

    def step(self, now_s: float, reading: float | None, speed_kmh: float,
             incline_pct: float) -> Setpoint:
        true = float(getattr(self.patient, "true_hr_bpm", reading or 0.0) or 0.0)
        halving = self._halving(now_s)
        self.halved_ticks += halving
        factor = 0.5 if halving else 1.0
        if now_s > 0.0:
            stamps = [now_s - 0.75, now_s - 0.5, now_s - 0.25, now_s] if self.radio == "ant" \
                else [now_s]
            for t in stamps:
                self._beats_until(t, true, factor)
                if reading is None:
                    self._rr.clear()  # a dropout: nothing arrives
                    continue
                value = float(round(reading * factor))
                if self.radio == "ant":
                    r = HrReading(t, value, self._count, self._beat_t % 64.0)
                else:
                    r = HrReading(t, value, rr_ms=tuple(self._rr[-4:]))
                self._rr.clear()
                self.session.offer_hr(r)
        self._sp = self.session.step(now_s, None, speed_kmh, incline_pct)
        return self._sp
