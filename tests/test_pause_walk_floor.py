"""In an active pause the patient walks (issue 21, h21pause).

The bokmål new-nurse trial: in an active pause the belt went down to 1,5 km/h at 5 % incline,
barely walking, and the hand-over then suggested active pauses at 1,4 km/h. The active pause
is about 70 % HRmax, "walking, not standing" (4x4.md). The lead's decision: the load comes
down by lowering the incline first; the speed goes below a walking floor (3 km/h, the pace
of normal slow walking and of the fail-safe's easy walk) only when the incline is already at
its lowest and the heart rate stays well above the pause's target (above the pause's zone)
for a while. A patient whose max speed is below the floor keeps their max.

Driven with the real Session and control law, virtual patients of the categories that come
down furthest (unfit, beta-blocked, walk-only), at 1 Hz as the runtime steps it.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from controller.core.control import PAUSE_BELOW_FLOOR_AFTER_S, PAUSE_WALK_FLOOR_KMH
from controller.core.plan import PhaseKind, default_4x4
from controller.core.workload import REST_VO2, vo2_cost
from controller.protocol import PatientProfile, Session, Setpoint
from controller.records.handover import suggest
from controller.sim import Belt, VirtualPatient, make_patient

FLOOR_KMH = 3.0  # the literal: normal slow walking, the easy walk of the fail-safe


def test_the_floor_is_a_slow_walk():
    assert PAUSE_WALK_FLOOR_KMH == FLOOR_KMH
    assert PAUSE_BELOW_FLOOR_AFTER_S == 60.0


def test_the_safety_table_states_the_pause_floor():
    from controller.app.reference import SAFETY_PAGE, safety_table_markdown

    row = next(line for line in safety_table_markdown().splitlines()
               if line.startswith("| active pause |"))
    assert "at least 3 km/h" in row and "incline first" in row and "60 s" in row
    assert row in SAFETY_PAGE.read_text(encoding="utf-8")


def whole_4x4(profile: PatientProfile, vp: VirtualPatient) -> list[Setpoint]:
    s = Session(profile, plan=default_4x4(warmup_s=300.0))
    belt, t, reading, out = Belt(), 0.0, 80.0, []
    while s.run_state != "done" and t < 3600:
        sp = s.step(t, reading, belt.speed_kmh, belt.incline_pct)
        out.append(sp)
        belt.step(1.0, sp.speed_kmh, sp.incline_pct)
        reading = vp.step(1.0, belt.speed_kmh, belt.incline_pct)
        t += 1.0
    assert s.ended_by == "plan"
    return out


PATIENTS = [(cat, seed) for cat in ("unfit", "beta_blocked", "unfit_walk_only", "typical")
            for seed in (1, 2, 3)]


@pytest.mark.parametrize(("category", "seed"), PATIENTS)
def test_every_active_pause_walks_and_lowers_the_incline_first(category, seed):
    truth, profile = make_patient(random.Random(seed), category, seed)
    rows = whole_4x4(profile, VirtualPatient(truth))
    floor = min(FLOOR_KMH, profile.speed_cap_kmh)
    lowest = default_4x4().phases[2].min_incline_pct
    zone_top = 0.77 * profile.hr_max
    pauses = [sp for sp in rows if sp.phase == PhaseKind.RECOVERY and sp.state == "running"]
    assert len(pauses) >= 3 * 170
    below = [sp for sp in pauses if sp.speed_kmh < floor - 1e-9]
    for sp in below:
        # the incline went down first, and the heart stayed well above the pause's target
        assert sp.incline_pct <= lowest + 1e-9, sp
    hot = 0
    for i, sp in enumerate(pauses):
        # a step down below the floor (climbing back up to it is not one)
        if i and sp.speed_kmh < floor - 1e-9 and sp.speed_kmh < pauses[i - 1].speed_kmh and \
                sp.interval == pauses[i - 1].interval:
            before = pauses[max(0, i - int(PAUSE_BELOW_FLOOR_AFTER_S)):i]
            assert len(before) == PAUSE_BELOW_FLOOR_AFTER_S, sp
            assert all(b.hr_bpm is None or b.hr_bpm > zone_top for b in before), sp
            hot += 1
    # the pause's steady part (after its first minute) walks at the floor or above in most
    # ticks; the stepping down below it is the exception for a heart that stays high
    steady = [sp for sp in pauses if sp.phase_elapsed_s >= 60.0]
    walking = sum(sp.speed_kmh >= floor - 1e-9 for sp in steady)
    assert walking >= 0.5 * len(steady), (walking, len(steady), hot)


def test_a_patient_slower_than_the_floor_keeps_their_max_speed():
    truth, profile = make_patient(random.Random(4), "unfit_walk_only", 4)
    profile = replace(profile, max_speed_kmh=2.5, min_speed_kmh=1.0)
    rows = whole_4x4(profile, VirtualPatient(truth))
    pauses = [sp for sp in rows if sp.phase == PhaseKind.RECOVERY and sp.state == "running"]
    assert max(sp.speed_kmh for sp in rows) <= 2.5
    steady = [sp for sp in pauses if sp.phase_elapsed_s >= 30.0]
    assert sum(sp.speed_kmh >= 2.5 - 1e-9 for sp in steady) >= 0.5 * len(steady)


def test_the_trial_pause_no_longer_crawls_at_one_and_a_half_km_h():
    """The trial's makspuls 150 (edited by staff) for a patient whose heart comes down
    quickly: the pause's set-point walks, the incline comes down to do it."""
    truth, profile = make_patient(random.Random(7), "typical", 7)
    profile = replace(profile, hr_max=150)
    rows = whole_4x4(profile, VirtualPatient(truth))
    pauses = [sp for sp in rows if sp.phase == PhaseKind.RECOVERY and sp.state == "running"]
    slow = [sp for sp in pauses if sp.speed_kmh < FLOOR_KMH - 1e-9 and
            sp.incline_pct > 1e-9]
    assert slow == []


def figures(pause: tuple[float, float], zone=(4.0, 8.0), warm=(3.5, 3.0)) -> dict:
    return {"zone_speed_kmh": zone[0], "zone_incline_pct": zone[1],
            "warm_speed_kmh": warm[0], "warm_incline_pct": warm[1],
            "pause_speed_kmh": pause[0], "pause_incline_pct": pause[1]}


@pytest.mark.parametrize("pause", [(1.4, 3.0), (1.5, 5.0), (2.2, 0.0), (1.5, 0.0)])
def test_the_hand_over_suggests_a_walking_pause_lighter_than_the_intervals(pause):
    sg = suggest([figures(pause)] * 3)
    assert sg is not None
    speed, incline = sg.pause
    assert speed >= FLOOR_KMH, sg.pause
    assert REST_VO2 < vo2_cost(speed, incline) < vo2_cost(*sg.interval), sg
    assert incline <= pause[1]  # the incline came down, not up
    assert speed <= sg.interval[0] or incline < sg.interval[1]


def test_the_hand_over_keeps_a_walking_pause_as_it_was():
    assert suggest([figures((4.5, 5.0), zone=(5.2, 7.0))] * 3).pause == (4.5, 5.0)


def test_the_hand_over_pause_is_capped_by_the_patients_max_speed():
    sg = suggest([figures((1.4, 3.0), zone=(2.4, 10.0))] * 3, max_speed_kmh=2.5)
    assert sg is not None and sg.pause[0] == 2.5
    assert vo2_cost(*sg.pause) < vo2_cost(*sg.interval)


def record_slow_4x4(store, sid: str, started: float, max_speed_kmh: float) -> None:
    """A 4x4 whose pauses crawled at 1,4 km/h and 3 % (the trial's hand-over) and whose
    intervals held 90 % HRmax at 2,4 km/h and 10 %."""
    from tests.test_handover import record_run

    record_run(store, sid, started, PatientProfile(hr_max=150, max_speed_kmh=max_speed_kmh,
                                                   pseudonym="P-21"),
               (2.0, 2.0, 100.0), (2.4, 10.0, 135.0), (1.4, 3.0, 110.0), (1.5, 0.0, 95.0))
    store.end_session(sid, "finished", None)


@pytest.mark.parametrize(("max_speed_kmh", "said"), [(8.0, "3,0\u00a0km/t"),
                                                     (2.5, "2,5\u00a0km/t")])
def test_the_hand_over_document_suggests_a_walking_pause(tmp_path, max_speed_kmh, said):
    import datetime as dt

    from controller.records.handover import handover_data, handover_text
    from controller.records.store import Store

    store = Store(tmp_path / "s.db")
    day = dt.datetime(2026, 11, 2, 10, 0).timestamp()
    for k in range(3):
        record_slow_4x4(store, f"S{k}", day + k * 3 * 86400, max_speed_kmh)
    h = handover_data(store, "P-21")
    store.close()
    assert h.suggestion is not None
    assert vo2_cost(*h.suggestion.pause) < vo2_cost(*h.suggestion.interval)
    line = next(text for _, text in handover_text(h, "nb")
                if text.startswith("3 aktive pauser à 3 min"))
    assert line.startswith(f"3 aktive pauser à 3 min: {said}"), line
