"""The one configuration file (TOML), validated with errors that name file, key and problem.

Every key has a default, and the defaults run the demo: an empty file (or none) is valid.
Every key, its type, default and meaning is in one table, ``config_schema.KEYS``; the
example (``deploy/fourbyfour.toml.example``) is generated from it. This module adds the
rules that tie keys together: ranges, files that must exist, a profile that fits the
treadmill, pins used once.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controller.core.hrmax import HrMaxSource
from controller.core.plan import Plan, PlanError, default_4x4
from controller.errors import ConfigError
from controller.net import tls
from controller.net.publisher import MqttSettings
from controller.net.telemetry import check_name
from controller.protocol import PatientProfile, ProfileError
from controller.service.config_schema import BY_NAME, KEYS, Key, type_problem


@dataclass(frozen=True)
class TreadmillSettings:
    port: str = "/dev/serial0"
    """The Pi's GPIO UART wired to the Pico's UART0 (firmware/README.md, Wiring)."""
    max_speed_kmh: float = 16.0
    max_incline_pct: float = 15.0


@dataclass(frozen=True)
class HeartRateSettings:
    source: str = "simulated"
    ant_device_number: int = 0
    ant_serial_path: str = ""
    ble_address: str = ""


@dataclass(frozen=True)
class GpioSettings:
    """BCM pin numbers (the wiring is in controller/devices/gpio.py)."""

    estop_pin: int = 17
    key_pin: int = 27
    buzzer_pin: int = 12
    led_pins: tuple[int, int, int] = (5, 6, 13)


@dataclass(frozen=True)
class BeltViewSettings:
    """The patient's screen at the belt (``controller.service.beltview``)."""

    enabled: bool = True
    host: str = "0.0.0.0"
    port: int = 8080


@dataclass(frozen=True)
class Config:
    mqtt_enabled: bool = True
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    treadmill: TreadmillSettings = field(default_factory=TreadmillSettings)
    heart_rate: HeartRateSettings = field(default_factory=HeartRateSettings)
    profile: PatientProfile = field(
        default_factory=lambda: PatientProfile(hr_max=183, hr_rest=72, max_speed_kmh=8.0,
                                               max_incline_pct=15.0, pseudonym="DEMO-1"))
    plan: Plan = field(default_factory=default_4x4)
    control_socket: str = "/run/fourbyfour/control.sock"
    store_path: str = "/var/lib/fourbyfour/sessions.db"
    gpio: GpioSettings | None = None
    command_secret: bytes | None = None
    """Set only when network commands (stop, acknowledge) are enabled."""
    language: str = "nb"
    belt_view: BeltViewSettings = field(default_factory=BeltViewSettings)
    monitor_key_file: str | None = None
    monitor_keys_dir: str | None = None
    records_upload: bool = False
    records_db: str = "/var/lib/fourbyfour/clinic.db"

    def monitor_key(self, site: str, device: str) -> bytes | None:
        """The key the central monitor signs a command for ``site/device`` with: the
        treadmill's own key from ``command_keys_dir`` if there is one, else the monitor's."""
        if self.monitor_keys_dir:
            f = Path(self.monitor_keys_dir) / site / f"{device}.key"
            if f.is_file():
                return f.read_bytes().strip()
        if self.monitor_key_file:
            return Path(self.monitor_key_file).read_bytes().strip()
        return None


_SCHEMA: dict[str, dict[str, Key]] = {}
"""Each section's keys, from the one table (``config_schema.KEYS``)."""
for _k in KEYS:
    if _k.section:
        _SCHEMA.setdefault(_k.section, {})[_k.name] = _k


def load(path: str | Path | None) -> Config:
    """Read and validate ``path`` (None: all defaults)."""
    if path is None:
        return from_dict({}, "<defaults>")
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise ConfigError(f"{p}: cannot read the config file: {e.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{p}: not valid TOML: {e}") from None
    return from_dict(data, str(p))


LANGUAGES = ("nb", "en")


def from_dict(data: dict[str, Any], where: str) -> Config:
    data = dict(data)
    language = data.pop("language", "nb")
    if not isinstance(language, str) or language not in LANGUAGES:
        raise ConfigError(f"{where}: language must be one of {', '.join(LANGUAGES)}, "
                          f"got {language!r}")
    for section, body in data.items():
        if section not in _SCHEMA:
            raise ConfigError(f"{where}: unknown section [{section}] "
                              f"(known: {', '.join(sorted(_SCHEMA))})")
        if not isinstance(body, dict):
            raise ConfigError(f"{where}: [{section}] must be a table")
        for key, value in body.items():
            spec = _SCHEMA[section].get(key)
            if spec is None:
                raise ConfigError(f"{where}: [{section}] unknown key {key!r}")
            if (why := type_problem(spec, value)) is not None:
                raise ConfigError(f"{where}: [{section}] {key} has the wrong type: {why}")

    def get(section: str, key: str, default: Any = BY_NAME) -> Any:
        """The file's value, else the schema's default (or the ``default`` given)."""
        if default is BY_NAME:
            default = BY_NAME[(section, key)].default
        return data.get(section, {}).get(key, default)

    def fail(section: str, key: str, msg: str) -> ConfigError:
        return ConfigError(f"{where}: [{section}] {key}: {msg}")

    site, device = get("site", "name"), get("site", "device")
    for key, value in (("name", site), ("device", device)):
        try:
            check_name(key, value)
        except ValueError as e:
            raise fail("site", key, str(e)) from None
    password = None
    if get("mqtt", "password_file"):
        pf = Path(get("mqtt", "password_file"))
        try:
            password = pf.read_text().strip()
        except OSError as e:
            raise fail("mqtt", "password_file", f"cannot read {pf}: {e.strerror}") from None
    port = get("mqtt", "port")
    if not 1 <= port <= 65535:
        raise fail("mqtt", "port", f"must be 1–65535, got {port}")
    reconnect_max_s = float(get("mqtt", "reconnect_max_s"))
    if not 1.0 <= reconnect_max_s <= 300.0:
        raise fail("mqtt", "reconnect_max_s", f"must be 1–300 s, got {reconnect_max_s:g}")
    for key in ("tls_ca_file", "tls_cert_file", "tls_key_file"):
        f = get("mqtt", key)
        if f and not Path(f).is_file():
            raise fail("mqtt", key, f"no such file: {f}")
    for key in ("command_key_file", "command_keys_dir"):
        f = get("monitor", key)
        if f and not Path(f).exists():
            raise fail("monitor", key, f"no such file or directory: {f}")
    mqtt = MqttSettings(
        host=get("mqtt", "host"), port=port, site=site, device=device,
        username=get("mqtt", "username") or None, password=password,
        tls_ca_file=get("mqtt", "tls_ca_file") or None,
        tls_cert_file=get("mqtt", "tls_cert_file") or None,
        tls_key_file=get("mqtt", "tls_key_file") or None,
        reconnect_max_s=reconnect_max_s,
    )
    try:
        tls.check(mqtt)
    except tls.TlsConfigError as e:
        raise fail("mqtt", "tls", str(e)) from None
    tms = TreadmillSettings(get("treadmill", "port"),
                            float(get("treadmill", "max_speed_kmh")),
                            float(get("treadmill", "max_incline_pct")))
    if not 1 <= tms.max_speed_kmh <= 20:
        raise fail("treadmill", "max_speed_kmh", "must be 1–20 km/h")
    if not 0 <= tms.max_incline_pct <= 25:
        raise fail("treadmill", "max_incline_pct", "must be 0–25 %")
    src = get("heart_rate", "source")
    if src not in ("ant", "ble", "simulated"):
        raise fail("heart_rate", "source", f"must be ant, ble or simulated, got {src!r}")
    dn = get("heart_rate", "ant_device_number")
    if not 0 <= dn <= 65535:
        raise fail("heart_rate", "ant_device_number",
                   "must be 0–65535 (0: staff pair the patient's strap for each session)")
    if src == "ble" and not get("heart_rate", "ble_address"):
        raise fail("heart_rate", "ble_address", "is required when source = \"ble\"")
    hrs = HeartRateSettings(src, dn, get("heart_rate", "ant_serial_path"),
                            get("heart_rate", "ble_address"))
    pat = data.get("patient", {})
    try:
        profile = PatientProfile(
            hr_max=get("patient", "hr_max"),
            hr_rest=get("patient", "hr_rest", 72 if not pat else None),  # the demo's patient
            max_speed_kmh=get("patient", "max_speed_kmh"),
            max_incline_pct=get("patient", "max_incline_pct"),
            hr_max_source=HrMaxSource(get("patient", "hr_max_source")),
            walk_only=get("patient", "walk_only"), age_years=get("patient", "age_years"),
            pseudonym=get("patient", "pseudonym"),
        )
    except (ProfileError, ValueError) as e:
        raise ConfigError(f"{where}: [patient] {e}") from None
    if profile.max_speed_kmh > tms.max_speed_kmh:
        raise fail("patient", "max_speed_kmh", f"{profile.max_speed_kmh:g} km/h is above the "
                   f"treadmill's {tms.max_speed_kmh:g} km/h")
    name = get("plan", "name")
    if name != "4x4":
        raise fail("plan", "name", f"unknown plan {name!r} (4x4)")
    try:
        plan = default_4x4(float(get("plan", "warmup_s")))
    except PlanError as e:
        raise ConfigError(f"{where}: [plan] {e}") from None
    secret = None
    if get("mqtt", "commands_enabled"):
        sf = get("mqtt", "command_secret_file")
        if not sf:
            raise fail("mqtt", "command_secret_file", "is required when commands_enabled")
        try:
            secret = Path(sf).read_bytes().strip()
        except OSError as e:
            raise fail("mqtt", "command_secret_file", f"cannot read {sf}: {e.strerror}") \
                from None
        if len(secret) < 16:
            raise fail("mqtt", "command_secret_file", "the secret must be ≥ 16 bytes")
    gpio = None
    if get("gpio", "enabled"):
        leds = get("gpio", "led_pins")
        if len(leds) != 3 or not all(isinstance(p, int) and 0 <= p <= 27 for p in leds):
            raise fail("gpio", "led_pins", "must be three BCM pin numbers 0–27")
        pins = {k: get("gpio", k) for k in ("estop_pin", "key_pin", "buzzer_pin")}
        for k, v in pins.items():
            if not 0 <= v <= 27:
                raise fail("gpio", k, f"must be a BCM pin number 0–27, got {v}")
        used = [*pins.values(), *leds]
        if len(set(used)) != len(used):
            raise fail("gpio", "pins", "every pin may be used once")
        gpio = GpioSettings(pins["estop_pin"], pins["key_pin"], pins["buzzer_pin"],
                            (leds[0], leds[1], leds[2]))
    bv_port = get("belt_view", "port")
    if not 0 <= bv_port <= 65535:
        raise fail("belt_view", "port", f"must be 0–65535 (0: any free port), got {bv_port}")
    belt_view = BeltViewSettings(get("belt_view", "enabled"),
                                 get("belt_view", "host"), bv_port)
    return Config(get("mqtt", "enabled"), mqtt, tms, hrs, profile, plan,
                  get("service", "control_socket"),
                  get("store", "path"), gpio, secret,
                  language, belt_view,
                  get("monitor", "command_key_file") or None,
                  get("monitor", "command_keys_dir") or None,
                  get("records", "upload"),
                  get("records", "db"))
