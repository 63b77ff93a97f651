"""One pseudonym rule everywhere: console, config, CLI, import, MQTT, the profile itself."""

import pytest

from controller.core.pseudonym import PseudonymError, check_pseudonym, pseudonym_problem
from controller.net import telemetry as tm
from controller.protocol import PatientProfile, ProfileError, Setpoint
from controller.service.config import ConfigError, from_dict
from controller.service.control_socket import setup_from

PERSONS = ["KariNordmann_120348", "Kari Nordmann, born 1948-03-12", "Kari_Nordmann",
           "OlaHansen", "P-12034812345", "12034812345", "x-1948-03-12", "P120348",
           "id-19480312", "Kari-Nordmann",
           # issue 23.9: these passed the old rule
           "kari-nordmann", "KARI_NORDMANN", "ola_nordmann_1948", "12-03-1948", "1948_03_12",
           "1203481234", "OLA-1948", "P-120348", "kari", "Kari Nordmann", "P-17 ", "p-17",
           "P_17", "Ø-17", "P-１７", "P-17\n"]
CODES = ["P-17", "DEMO-1", "OUS-0042", "P-000123", "AHUS-99", "P-999999", "P-1", "OUS-2100"]


@pytest.mark.parametrize("value", PERSONS)
def test_what_looks_like_a_person_is_refused(value):
    assert pseudonym_problem(value) is not None
    with pytest.raises(PseudonymError):
        check_pseudonym(value)


@pytest.mark.parametrize("value", CODES)
def test_codes_are_accepted(value):
    assert check_pseudonym(value) == value


def test_the_profile_the_config_and_the_console_use_the_rule():
    with pytest.raises(ProfileError, match="pseudonym"):
        PatientProfile(hr_max=180, pseudonym="KariNordmann_120348")
    with pytest.raises(ConfigError, match=r"\[patient\] pseudonym"):
        from_dict({"patient": {"pseudonym": "Kari Nordmann, born 1948-03-12",
                               "hr_max": 178}}, "x.toml")
    with pytest.raises(ValueError, match="date"):
        setup_from({"profile": {"pseudonym": "P-120348", "hr_max": 180}})


def test_mqtt_never_publishes_or_accepts_a_person():
    sp = Setpoint(0.0, 0.0, 0.0, "warmup", 0, None, None, None, "running", 0.0, 0.0, None,
                  "ok")
    with pytest.raises(ValueError, match="pseudonym"):
        tm.session_payload("s1", "Kari Nordmann, born 1948-03-12", sp)
    good = tm.session_payload("s1", "P-17", sp)
    bad = good.replace(b'"P-17"', b'"KariNordmann"')
    with pytest.raises(tm.PayloadError, match="pseudonym refused"):
        tm.parse("clinic/v1/oslo/tm-1/session", bad)
    assert tm.parse("clinic/v1/oslo/tm-1/session", good)[3]["pseudonym"] == "P-17"


def test_the_console_the_import_and_the_records_server_refuse_kari_nordmann(tmp_path):
    """Issue 23.9: the console accepted ``kari-nordmann`` and published it retained."""
    import json

    from controller.records.clinic_db import open_clinic_db
    from controller.records.session_import import ImportRefused, import_json
    from controller.records.store import Store, StoreError

    with pytest.raises(ValueError, match="pseudonym"):
        setup_from({"profile": {"pseudonym": "kari-nordmann", "hr_max": 180}})
    sp = Setpoint(0.0, 0.0, 0.0, "warmup", 0, None, None, None, "running", 0.0, 0.0, None,
                  "ok")
    with pytest.raises(ValueError, match="pseudonym"):
        tm.session_payload("s1", "kari-nordmann", sp)
    doc = {"schema": "fourbyfour.session-export/1",
           "session": {"id": "S1", "pseudonym": "ola_nordmann_1948", "started_unix_s": 1.7e9,
                       "ended_unix_s": None, "status": "finished", "plan": {},
                       "profile": {}, "hr_max_bpm": 180, "hr_max_source": "tanaka",
                       "summary": None}, "samples": [], "events": []}
    (tmp_path / "p.json").write_text(json.dumps(doc))
    with pytest.raises(ImportRefused, match=r"session\.pseudonym"):
        import_json(Store(tmp_path / "a.db"), tmp_path / "p.json")
    db = open_clinic_db(str(tmp_path / "clinic.db"))
    with pytest.raises(StoreError, match="pseudonym"):
        db.add_session("oslo", "tm-1", doc)
    with pytest.raises(StoreError, match="pseudonym"):
        db.set_profile("KARI_NORDMANN", {"hr_max": 180})
    assert db.sessions() == []
    db.close()


@pytest.mark.parametrize("value,digits", [("OUS-2001", "2001"), ("OLA-1948", "1948"),
                                          ("P-120348", "120348")])
def test_a_code_whose_digits_read_as_a_birth_year_says_so_and_what_to_do(value, digits):
    """Trial 15: «OUS-2001» (the rule's own form: letters, a hyphen, digits) was refused
    with «Et pseudonym kan ikke inneholde en dato.»: 2001 is no date, and the nurse could not
    tell what to change. The refusal names the digits, says they read as a year or a date of
    birth, and what to choose instead, in bokmål."""
    from controller.core import i18n

    i18n.set_language("nb")
    try:
        said = pseudonym_problem(value)
    finally:
        i18n.set_language("en")
    assert said is not None and f"«{digits}»" in said, said
    assert "fødselsår" in said and "fødselsdato" in said and "annet nummer" in said, said
