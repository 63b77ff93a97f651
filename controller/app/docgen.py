"""The docs' generated parts, rendered from the code, so a page cannot say what the code does not.

Each generated part sits in a docs page between two markers::

    <!-- generated:NAME:begin (python -m controller.app.docgen --write) -->
    …
    <!-- generated:NAME:end -->

and ``tests/test_docs.py`` checks that what is committed is what the code renders now. The
parts: the command line (from the argparse parser, ``controller.app.cli.parser``) and its exit
codes (``controller.errors``), the alarms and the motor board's faults in bokmål with what
staff do (``controller.core.words`` and the catalog), the MQTT topics and payloads (from the
JSON Schemas and the topic functions), the benchmark tables (from ``bench/figures.toml``,
the figures as last recorded) and the console's screenshots (the SVGs of the Textual snapshot
tests, copied under ``docs/personale/skjerm/``). The safety table has its own generator
(``controller.app.reference``); the configuration reference too
(``controller.service.config_schema``).

    python -m controller.app.docgen --write     # rewrite every generated part and screenshot
    python -m controller.app.docgen --check     # exit 1 and name what is stale
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
FIGURES = ROOT / "bench" / "figures.toml"
SNAPSHOTS = ROOT / "tests" / "__snapshots__" / "test_snapshots"


def _cell(text: object) -> str:
    """Text for one cell of a Markdown table: a pipe outside a code span is escaped (inside
    one the table reads it as text), RST's double backticks become Markdown's."""
    parts = str(text).replace("``", "`").replace("\n", " ").split("`")
    return "`".join(p if i % 2 else p.replace("|", "&#124;") for i, p in enumerate(parts))


def _table(columns: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(_cell(c) for c in columns) + " |",
           "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return out


# -- the command line ----------------------------------------------------------------------


def _option_cell(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    flags = ", ".join(f"`{s}`" for s in action.option_strings)
    if action.nargs == 0:
        return flags
    if action.choices is not None:
        return f"{flags} `{{{','.join(str(c) for c in action.choices)}}}`"
    metavar = action.metavar or action.dest.upper()
    return f"{flags} `{metavar}`"


def _default_cell(action: argparse.Action) -> str:
    if action.required or not action.option_strings:
        return "required"
    if action.nargs == 0 or action.default in (None, False, argparse.SUPPRESS):
        return "—"
    if isinstance(action, argparse.BooleanOptionalAction):
        return "—"
    return f"`{action.default}`"


def cli_reference() -> str:
    """Every command of ``fourbyfour`` with its options, from the parser the program runs."""
    from controller.app.cli import parser
    from controller.errors import __doc__ as errors_doc

    ap = parser()
    subs = next(a for a in ap._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help or "" for a in subs._choices_actions}
    # each command once, under its English name (this page's language), with its bokmål one
    commands = {name: [n for n, p in subs.choices.items() if p is sub and n != name]
                for name, sub in subs.choices.items() if name in helps}
    out: list[str] = []
    out += _table(["command", "bokmål", "what"],
                  [[f"[`{name}`](#{name})", ", ".join(f"`{n}`" for n in others or [name]),
                    helps[name]] for name, others in commands.items()])
    for name, others in commands.items():
        sub = subs.choices[name]
        said = f" In bokmål: `fourbyfour {others[0]}`." if others else ""
        out += ["", f"### {name}", "", helps[name] + "." + said, ""]
        rows = [[_option_cell(a), _default_cell(a), a.help or ""]
                for a in sub._actions
                if not isinstance(a, argparse._HelpAction) and a.help != argparse.SUPPRESS]
        out += _table(["option", "default", "meaning"], rows) if rows else ["No options."]
    out += ["", "### Exit codes", "",
            "The same for every command (`controller.errors`, one table):", ""]
    codes = [line.split(None, 2) for line in (errors_doc or "").splitlines()
             if re.match(r"^\d+\s", line)]
    out += _table(["code", "name", "when"],
                  [[c[0], c[1] if len(c) > 1 else "", c[2] if len(c) > 2 else ""] for c in codes])
    return "\n".join(out) + "\n"


# -- alarms and faults, for staff (bokmål) -------------------------------------------------

ALARM_ACTIONS = {
    # what staff do, in the glossary's words; one entry for every alarm kind in words.ALARMS
    "hr_hold": "Båndet holder fart og stigning. Kjenn etter at pulsbeltet sitter godt og er "
               "fuktet. Kommer pulsen tilbake, styrer økten videre av seg selv.",
    "hr_lost": "{slow_down} Kjenn etter at pulsbeltet sitter godt, fukt det eller flytt "
               "det. Kommer pulsen tilbake, styrer økten videre av seg selv. Kvitter med `a`.",
    "hr_lost_stop": "Økten er stoppet og båndet står. Sjekk pulsbeltet og pasienten. En ny "
                    "økt må startes av personalet (`n`, `b`, `s`).",
    "hr_above_max": "Belastningen er satt ned (målet 75 % av makspuls i 60 s). Se til "
                    "pasienten. Gjentar det seg, er makspulsen trolig satt for lavt: se "
                    "«makspuls trolig for lav».",
    "hrmax_underestimated": "Pulsen har vært over makspulsen i profilen. Vurder en ny "
                            "6-minutters pulstest, eller rett makspulsen i pasientskjemaet "
                            "før neste økt.",
    "hrmax_maybe_high": "Pulsen holder seg under sonen selv om belastningen burde gi mer. "
                        "Sjekk makspulsen (kilde og dato i historikken, `h`); vurder en ny "
                        "6-minutters pulstest.",
    "zone_unreachable": "Sonen nås ikke innenfor pasientens grenser for fart og stigning. "
                        "Båndet går aldri over grensene. Vurder grensene eller makspulsen "
                        "etter økten.",
    "strap_missing_beats": "Pulsbeltet måler trolig feil (for lavt eller for høyt). "
                           "Belastningen øker ikke så lenge det varer. Fukt pulsbeltet eller "
                           "flytt det litt. Når økten er avsluttet, står advarselen i fortid: "
                           "«Pulsbeltet ga usikre målinger i denne økten».",
    "belt_stopped": "Båndet stoppet utenfor økten (nødstopp, sikkerhetsnøkkel eller feil på "
                    "tredemøllen), og økten står på pause. Se til pasienten. Slipp nødstoppen "
                    "eller sett inn sikkerhetsnøkkelen, trykk reset på tredemøllen, og "
                    "fortsett med `r`.",
    "store_failed": "Økten fortsetter, men øktdataene ble ikke skrevet. Si fra til "
                    "teknikeren (IT).",
}
FAULT_ACTIONS = {
    # one entry for every latched fault of the motor board in words.FAULTS
    "boot": "Vanlig etter at tredemøllen er slått på. Trykk reset på tredemøllen.",
    "watchdog_reset": "Motorkortet startet på nytt av seg selv. Trykk reset på tredemøllen; "
                      "skjer det igjen, si fra til teknikeren.",
    "host_silent": "Motorkortet hørte ikke fra Pi-en (den lille datamaskinen ved "
                   "tredemøllen) på et halvt sekund og stoppet båndet selv. Se til pasienten; "
                   "trykk reset når konsollen viser kontakt med tredemøllen igjen. Skjer det "
                   "igjen, si fra til teknikeren.",
    "estop": "Nødstoppen er trykket. Se til pasienten; slipp nødstoppen og trykk reset på "
             "tredemøllen.",
    "key_pulled": "Sikkerhetsnøkkelen er ute. Sett den inn og trykk reset på tredemøllen.",
    "overspeed": "Båndet gikk fortere enn det skulle, og motoren er slått av. Ikke bruk "
                 "tredemøllen; si fra til teknikeren.",
    "no_tach": "Motorkortet fikk ikke fartssignal fra båndet, og motoren er slått av. Ikke "
               "bruk tredemøllen; si fra til teknikeren.",
    "incline": "Feil på stigningsmotoren. Ikke bruk tredemøllen; si fra til teknikeren.",
}


def _nb(x: float) -> str:
    return f"{x:g}".replace(".", ",")


def slow_down_said() -> str:
    """What the session does in its slow-down for a lost pulse, from its own constants
    (issue 21: the page said «går ned til rolig gange (3 km/t, flatt)» while the trial saw
    6,1 → 4,4 km/t: the belt was on its way down at the rate limit)."""
    from controller.core.safety import RateLimits
    from controller.protocol import EASY_WALK_KMH, HR_STOP_AFTER_S

    lim = RateLimits()
    walk = EASY_WALK_KMH
    return (f"Båndet går gradvis ned mot rolig gange ({_nb(walk)} km/t, flatt): høyst "
            f"{_nb(lim.speed_down_kmh_per_s)} km/t og {_nb(lim.incline_pct_per_s)} % "
            f"stigning ned per sekund (fra 6 km/t tar det om lag "
            f"{(6.0 - walk) / lim.speed_down_kmh_per_s:.0f} s), og holder rolig gange til "
            f"pulsen er tilbake; gikk båndet saktere fra før, holder det den farten. Etter "
            f"{HR_STOP_AFTER_S:.0f} s uten puls stopper økten.")


def alarms_reference() -> str:
    """Every alarm the console and the monitor show, and every latched fault of the motor
    board, in bokmål as staff see them, with what to do."""
    from controller.core import words
    from controller.core.i18n import _, language, set_language

    missing = (set(words.ALARMS) ^ set(ALARM_ACTIONS)) | (set(words.FAULTS) ^ set(FAULT_ACTIONS))
    if missing:
        raise KeyError(f"what staff do is not written for: {sorted(missing)}")
    was = language()
    set_language("nb")
    try:
        alarms = [[f"**{_(words.ALARMS[k])}**", _(words.EVENTS.get(k, words.ALARMS[k])),
                   ALARM_ACTIONS[k].format(slow_down=slow_down_said())] for k in words.ALARMS]
        faults = [[f"**{_(words.FAULTS[k])}**", FAULT_ACTIONS[k]] for k in words.FAULTS]
    finally:
        set_language(was)
    out = ["## Alarmer i økten", ""]
    out += _table(["alarm (konsollen og monitoren)", "hva som skjer", "hva du gjør"], alarms)
    out += ["", "## Feil på tredemøllen (motorkortet)", "",
            "Motorkortet er kortet i tredemøllen som styrer motoren. Det låser feilen, og "
            "båndet står til noen trykker reset på tredemøllen. "
            "Båndet starter aldri igjen av seg selv.", ""]
    out += _table(["feil", "hva du gjør"], faults)
    return "\n".join(out) + "\n"


# -- MQTT topics from the schemas ----------------------------------------------------------


def _topics() -> dict[str, tuple[str, str, str]]:
    """schema file → (topic, who publishes → who reads, QoS and retain): the topics from the
    functions the clients use, with placeholders for the names."""
    from controller.net import remote
    from controller.net import telemetry as tm
    from controller.net.records_link import records_topic

    def named(topic: str) -> str:
        return (topic.replace("/SITE/", "/<site>/").replace("/DEVICE/", "/<device>/")
                .replace("/ID", "/<id>"))

    def t(kind: str) -> str:
        return named(tm.topic("SITE", "DEVICE", kind))

    def r(what: str) -> str:
        return named(records_topic("SITE", "DEVICE", what, "ID"))

    return {
        "status.schema.json": (t("status"), "treadmill → monitor, other treadmills' strap "
                               "guard", "QoS 1, retained; every 5 s while online; last will"),
        "meta.schema.json": (t("meta"), "treadmill → monitor, strap guard", "QoS 1, retained"),
        "session.schema.json": (t("session"), "treadmill → monitor, `fourbyfour command`",
                                "QoS 1, retained"),
        "telemetry.schema.json": (t("telemetry"), "treadmill → monitor", "QoS 0, ~1 Hz"),
        "event.schema.json": (t("event"), "treadmill → monitor", "QoS 1, numbered by `seq`"),
        "command.schema.json": (named(remote.command_topic("SITE", "DEVICE")),
                                "monitor, `fourbyfour command` → treadmill",
                                "QoS 1, never retained; HMAC-signed"),
        "command-reply.schema.json": (named(remote.reply_topic("SITE", "DEVICE")),
                                      "treadmill → monitor, `fourbyfour command`", "QoS 1"),
        "record.schema.json": (r("session"), "treadmill → records service",
                               "QoS 1, sent again until acknowledged"),
        "record-ack.schema.json": (r("ack"), "records service → treadmill", "QoS 1"),
        "profile-request.schema.json": (r("profile"), "treadmill → records service", "QoS 1"),
        "profile-reply.schema.json": (r("profile-reply"), "records service → treadmill",
                                      "QoS 1"),
    }


def _kind(spec: dict[str, Any]) -> str:
    if "const" in spec:
        return f"`{json.dumps(spec['const'])}`"
    if "enum" in spec:
        return "one of " + ", ".join(f"`{json.dumps(v)}`" for v in spec["enum"])
    kind = spec.get("type", "")
    kind = " or ".join(kind) if isinstance(kind, list) else str(kind or "any")
    bounds = [f"{w} {spec[k]}" for k, w in (("minimum", "≥"), ("maximum", "≤"),
                                             ("exclusiveMinimum", ">"), ("maxLength", "length ≤"),
                                             ("maxItems", "items ≤")) if k in spec]
    if "pattern" in spec:
        bounds.append(f"pattern `{spec['pattern']}`")
    return kind + (f" ({', '.join(bounds)})" if bounds else "")


def mqtt_reference() -> str:
    """The MQTT topics and, per topic, its payload's fields from the JSON Schema."""
    from controller.net.telemetry import SCHEMA_DIR

    topics = _topics()
    files = sorted(p.name for p in SCHEMA_DIR.glob("*.schema.json"))
    if set(files) != set(topics):
        raise KeyError(f"schemas without a topic here, or topics without a schema: "
                       f"{sorted(set(files) ^ set(topics))}")
    out = _table(["topic", "schema", "from → to", "delivery"],
                 [[f"`{topics[f][0]}`",
                   f"[`{json.loads((SCHEMA_DIR / f).read_text())['$id']}`](#{f.split('.')[0]})",
                   topics[f][1], topics[f][2]] for f in files])
    for f in files:
        schema = json.loads((SCHEMA_DIR / f).read_text())
        required = set(schema.get("required", []))
        out += ["", f"### {f.split('.')[0]}", "",
                f"`{schema['$id']}` — {schema.get('title', '')}. Topic `{topics[f][0]}`; "
                f"schema file `schemas/{f}`.", ""]
        rows = [[f"`{name}`", "yes" if name in required else "", _kind(spec),
                 spec.get("description", "")]
                for name, spec in schema.get("properties", {}).items()]
        out += _table(["field", "required", "type", "meaning"], rows)
        if "$comment" in schema:
            out += ["", f"Note: {schema['$comment']}."]
    return "\n".join(out) + "\n"


# -- benchmark figures ---------------------------------------------------------------------


def benchmark_tables(path: Path = FIGURES) -> str:
    """The benchmark tables as last recorded (``bench/figures.toml``)."""
    data = tomllib.loads(path.read_text())
    out: list[str] = []
    for t in data["table"]:
        out += [f"### {t['title']}", "", f"`{t['command']}` — {t['measured']}.", ""]
        out += _table(list(t["columns"]), [list(r) for r in t["rows"]])
        if t.get("note"):
            out += ["", t["note"]]
        out.append("")
    return "\n".join(out)


# -- screenshots ---------------------------------------------------------------------------

SCREENSHOTS = {
    # the docs' name → the snapshot test's SVG (bokmål, as staff see it)
    "pasientskjema.svg": "test_patient_form[nb-120x40].svg",
    "kjent-pasient.svg": "test_patient_form_with_a_returning_patient[nb].svg",
    "pulsbelte.svg": "test_strap_picker[nb].svg",
    "lavt-batteri.svg": "test_console_warns_of_a_low_strap_battery_before_start[nb].svg",
    "okt.svg": "test_console_layout[nb-120x40].svg",
    "borg.svg": "test_borg_prompt[nb].svg",
    "stopp.svg": "test_console_stop_confirmation[nb].svg",
    "reset.svg": "test_console_reset_message_is_whole[nb-120x40].svg",
    "pulstest-borg.svg": "test_six_minute_test_borg_prompt[nb].svg",
    "pulstest-forslag.svg": "test_six_minute_test_proposal_with_a_large_change[nb].svg",
    "monitor.svg": "test_monitor_layout[nb].svg",
}
SCREENSHOT_DIR = DOCS / "personale" / "skjerm"


# -- the generated blocks in the pages -----------------------------------------------------

GENERATED: dict[str, tuple[str, Callable[[], str]]] = {
    "cli": ("it/cli.md", cli_reference),
    "alarms": ("personale/alarmer.md", alarms_reference),
    "mqtt": ("dev/mqtt.md", mqtt_reference),
    "benchmarks": ("research/benchmarks.md", benchmark_tables),
}


def markers(name: str) -> tuple[str, str]:
    return (f"<!-- generated:{name}:begin (python -m controller.app.docgen --write) -->",
            f"<!-- generated:{name}:end -->")


def block(text: str, name: str) -> str | None:
    """The generated part ``name`` of a page's text (None: the page has no such markers)."""
    begin, end = markers(name)
    m = re.search(re.escape(begin) + r"\n(.*?)" + re.escape(end), text, re.S)
    return None if m is None else m.group(1)


def replace_block(text: str, name: str, body: str) -> str:
    begin, end = markers(name)
    pattern = re.compile(re.escape(begin) + r"\n.*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"no generated block {name!r}: add the lines {begin!r} and {end!r}")
    return pattern.sub(lambda _m: f"{begin}\n{body}{end}", text, count=1)


def stale() -> list[str]:
    """What is not what the code renders now (empty: the docs are current)."""
    out = []
    for name, (page, render) in GENERATED.items():
        if block((DOCS / page).read_text(), name) != render():
            out.append(f"docs/{page} ({name})")
    for mine, theirs in SCREENSHOTS.items():
        copy = SCREENSHOT_DIR / mine
        if not copy.exists() or copy.read_bytes() != (SNAPSHOTS / theirs).read_bytes():
            out.append(f"docs/personale/skjerm/{mine} ({theirs})")
    return out


def write() -> None:
    for name, (page, render) in GENERATED.items():
        path = DOCS / page
        path.write_text(replace_block(path.read_text(), name, render()))
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    for mine, theirs in SCREENSHOTS.items():
        (SCREENSHOT_DIR / mine).write_bytes((SNAPSHOTS / theirs).read_bytes())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--write", action="store_true", help="rewrite the generated parts")
    ap.add_argument("--check", action="store_true", help="exit 1 when a part is stale")
    args = ap.parse_args(argv)
    if args.write:
        write()
        return 0
    bad = stale()
    for what in bad:
        print(f"stale: {what}", file=sys.stderr)
    return 1 if bad and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
