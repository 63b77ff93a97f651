"""The clinic's outcome over a period and the anonymised export, on simulated histories."""

import csv
import datetime as dt
import subprocess
import sys

import pytest

from controller.app.simdemo import history
from controller.protocol import PatientProfile
from controller.records import outcome
from controller.records.store import Store
from controller.sim import PatientParams

START = dt.datetime(2026, 1, 5, 13, tzinfo=dt.UTC).timestamp()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("site")
    a, b = Store(d / "tm1.db"), Store(d / "tm2.db")
    for store, name, seed, weeks in ((a, "P-1", 1, 4), (a, "P-2", 2, 4), (b, "P-3", 3, 1)):
        params = PatientParams(vo2max=26 + seed, hr_max_bpm=185, hr_rest_bpm=68, seed=seed)
        prof = PatientProfile.from_age(40, hr_rest=68, max_speed_kmh=7.0, pseudonym=name)
        history(store, params, prof, weeks=weeks, seed=seed, start_unix_s=START,
                fitness_gain_per_week=1.0)
    yield d, [a, b]


def test_outcome_counts_adherence_drop_outs_and_paired_change(site):
    _d, stores = site
    res = outcome.outcome(stores, dt.date(2026, 1, 1), dt.date(2026, 3, 15))
    assert res["patients"] == 3
    assert res["sessions"] == sum(r["sessions"] for r in res["per_patient"])
    assert res["drop_outs"] == 3  # nobody trained in the 28 days before 15 March
    res = outcome.outcome(stores, dt.date(2026, 1, 1), dt.date(2026, 2, 10))
    dropped = {r["pseudonym"]: r["dropped_out"] for r in res["per_patient"]}
    assert dropped == {"P-1": False, "P-2": False, "P-3": True}
    v = res["vo2max_change"]
    assert v["n"] >= 2 and v["median"] > 0 and v["q1"] <= v["median"] <= v["q3"]
    assert v["ci95_low"] <= v["mean"] <= v["ci95_high"]
    assert res["work_at_90_change_vo2"]["median"] > 0
    assert outcome.describe([1.0, 2.0, 3.0])["ci95_low"] == pytest.approx(2 - 4.303 / 3 ** 0.5,
                                                                        abs=0.01)


def test_outcome_cli_pdf_csv_and_an_anonymised_export(site, tmp_path):
    d, _stores = site
    r = subprocess.run([sys.executable, "-m", "controller", "outcome", "--lang", "en", "--store",
                        str(d / "tm1.db"), "--store", str(d / "tm2.db"), "--from",
                        "2026-01-01", "--to", "2026-02-10", "--out", str(tmp_path / "o.pdf"),
                        "--csv", str(tmp_path / "o.csv"), "--anonymised",
                        str(tmp_path / "a.csv")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "3 patients" in r.stdout and "95 % CI" in r.stdout
    assert (tmp_path / "o.pdf").read_bytes()[:5] == b"%PDF-"
    with open(tmp_path / "o.csv") as f:
        assert {row["pseudonym"] for row in csv.DictReader(f)} == {"P-1", "P-2", "P-3"}
    text = (tmp_path / "a.csv").read_text()
    assert "P-1" not in text and "P-2" not in text and "P-3" not in text
    with open(tmp_path / "a.csv") as f:
        rows = list(csv.DictReader(f))
    assert len({row["study_id"] for row in rows}) == 3
    real = {dt.date(2026, 1, 5) + dt.timedelta(days=k) for k in range(0, 40)}
    assert any(dt.date.fromisoformat(row["date_shifted"]) not in real for row in rows)
    again = tmp_path / "b.csv"
    outcome.anonymised_export(_stores, dt.date(2026, 1, 1), dt.date(2026, 2, 10), again)
    with open(again) as f:
        assert not {row["study_id"] for row in csv.DictReader(f)} & \
            {row["study_id"] for row in rows}  # two exports cannot be linked
