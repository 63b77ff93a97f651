"""One pseudonym rule everywhere: console, config, CLI, import, MQTT, the profile itself."""

import pytest

from controller.core.pseudonym import PseudonymError, check_pseudonym, pseudonym_problem
from controller.net import telemetry as tm
from controller.protocol import PatientProfile, ProfileError, Setpoint
from controller.service.config import ConfigError, from_dict
from controller.service.control_socket import setup_from

PERSONS = ["KariNordmann_120348", "Kari Nordmann, born 1948-03-12", "Kari_Nordmann",
           "OlaHansen", "P-12034812345", "12034812345", "x-1948-03-12", "P120348",
           "id-19480312", "Kari-Nordmann"]
CODES = ["P-17", "DEMO-1", "oslo_0042", "P-000123", "TM2-P9", "abc", "P-999999"]


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
