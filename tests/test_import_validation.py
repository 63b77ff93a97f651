"""Imports check every value and refuse the whole file, naming field and line; fuzzed."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.records import report
from controller.records.session_import import ImportRefused
from controller.records.store import Store
from tests.test_report import record_sim


@pytest.fixture(scope="module")
def export_text(tmp_path_factory):
    d = tmp_path_factory.mktemp("exp")
    store = Store(d / "a.db")
    record_sim(store, "S1", 30, 1.7e9)
    report.export_json(store, "S1", d / "s.json")
    store.close()
    return (d / "s.json").read_text()


def _import(tmp_path, text, name="x.db"):
    (tmp_path / "in.json").write_text(text)
    store = Store(tmp_path / name)
    try:
        return store, report.import_json(store, tmp_path / "in.json")
    except ImportRefused:
        assert store.sessions() == [] and store.db.execute(
            "SELECT COUNT(*) FROM samples").fetchone()[0] == 0  # nothing half-imported
        raise


@pytest.mark.parametrize("field,value,message", [
    ("hr_bpm", "abc", "must be a number"),
    ("hr_bpm", 5000, "must be 30–250"),
    ("speed_kmh", -3, "must be 0–30"),
    ("phase", "sprint", "must be one of"),
    ("interval", 1.5, "must be a whole number"),
])
def test_a_bad_value_refuses_the_whole_file_with_field_and_line(tmp_path, export_text,
                                                                field, value, message):
    doc = json.loads(export_text)
    doc["samples"][700][field] = value
    text = json.dumps(doc, indent=1)
    with pytest.raises(ImportRefused) as e:
        _import(tmp_path, text)
    msg = str(e.value)
    assert f"samples[700].{field}: {message}" in msg and "nothing imported" in msg
    line = int(msg.split("line ")[1].split(":")[0])
    assert f'"{field}"' in text.splitlines()[line - 1]


def test_a_good_file_imports_and_a_person_or_an_hrmax_of_5000_does_not(tmp_path, export_text):
    store, sid = _import(tmp_path, export_text)
    assert sid == "S1" and len(store.samples("S1")) > 2000
    doc = json.loads(export_text)
    doc["session"]["hr_max_bpm"] = 5000
    with pytest.raises(ImportRefused, match=r"session\.hr_max_bpm: must be 100–230"):
        _import(tmp_path, json.dumps(doc), "y.db")
    doc = json.loads(export_text)
    doc["session"]["pseudonym"] = "KariNordmann_120348"
    with pytest.raises(ImportRefused, match=r"session\.pseudonym"):
        _import(tmp_path, json.dumps(doc), "z.db")


LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                   st.floats(allow_nan=False), st.text(max_size=8))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_any_mutation_is_imported_whole_or_refused_cleanly(tmp_path_factory, export_text,
                                                                data):
    doc = json.loads(export_text)
    doc["samples"] = doc["samples"][:50]
    doc["events"] = doc["events"][:5]
    where = data.draw(st.sampled_from(["session", "sample", "event", "top"]))
    if where == "session":
        key = data.draw(st.sampled_from(sorted(doc["session"])))
        doc["session"][key] = data.draw(LEAVES)
    elif where == "sample":
        row = doc["samples"][data.draw(st.integers(0, 49))]
        row[data.draw(st.sampled_from(sorted(row)))] = data.draw(LEAVES)
    elif where == "event" and doc["events"]:
        row = doc["events"][data.draw(st.integers(0, len(doc["events"]) - 1))]
        row[data.draw(st.sampled_from(sorted(row)))] = data.draw(LEAVES)
    else:
        doc[data.draw(st.sampled_from(["samples", "events", "extra"]))] = data.draw(LEAVES)
    d = tmp_path_factory.mktemp("fz")
    try:
        store, sid = _import(d, json.dumps(doc))
    except ImportRefused:
        return
    # what was accepted is usable: the progression and the report do not crash on it
    assert store.sessions()[0].id == sid
    report.session_facts(store, sid)


def _refused(tmp_path, doc, match, name="r.db"):
    with pytest.raises(ImportRefused, match=match):
        _import(tmp_path, json.dumps(doc, indent=1), name)


@pytest.mark.parametrize("summary", [
    {"garbage": True}, {"intervals": "abc"}, {"hr_max_bpm": 183, "intervals": [{"x": 1}],
                                              "recoveries": [], "total_in_zone_s": 3,
                                              "alarms": []},
    [1, 2], "summary",
])
def test_a_garbage_summary_is_refused_not_left_to_crash_the_report(tmp_path, export_text,
                                                                    summary):
    """Issue 23.5: a summary is checked like every other value."""
    doc = json.loads(export_text)
    doc["session"]["summary"] = summary
    _refused(tmp_path, doc, r"session\.summary")


def test_samples_that_contradict_the_session_are_refused(tmp_path, export_text):
    """Issue 23.5: zone low above high, interval 7 in the warm-up, junk in hr_status, a
    session without samples."""
    doc = json.loads(export_text)
    doc["samples"][700]["zone_low_bpm"], doc["samples"][700]["zone_high_bpm"] = 170, 150
    _refused(tmp_path, doc, r"samples\[700\]\.zone_low_bpm", "a.db")
    doc = json.loads(export_text)
    assert doc["samples"][100]["phase"] == "warmup"
    doc["samples"][100]["interval"] = 7
    _refused(tmp_path, doc, r"samples\[100\]\.interval", "b.db")
    doc = json.loads(export_text)
    doc["samples"][700]["interval"] = 7  # the plan has 4 intervals
    _refused(tmp_path, doc, r"samples\[700\]\.interval", "c.db")
    doc = json.loads(export_text)
    doc["samples"][5]["hr_status"] = "x" * 20 + "<script>!" + "y" * 35
    _refused(tmp_path, doc, r"samples\[5\]\.hr_status", "d.db")
    doc = json.loads(export_text)
    doc["samples"] = []
    _refused(tmp_path, doc, r"samples: .*no samples", "e.db")


def test_deep_nesting_is_refused_cleanly_from_the_cli(tmp_path, export_text):
    import subprocess
    import sys

    deep = export_text.replace('"summary": ', '"summary": ' + "[" * 100_000 + "]" * 100_000
                               + ', "x": ', 1)
    (tmp_path / "deep.json").write_text(deep)
    r = subprocess.run([sys.executable, "-m", "controller", "import", "--store",
                        str(tmp_path / "d.db"), str(tmp_path / "deep.json"), "--lang", "en"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "nothing imported" in r.stderr


def test_the_same_session_under_a_new_id_is_not_imported_twice(tmp_path, export_text):
    store, _ = _import(tmp_path, export_text)
    doc = json.loads(export_text)
    doc["session"]["id"] = "S1-copy"
    for row in doc["samples"] + doc["events"]:
        row["session_id"] = "S1-copy"
    (tmp_path / "copy.json").write_text(json.dumps(doc))
    with pytest.raises(ImportRefused, match=r"already in .* as session S1"):
        report.import_json(store, tmp_path / "copy.json")
    assert [r.id for r in store.sessions()] == ["S1"]


def test_an_imported_patient_enters_the_register(tmp_path, export_text):
    from controller.records.register import Register

    store, _ = _import(tmp_path, export_text)
    rec = Register(store).require("P-3")
    assert rec.hr_max_bpm == 183.0 and rec.hr_max_source == "measured"
    assert rec.hr_max_date == "2023-11-14"  # the session's day
