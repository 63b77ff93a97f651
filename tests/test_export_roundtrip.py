"""Every exported session imports back identically (issue 23.4): a property test over
generated sessions — 4x4 and 6-minute tests, skips, pauses, ratings (interval 0 is the
6-minute test's), notes, every final status, with and without a summary."""

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.core.plan import six_minute_test
from controller.core.summary import summarise
from controller.protocol import PatientProfile, Session, SessionError
from controller.records import report
from controller.records.store import Store
from controller.sim import Belt

SESSION = st.fixed_dictionaries({
    "six_minute": st.booleans(),
    "hr_max": st.integers(150, 205),
    "seconds": st.integers(3, 400),
    "skips": st.lists(st.integers(1, 400), max_size=4),
    "pause_at": st.none() | st.integers(1, 400),
    "hr_base": st.integers(70, 120),
    "borgs": st.lists(st.integers(6, 20), max_size=4),
    "notes": st.lists(st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF),
                              min_size=1, max_size=80).filter(str.strip), max_size=3),
    "status": st.sampled_from(["finished", "stopped", "incomplete"]),
    "with_summary": st.booleans(),
    "start": st.floats(1.6e9, 1.75e9),
})


def record(store: Store, g: dict) -> str:
    profile = PatientProfile(hr_max=g["hr_max"], hr_rest=65, max_speed_kmh=7.0,
                             pseudonym="P-42")
    plan = six_minute_test(4.5, 2.0) if g["six_minute"] else None
    s = Session(profile, plan=plan)
    store.clock = lambda: g["start"]
    store.begin_session("S-rt", profile, s.plan.to_dict())
    belt = Belt()
    for k in range(g["seconds"]):
        t = float(k)
        try:
            if k in g["skips"]:
                s.skip()
            if k == g["pause_at"]:
                s.pause()
        except SessionError:
            pass
        sp = s.step(t, g["hr_base"] + (k % 60) * 0.5, belt.speed_kmh, belt.incline_pct)
        store.record("S-rt", sp, belt.speed_kmh, belt.incline_pct)
        belt.step(1.0, sp.speed_kmh, sp.incline_pct)
    for i, borg in enumerate(g["borgs"]):
        store.rate("S-rt", 0 if g["six_minute"] else i + 1, borg)
        if g["six_minute"]:
            break
    for n in g["notes"]:
        store.add_note("S-rt", n)
    summary = summarise(store.samples("S-rt"), g["hr_max"], []) if g["with_summary"] else None
    store.clock = lambda: g["start"] + g["seconds"] + 5
    store.end_session("S-rt", g["status"], summary)
    return "S-rt"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SESSION)
def test_every_export_imports_back_identically(g):
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        a = Store(d / "a.db")
        sid = record(a, g)
        report.export_json(a, sid, d / "s.json")
        b = Store(d / "b.db")
        assert report.import_json(b, d / "s.json") == sid
        report.export_json(b, sid, d / "again.json")
        assert json.loads((d / "again.json").read_text()) == \
            json.loads((d / "s.json").read_text())
        assert a.sessions() == b.sessions()
        a.close()
        b.close()
