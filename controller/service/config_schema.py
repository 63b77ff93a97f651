"""Every configuration key, once: its type, default, meaning and the value a clinic starts from.

``controller.service.config`` validates a file's types against this table and takes its
defaults from it; ``render_example()`` writes ``deploy/fourbyfour.toml.example`` and
``render_reference()`` ``docs/config-reference.md`` from it (``tests/test_config.py`` checks
the shipped files are the generated ones), so the reader's copy cannot lose a key again.
The rules that tie keys together (ranges, files that must exist, a profile that fits the
treadmill) stay in ``config.from_dict``.

    python -m controller.service.config_schema > deploy/fourbyfour.toml.example
    python -m controller.service.config_schema --reference > docs/config-reference.md
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from typing import Any

STR, BOOL, INT, NUMBER, PINS = "string", "boolean", "integer", "number", "list of integers"

UNSET = object()
"""``example=UNSET``: the key is shown commented out (with ``hint``) in the example."""


@dataclass(frozen=True)
class Key:
    section: str
    """The TOML table ("" for the top level)."""
    name: str
    kind: str
    default: Any
    doc: str
    example: Any = None
    """The value the example file sets (None: the default; UNSET: commented out)."""
    hint: Any = None
    """The value shown in a commented-out line."""


SECTIONS: dict[str, str] = {
    "": "",
    "site": "",
    "mqtt": "",
    "treadmill": "",
    "heart_rate": "",
    "patient": "the default; staff enter each patient on the console",
    "plan": "",
    "service": "",
    "store": "",
    "records": "",
    "monitor": "the central monitor's keys for signed stop/ack commands",
    "gpio": "",
    "belt_view": "the patient's screen at the belt: http://<this Pi>:8080/",
}

KEYS: tuple[Key, ...] = (
    Key("", "language", STR, "nb",
        "nb (bokmål) | en: console, belt screen, reports, hand-over"),
    Key("site", "name", STR, "demo", "letters, digits, - and _ (part of the MQTT topics)",
        example="clinic"),
    Key("site", "device", STR, "treadmill-1", "this treadmill (part of the MQTT topics)"),
    Key("mqtt", "enabled", BOOL, True, "telemetry, events and status to the broker"),
    Key("mqtt", "host", STR, "localhost",
        "the Pi's own mosquitto, bridged to the central broker"),
    Key("mqtt", "port", INT, 1883, "1–65535"),
    Key("mqtt", "username", STR, "", "the broker's user for this treadmill", example=UNSET,
        hint="treadmill-1"),
    Key("mqtt", "password_file", STR, "", "a file holding the broker password", example=UNSET,
        hint="/etc/fourbyfour/mqtt-password"),
    Key("mqtt", "tls_ca_file", STR, "", "TLS to the broker: the CA that signed it",
        example=UNSET, hint="/etc/fourbyfour/ca.crt"),
    Key("mqtt", "tls_cert_file", STR, "", "client certificate (with tls_key_file)",
        example=UNSET, hint="/etc/fourbyfour/treadmill-1.crt"),
    Key("mqtt", "tls_key_file", STR, "", "the client certificate's key", example=UNSET,
        hint="/etc/fourbyfour/treadmill-1.key"),
    Key("mqtt", "commands_enabled", BOOL, False,
        "network stop/acknowledge only; needs command_secret_file"),
    Key("mqtt", "command_secret_file", STR, "", "≥ 16 bytes", example=UNSET,
        hint="/etc/fourbyfour/command-secret"),
    Key("mqtt", "reconnect_max_s", NUMBER, 30.0,
        "the longest wait between reconnects, 1–300 s"),
    Key("treadmill", "port", STR, "/dev/serial0",
        "the Pi's GPIO UART, wired to the Pico's UART0"),
    Key("treadmill", "max_speed_kmh", NUMBER, 16.0, "1–20: no patient's cap may exceed it"),
    Key("treadmill", "max_incline_pct", NUMBER, 15.0, "0–25"),
    Key("heart_rate", "source", STR, "simulated", "ant | ble (simulated: the demo only)",
        example="ant"),
    Key("heart_rate", "ant_device_number", INT, 0,
        "0: staff pair the patient's strap (console, b); N: always this strap"),
    Key("heart_rate", "ant_serial_path", STR, "",
        "the ANT+ stick's serial device (empty: the USB stick)"),
    Key("heart_rate", "ble_address", STR, "", "required when source = \"ble\"",
        example=UNSET, hint="AA:BB:CC:DD:EE:FF"),
    Key("patient", "pseudonym", STR, "DEMO-1", "never a name", example="P-0"),
    Key("patient", "hr_max", NUMBER, 183, "100–230 bpm", example=180),
    Key("patient", "hr_max_source", STR, "measured",
        "measured | tanaka | nes | keteyian | six_minute_test | six_minute_test_edited | "
        "observed_peak | staff_entered",
        example="tanaka"),
    Key("patient", "hr_rest", NUMBER, None, "30–130 bpm, ≥ 40 below hr_max", example=UNSET,
        hint=60),
    Key("patient", "max_speed_kmh", NUMBER, 8.0, "2–20 km/h", example=6),
    Key("patient", "max_incline_pct", NUMBER, 15.0, "0–25 %", example=12),
    Key("patient", "walk_only", BOOL, False, "true: never faster than 7 km/h"),
    Key("patient", "age_years", NUMBER, None, "10–100", example=UNSET, hint=45),
    Key("plan", "name", STR, "4x4", "4x4 (the only plan a service runs)"),
    Key("plan", "warmup_s", NUMBER, 600, "the warm-up's length in seconds"),
    Key("service", "control_socket", STR, "/run/fourbyfour/control.sock",
        "the consoles' Unix socket"),
    Key("store", "path", STR, "/var/lib/fourbyfour/sessions.db", "SQLite (WAL)"),
    Key("records", "upload", BOOL, False,
        "send finished sessions to the clinic's records service"),
    Key("records", "db", STR, "/var/lib/fourbyfour/clinic.db",
        "the records service's own: SQLite file or postgresql://…"),
    Key("monitor", "command_key_file", STR, "", "one key for every treadmill",
        example=UNSET, hint="/etc/fourbyfour/monitor.key"),
    Key("monitor", "command_keys_dir", STR, "", "<dir>/<site>/<device>.key: a key per treadmill",
        example=UNSET, hint="/etc/fourbyfour/keys"),
    Key("gpio", "enabled", BOOL, False,
        "e-stop and key monitor contacts, buzzer, RGB LED (BCM numbers)", example=True),
    Key("gpio", "estop_pin", INT, 17, "e-stop monitor contact, 0–27"),
    Key("gpio", "key_pin", INT, 27, "safety-key monitor contact, 0–27"),
    Key("gpio", "buzzer_pin", INT, 12, "0–27"),
    Key("gpio", "led_pins", PINS, [5, 6, 13], "red, green, blue"),
    Key("belt_view", "enabled", BOOL, True, "serve the patient's screen"),
    Key("belt_view", "host", STR, "0.0.0.0",
        "the clinic network (a tablet); \"127.0.0.1\" for the Pi's own HDMI"),
    Key("belt_view", "port", INT, 8080, "0–65535 (0: any free port)"),
)

BY_NAME: dict[tuple[str, str], Key] = {(k.section, k.name): k for k in KEYS}


def type_problem(key: Key, value: object) -> str | None:
    """Why ``value`` cannot be ``key``'s (a bool is no number here), or None."""
    if key.kind == STR:
        ok = isinstance(value, str)
    elif key.kind == BOOL:
        ok = isinstance(value, bool)
    elif key.kind == INT:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif key.kind == NUMBER:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and \
            math.isfinite(value)
    else:  # PINS
        ok = isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool)
                                             for v in value)
    return None if ok else f"must be a {key.kind}, got {type(value).__name__} {value!r}"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _line(text: str, doc: str) -> str:
    """``text  # doc`` in a column; a long one gets its comment on the line above."""
    if not doc:
        return text
    if len(text) < 26 and len(doc) <= 100 - 29:
        return f"{text:<26} # {doc}"
    return f"# {doc}\n{text}"


def render_example() -> str:
    """``deploy/fourbyfour.toml.example``: every key, set or commented out."""
    out = ["# fourbyfour configuration (generated from controller/service/config_schema.py).",
           "# Every key has a default; errors name the file, key and problem."]
    for section, about in SECTIONS.items():
        out.append("")
        if section:
            out.append(_line(f"[{section}]", about))
        for k in (k for k in KEYS if k.section == section):
            if k.example is UNSET:
                out.append(_line(f"# {k.name} = {_toml(k.hint)}", k.doc))
            else:
                value = k.default if k.example is None else k.example
                out.append(_line(f"{k.name} = {_toml(value)}", k.doc))
    return "\n".join(out) + "\n"


def render_reference() -> str:
    """``docs/config-reference.md``: every key with its type, default and meaning."""
    out = ["# Configuration reference",
           "",
           "Generated from `controller/service/config_schema.py` (`python -m "
           "controller.service.config_schema --reference`); the example file is "
           "`deploy/fourbyfour.toml.example`. Every key has a default; an empty file runs the "
           "demo. The rules that tie keys together (ranges, files that must exist, a patient "
           "who fits the treadmill, pins used once) are checked when the file is read, and "
           "each error names the file, the key and what is wrong.",
           "",
           "| key | type | default | meaning |",
           "|---|---|---|---|"]
    for k in KEYS:
        name = f"[{k.section}] {k.name}" if k.section else k.name
        default = "—" if k.default is None or k.default == "" else f"`{_toml(k.default)}`"
        out.append(f"| `{name}` | {k.kind} | {default} | {k.doc.replace('|', '&#124;')} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render_reference() if "--reference" in sys.argv else render_example())
