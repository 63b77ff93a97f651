"""People see Europe/Oslo dates; data keep UTC instants (issue 23.8). A session at 01:30 Oslo
summer time (23:30 UTC the day before) lands on the Oslo day everywhere: the register, the
session list (CLI, whatever the machine's TZ), the hand-over, the outcome, the weeks."""

import datetime as dt
import os
import subprocess
import sys

from controller.records import outcome, report
from controller.records.handover import handover_data
from controller.records.register import PatientRecord, Register
from controller.records.store import Store
from tests.test_report import record_sim

NIGHT = dt.datetime(2026, 6, 14, 23, 30, tzinfo=dt.UTC).timestamp()  # Mon 15 June 01:30 Oslo
OSLO_DAY = dt.date(2026, 6, 15)


def test_a_session_after_midnight_in_oslo_is_on_the_oslo_day_everywhere(tmp_path):
    db = tmp_path / "s.db"
    store = Store(db)
    record_sim(store, "S1", 30, NIGHT)
    store.clock = lambda: NIGHT
    reg = Register(store)
    reg.save(PatientRecord("P-3", 183.0, "tanaka"))
    assert reg.decide_hrmax("P-3", "accepted", 181.0, "measured", {}).hr_max_date == \
        OSLO_DAY.isoformat()
    assert handover_data(store, "P-3").first_day == OSLO_DAY
    res = outcome.outcome([store], OSLO_DAY, OSLO_DAY)
    assert res["sessions"] == 1 and res["per_patient"][0]["first_session"] == "2026-06-15"
    weeks = report.progression(store, "P-3")["weeks"]
    assert weeks[0]["week_start"] == "2026-06-15"  # the Monday of the Oslo week
    store.close()
    for tz in ("UTC", "America/New_York"):
        r = subprocess.run([sys.executable, "-m", "controller", "sessions", "--store", str(db),
                            "P-3"], capture_output=True, text=True, timeout=60,
                           env={**os.environ, "TZ": tz})
        assert r.returncode == 0, r.stderr
        row = r.stdout.splitlines()[1]
        assert ("15.06.2026" in row or "Jun 15, 2026" in row) and "01:30" in row, (tz, row)
