"""``Store.record_many`` (issue 23: the simulated history writes its samples in batches)
against ``Store.record`` tick by tick: the same rows in the same order."""

import random

from controller.protocol import Session
from controller.records.store import Store
from controller.sim import Belt, VirtualPatient, make_patient


def _tables(store: Store) -> dict[str, list[tuple]]:
    return {t: store.db.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall()
            for t in ("sessions", "samples", "events")}


def test_record_many_writes_the_rows_record_writes(tmp_path):
    truth, profile = make_patient(random.Random(5), "typical", 5)
    profile = profile.__class__(**{**profile.__dict__, "pseudonym": "DEMO-7"})
    session, patient, belt = Session(profile), VirtualPatient(truth), Belt()
    ticks, t = [], 0.0
    while True:
        sp = session.step(t, patient.step(1.0, belt.speed_kmh, belt.incline_pct),
                          belt.speed_kmh, belt.incline_pct)
        ticks.append((sp, belt.speed_kmh, belt.incline_pct))
        if sp.phase == "done" and belt.speed_kmh == 0.0:
            break
        belt.step(1.0, sp.speed_kmh, sp.incline_pct)
        t += 1.0
    assert any(sp.events for sp, _, _ in ticks[1:])  # events ride along with the samples
    got = {}
    for how in ("record", "record_many"):
        clock = [1.7e9]
        store = Store(tmp_path / f"{how}.db", clock=lambda c=clock: c[0])
        store.begin_session("s1", profile, session.plan.to_dict())
        if how == "record":
            for sp, v, i in ticks:
                clock[0] = 1.7e9 + sp.now_s
                store.record("s1", sp, v, i)
        else:
            store.record("s1", *ticks[0])
            for k in range(1, len(ticks), 500):  # batches, as the history writes them
                clock[0] = 1.7e9 + ticks[k][0].now_s
                store.record_many("s1", ticks[k:k + 500])
            store.record_many("s1", [])
        store.close()
        reader = Store(tmp_path / f"{how}.db", readonly=True)
        got[how] = _tables(reader)
        reader.close()
    assert len(got["record"]["samples"]) == len(ticks)
    assert got["record_many"] == got["record"]
