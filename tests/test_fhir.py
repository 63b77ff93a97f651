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
    assert {"55411-3", "55422-0", "8867-4", "work-at-90-hrmax"} <= set(codes)
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
    doc = fhir.hrmax_bundle("P-17", 184, "six_minute_test", "2026-11-27T10:15:00Z", 15,
                            "6-minute test: last-minute HR / Borg")
    (entry,) = Bundle.model_validate(doc).entry
    assert entry.resource.valueQuantity.value == 184
    assert entry.resource.method.text == "6-minute test"
    assert "± 15 bpm" in entry.resource.note[0].text


UUID_URN = r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
DATETIME_WITH_ZONE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$"
VITAL_SIGNS = "http://hl7.org/fhir/StructureDefinition/vitalsigns"
HEART_RATE = "http://hl7.org/fhir/StructureDefinition/heartrate"
HR_CODES = {"8867-4", "40443-4", "55422-0"}


def check_r4_rules(doc):
    """What R4 asks beyond the models: fullUrl an RFC 4122 urn:uuid; heart-rate observations
    in the vital-signs profile (category vital-signs, profile in meta, UCUM /min, an
    effective time with time of day and zone)."""
    import re

    Bundle.model_validate(doc)
    for e in doc["entry"]:
        assert re.match(UUID_URN, e["fullUrl"]), e["fullUrl"]
        o = e["resource"]
        when = o.get("effectiveDateTime") or o["effectivePeriod"]["start"]
        assert re.match(DATETIME_WITH_ZONE, when), when
        codes = {c["code"] for c in o["code"]["coding"] if c["system"] == "http://loinc.org"}
        if codes & HR_CODES:
            cats = {c["code"] for cat in o["category"] for c in cat["coding"]
                    if c["system"] ==
                    "http://terminology.hl7.org/CodeSystem/observation-category"}
            assert "vital-signs" in cats, o["code"]
            profiles = o.get("meta", {}).get("profile", [])
            assert VITAL_SIGNS in profiles or HEART_RATE in profiles, o["code"]
            if "8867-4" in codes:
                assert HEART_RATE in profiles
            q = o["valueQuantity"]
            assert (q["system"], q["code"]) == ("http://unitsofmeasure.org", "/min")
            assert o["status"] == "final" and o["subject"]


def test_session_bundle_meets_the_r4_vital_signs_rules_and_sends_no_resting_hr(tmp_path):
    """Issue 23.6: urn:uuid with hyphens, vital-signs category and profile, and the profile's
    resting HR is not re-sent as if measured at every session."""
    store = Store(tmp_path / "s.db")
    record_sim(store, "S1", 30, 1.7e9)
    doc = json.loads(json.dumps(fhir.session_bundle(store, "S1")))
    check_r4_rules(doc)
    codes = [c["code"] for e in doc["entry"] for c in e["resource"]["code"]["coding"]]
    assert "40443-4" not in codes


def test_the_hrmax_bundle_carries_the_current_decision_only(tmp_path):
    """Issue 23.6: a 6-minute test's HRmax (method, ± 15) then a lab value set by staff: the
    bundle says the lab value with its own source, not the old method and uncertainty, and
    an effectiveDateTime with time and zone."""
    import subprocess
    import sys

    from controller.records.register import PatientRecord, Register

    db = tmp_path / "s.db"
    store = Store(db)
    store.clock = lambda: 1.78e9
    reg = Register(store)
    reg.save(PatientRecord("P-5", 180.0, "tanaka"))
    reg.decide_hrmax("P-5", "accepted", 186.0, "six_minute_test",
                     {"uncertainty_bpm": 15, "method": "6-minute test: last-minute HR"})
    store.close()

    def cli(*args):
        r = subprocess.run([sys.executable, "-m", "controller", *args], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r

    cli("patient", "--store", str(db), "P-5", "--hr-max", "191", "--hr-max-source",
        "measured")
    cli("fhir", "--store", str(db), "--hrmax", "P-5", "--out", str(tmp_path / "h.json"))
    doc = json.loads((tmp_path / "h.json").read_text())
    check_r4_rules(doc)
    (entry,) = doc["entry"]
    o = entry["resource"]
    assert o["valueQuantity"]["value"] == 191 and o["method"]["coding"][0]["code"] == "measured"
    assert "6-minute" not in json.dumps(o) and "± 15" not in json.dumps(o)
    cli("fhir", "--store", str(db), "--hrmax", "P-5", "--out", str(tmp_path / "h.json"))


def test_the_hrmax_method_is_said_in_words_for_the_journal_reader():
    """The journal shows a CodeableConcept's text to people: it said «six_minute_test_edited»
    and «staff_entered» (a key of ours), now the words the hand-over uses, in English as
    the bundle's other texts are; the code stays for machines."""
    for source, words in (("six_minute_test_edited", "6-minute test, edited"),
                          ("staff_entered", "set by staff"), ("tanaka", "Tanaka formula")):
        b = fhir.hrmax_bundle("P-5", 171, source, "2026-12-07T10:00:00+01:00")
        check_r4_rules(b)
        method = b["entry"][0]["resource"]["method"]
        assert method["text"] == words, method
        assert method["coding"] == [{"system": fhir.OURS, "code": source, "display": words}]
