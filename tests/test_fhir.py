"""Sessions and HRmax results as FHIR R4 Bundles, validated with fhir.resources (R4B models,
whose Observation and Bundle are R4's)."""

import json

from fhir.resources.R4B.bundle import Bundle

from controller.records import fhir
from controller.records.store import Store
from tests.test_report import record_sim


def test_a_session_bundle_validates_and_carries_loinc_codes_and_utc_times(tmp_path):
    store = Store(tmp_path / "s.db")
    record_sim(store, "S1", 30, 1.7e9)
    doc = fhir.session_bundle(store, "S1")
    bundle = Bundle.model_validate(json.loads(json.dumps(doc)))
    obs = [e.resource for e in bundle.entry]
    codes = [c.code for o in obs for c in o.code.coding]
    assert {"55411-3", "55422-0", "40443-4", "8867-4", "work-at-90-hrmax"} <= set(codes)
    assert codes.count("8867-4") == 4  # the mean heart rate of each interval
    duration = next(o for o in obs if o.code.coding[0].code == "55411-3")
    assert str(duration.effectivePeriod.start).startswith("2023-11-14 22:13:20") or \
        duration.effectivePeriod.start.isoformat().startswith("2023-11-14T22:13:20")
    assert duration.effectivePeriod.start.utcoffset().total_seconds() == 0
    assert 35 < float(duration.valueQuantity.value) < 50
    hr = next(o for o in obs if o.code.coding[0].code == "8867-4")
    assert hr.valueQuantity.code == "/min" and hr.subject.identifier.value == "P-3"
    fhir.write_bundle(doc, tmp_path / "b.json")
    Bundle.model_validate_json((tmp_path / "b.json").read_text())


def test_an_hrmax_result_bundle_validates():
    doc = fhir.hrmax_bundle("P-17", 184, "six_minute_test", "2026-11-27", 15,
                            "6-minute test: last-minute HR / Borg")
    (entry,) = Bundle.model_validate(doc).entry
    assert entry.resource.valueQuantity.value == 184
    assert entry.resource.method.text == "six_minute_test"
    assert "± 15 bpm" in entry.resource.note[0].text
