"""The belt at 90 % HRmax and the work there are what the patient walked while the session
ran (trial 13): a session stopped 2:55 into interval 1 reported «båndet: 4,2 km/t med 6,5 %
stigning» while the belt had held 5,3 km/t and 7,5 % at that heart rate; the figure was
averaged over the stop's ramp down as well (the phase is still the interval while the belt
slows). Only ticks of a running session count (not stopping, paused, or held or slowed
for a lost pulse)."""

from __future__ import annotations

from controller.core.workload import vo2_cost
from controller.records.mastery import zone_work
from controller.records.stats import progress_values

HR_MAX = 183.0


def _stopped_in_interval_1() -> list[dict[str, object]]:
    """Warm-up 600 s; interval 1: 175 s running at 5,3 km/t and 7,5 % with the heart at
    90 % HRmax, then staff's stop: 20 s of the belt slowing to a stand, incline lowering,
    the heart still at 90 %."""
    rows: list[dict[str, object]] = []
    for t in range(600):
        rows.append({"t_s": float(t), "phase": "warmup", "interval": 0, "state": "running",
                     "hr_bpm": 120.0, "speed_kmh": 4.0, "incline_pct": 3.0})
    for k in range(175):
        rows.append({"t_s": 600.0 + k, "phase": "interval", "interval": 1, "state": "running",
                     "hr_bpm": 0.9 * HR_MAX, "speed_kmh": 5.3, "incline_pct": 7.5})
    for k in range(20):
        rows.append({"t_s": 775.0 + k, "phase": "interval", "interval": 1,
                     "state": "stopping", "hr_bpm": 0.9 * HR_MAX,
                     "speed_kmh": round(5.3 * (1 - (k + 1) / 20), 2),
                     "incline_pct": round(7.5 - 0.1 * (k + 1), 2)})
    return rows


def test_the_belt_at_90_is_the_belt_while_the_session_ran() -> None:
    zone = zone_work(_stopped_in_interval_1(), HR_MAX)
    assert zone is not None
    assert (zone.speed_kmh, zone.incline_pct, zone.seconds) == (5.3, 7.5, 55)


def test_the_work_at_90_is_the_work_while_the_session_ran() -> None:
    values = progress_values(HR_MAX, 60.0, _stopped_in_interval_1())
    assert values["work_at_90_vo2"] == round(vo2_cost(5.3, 7.5), 2)
    assert (values["speed_at_90_kmh"], values["incline_at_90_pct"]) == (5.3, 7.5)
