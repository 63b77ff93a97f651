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
