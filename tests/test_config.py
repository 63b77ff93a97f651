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
