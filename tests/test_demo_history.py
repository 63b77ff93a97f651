"""The demo history (``fourbyfour demo --fast --weeks N``): what the register keeps."""

import subprocess
import sys

from controller.core.dates import local_day
from controller.records.register import Register
from controller.records.store import Store


def test_the_kept_response_model_is_dated_by_the_session_that_learned_it(tmp_path):
    # the register keeps the latest learned response "with its date and session" (issue 26);
    # the demo history dated it by the 6-minute test weeks earlier (the store's clock stuck
    # at the test's end while later sessions were imported)
    db = tmp_path / "y.db"
    r = subprocess.run([sys.executable, "-m", "controller.app.cli", "demo", "--fast",
                        "--weeks", "3", "--store", str(db)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    store = Store(db, readonly=True)
    try:
        sessions = store.sessions()
        four = [s for s in sessions if s.plan.get("name") == "4x4"]
        assert len(four) >= 3
        [rec] = Register(store).patients()
        assert rec.response_model_session == four[-1].id
        assert rec.response_model_date == local_day(four[-1].ended_unix_s).isoformat()
        assert rec.response_model_date != local_day(sessions[0].ended_unix_s).isoformat()
    finally:
        store.close()
