import pytest

from controller.service.config import ConfigError, load


def write(tmp_path, text):
    p = tmp_path / "fourbyfour.toml"
    p.write_text(text)
    return p


def test_no_file_and_an_empty_file_give_the_demo_defaults(tmp_path):
    a, b = load(None), load(write(tmp_path, ""))
    assert a == b
    assert a.heart_rate.source == "simulated" and a.mqtt.port == 1883
    assert a.plan.name == "4x4" and a.profile.pseudonym == "DEMO-1"


def test_a_full_file(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("s3cret\n")
    cfg = load(write(tmp_path, f"""
[site]
name = "oslo"
device = "tm-2"
[mqtt]
host = "broker.local"
port = 8883
username = "tm2"
password_file = "{pw}"
reconnect_max_s = 5
[heart_rate]
source = "ant"
ant_device_number = 4242
[patient]
pseudonym = "P-17"
hr_max = 175
hr_max_source = "tanaka"
max_speed_kmh = 6.0
walk_only = true
[plan]
warmup_s = 420
"""))
    assert cfg.mqtt.site == "oslo" and cfg.mqtt.password == "s3cret" and cfg.mqtt.port == 8883
    assert cfg.mqtt.reconnect_max_s == 5.0
    assert cfg.heart_rate.ant_device_number == 4242
    assert cfg.profile.hr_max == 175 and cfg.profile.walk_only and cfg.profile.hr_rest is None
    assert cfg.plan.phases[0].duration_s == 420


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sight]\nname='x'", "unknown section [sight]"),
        ("[mqtt]\nprot = 1", "[mqtt] unknown key 'prot'"),
        ("[mqtt]\nport = '1883'", "[mqtt] port has the wrong type"),
        ("[mqtt]\nport = 70000", "[mqtt] port: must be 1–65535"),
        ("[mqtt]\nreconnect_max_s = 0.1", "[mqtt] reconnect_max_s: must be 1–300 s, got 0.1"),
        ("[mqtt]\nenabled = 1", "[mqtt] enabled has the wrong type"),
        ("[mqtt]\ntls_ca_file = '/nope/ca.crt'", "tls_ca_file: no such file"),
        ("[site]\nname = 'a/b'", "[site] name: name must be"),
        ("[heart_rate]\nsource = 'wifi'", "must be ant, ble or simulated"),
        ("[heart_rate]\nsource = 'ble'", "ble_address: is required"),
        ("[patient]\nhr_max = 300", "[patient] hr_max must be 100–230"),
        ("[patient]\nhr_max = 180\nmax_speed_kmh = 18\n[treadmill]\nmax_speed_kmh = 12",
         "above the treadmill's 12 km/h"),
        ("[plan]\nwarmup_s = 10", "duration_s must be 30–3600"),
        ("[mqtt\nport=1", "not valid TOML"),
    ],
)
def test_bad_files_name_file_key_and_problem(tmp_path, text, message):
    p = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")) \
            as info:
        load(p)
    assert str(p) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load(tmp_path / "nope.toml")


def test_the_shipped_example_config_is_valid(tmp_path):
    from pathlib import Path

    example = Path(__file__).resolve().parent.parent / "deploy" / "fourbyfour.toml.example"
    cfg = load(example)
    assert cfg.heart_rate.source == "ant" and cfg.gpio is not None
    assert cfg.gpio.led_pins == (5, 6, 13) and cfg.command_secret is None


def test_language_and_belt_view(tmp_path):
    d = load(None)
    assert d.language == "nb" and d.belt_view.enabled and d.belt_view.port == 8080
    f = tmp_path / "c.toml"
    f.write_text('language = "en"\n[belt_view]\nhost = "127.0.0.1"\nport = 9000\n')
    c = load(f)
    assert (c.language, c.belt_view.host, c.belt_view.port) == ("en", "127.0.0.1", 9000)
    f.write_text('language = "sv"\n')
    with pytest.raises(ConfigError, match="language must be one of nb, en, got 'sv'"):
        load(f)
    f.write_text("[belt_view]\nport = 70000\n")
    with pytest.raises(ConfigError, match=r"\[belt_view\] port: must be 0–65535"):
        load(f)


# -- one schema (issue 25): the example is generated from it and names every key -----------

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "deploy" / "fourbyfour.toml.example"


def _keys_in_example(text):
    """(section, key) of every line the example sets or shows commented out."""
    import re

    section, found = "", set()
    for line in text.splitlines():
        if m := re.match(r"^\[(\w+)\]", line):
            section = m.group(1)
        elif m := re.match(r"^#?\s*(\w+) = ", line):
            found.add((section, m.group(1)))
    return found


def test_the_example_names_every_key_the_loader_accepts():
    from controller.service import config

    accepted = {(s, k) for s, keys in config._SCHEMA.items() for k in keys} | {("", "language")}
    assert len(accepted) == 45
    missing = accepted - _keys_in_example(EXAMPLE.read_text())
    assert not missing, f"{len(missing)} keys missing from the example: {sorted(missing)}"


def test_the_example_is_the_generated_one():
    from controller.service.config_schema import render_example

    assert EXAMPLE.read_text() == render_example(), \
        "python -m controller.service.config_schema > deploy/fourbyfour.toml.example"


def test_the_config_reference_is_the_generated_one():
    from controller.service.config_schema import KEYS, render_reference

    ref = (ROOT / "docs" / "config-reference.md").read_text()
    assert ref == render_reference(), \
        "python -m controller.service.config_schema --reference > docs/config-reference.md"
    assert sum(line.startswith("| `") for line in ref.splitlines()) == len(KEYS) == 45


def test_every_key_of_the_generated_example_loads(tmp_path):
    """Uncommented, every line of the example is accepted (the hints are valid values)."""
    import re

    from controller.service.config_schema import render_example

    text = re.sub(r"(?m)^# (\w+ = )", r"\1", render_example())
    for f in ("mqtt-password", "ca.crt", "treadmill-1.crt", "treadmill-1.key", "monitor.key"):
        (tmp_path / f).write_text("x" * 20 + "\n")
    (tmp_path / "command-secret").write_text("s" * 32)
    (tmp_path / "keys").mkdir()
    text = text.replace("/etc/fourbyfour/", f"{tmp_path}/")
    p = write(tmp_path, text.replace('source = "ant"', 'source = "ble"'))
    cfg = load(p)
    assert cfg.heart_rate.ble_address == "AA:BB:CC:DD:EE:FF" and cfg.profile.hr_rest == 60


@pytest.mark.parametrize("text", [
    "[gpio]\nenabled = true\nled_pins = [true, 6, 13]",
    "[gpio]\nenabled = true\nestop_pin = true",
    "[patient]\nhr_max = true",
])
def test_a_bool_is_not_a_number(tmp_path, text):
    with pytest.raises(ConfigError, match="wrong type"):
        load(write(tmp_path, text))


def test_psycopg_is_an_extra_that_the_tests_install():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("psycopg") for d in project["dependencies"])
    extras = project["optional-dependencies"]
    assert any(d.startswith("psycopg[binary]") for d in extras["records"])
    assert any(d.startswith("psycopg[binary]") for d in extras["test"])


def test_postgresql_without_psycopg_says_what_to_install(tmp_path):
    import subprocess
    import sys

    script = ("import sys; sys.modules['psycopg'] = None\n"
              "from controller.records.clinic_db import open_clinic_db\n"
              "from controller.records.store import StoreError\n"
              "try:\n    open_clinic_db('postgresql://nobody@127.0.0.1:1/x')\n"
              "except StoreError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert "fourbyfour[records]" in out.stdout, out.stdout + out.stderr
