"""A session's kept figures score its samples once (issue 23: ``stats.compute`` scored a
year's demo history three times over — its intervals, then ``hit_seconds`` twice), with the
same numbers as every reader's ``mastery.hit_seconds``."""

from __future__ import annotations

import random

import pytest

from controller.app.commands.demo_sim import _new_patient_profile
from controller.app.simdemo import run_session
from controller.core import metrics
from controller.records import stats
from controller.records.mastery import hit_seconds
from controller.records.store import Store
from controller.sim import VirtualPatient, make_patient


@pytest.mark.parametrize("category,seed", [("typical", 3), ("strap_trouble", 7)])
def test_the_kept_figures_score_the_samples_once(tmp_path, monkeypatch, category, seed):
    truth, measured = make_patient(random.Random(seed), category, seed)
    profile = _new_patient_profile(truth, measured, None)
    store = Store(tmp_path / "s.db")
    try:
        sid, _rows, _s = run_session(VirtualPatient(truth), profile, store=store,
                                     start_unix_s=1.75e9, trace=False)
        rec, samples = store.session(sid), store.samples(sid)
        calls = []
        scored = metrics.interval_metrics

        def counted(rows, hr_max):  # type: ignore[no-untyped-def]
            calls.append(len(rows))
            return scored(rows, hr_max)

        monkeypatch.setattr(stats, "interval_metrics", counted)
        monkeypatch.setattr("controller.records.mastery.interval_metrics", counted)
        row = stats.compute(rec, samples, [])
        assert len(calls) == 1
        monkeypatch.undo()
        assert row == store.stats_of(sid)  # what the store kept at the session's end
        want = hit_seconds(samples, rec.hr_max_bpm)
        assert row["hit_s"] == want and type(row["hit_s"]) is type(want)
        assert row["minutes_at_85"] == round(want / 60.0, 1)
        assert row["hit_s"] > 0
    finally:
        store.close()
