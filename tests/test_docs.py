"""The docs: a README of one page, a site that builds with ``mkdocs build --strict``, and every
generated part equal to what the code renders now (issue 25, "Docs for each reader").

When a test here fails because the code changed, regenerate and commit the pages:
``python -m controller.app.docgen --write`` (and ``python -m controller.app.reference --write``
for the safety table, ``python -m controller.service.config_schema --reference >
docs/config-reference.md`` for the configuration).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from controller.app import docgen

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"


# -- the README: one page, the contract, a link per reader --------------------------------


def test_the_readme_is_one_page_with_a_link_for_each_reader():
    text = README.read_text()
    assert len(text.splitlines()) <= 150
    for heading in ("## Intended use", "## Safety", "## The two commands"):
        assert heading in text, heading
    assert "./run demo" in text and "./run tests" in text
    for page in ("docs/personale/index.md", "docs/it/index.md", "docs/research/index.md",
                 "docs/dev/index.md", "CHANGELOG.md", "docs/research/safety.md"):
        assert f"]({page})" in text, page
        assert (ROOT / page).exists(), page
    assert not re.search(r"\bissue \d+\b|this round|last round", text), \
        "history goes to CHANGELOG.md"


def test_the_readme_names_what_the_tests_need_as_ci_installs_it():
    """The README's test command names every Debian package .ci/needs would install."""
    needs = (ROOT / ".ci" / "needs").read_text()
    text = README.read_text()
    for package in ("mosquitto", "openssl", "postgresql", "chromium", "chromium-driver",
                    "poppler-utils", "gcc", "python3-dev"):
        assert f"echo {package}" in needs or f"{package}" in needs, package
        assert package.lower() in text.lower(), package
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    for extra in ("test", "docs"):
        assert any(d.startswith("mkdocs-material") for d in extras[extra]), \
            f"the {extra} extra needs MkDocs Material (./run tests builds the docs)"


# -- the site builds, strictly -------------------------------------------------------------


def test_the_site_builds_with_strict(tmp_path):
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                           "-f", str(ROOT / "mkdocs.yml"), "-d", str(site)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-4000:]
    for page in ("index.html", "personale/okt/index.html", "personale/alarmer/index.html",
                 "it/cli/index.html", "research/benchmarks/index.html", "dev/mqtt/index.html",
                 "dev/protocol/index.html", "it/firmware/index.html",
                 "config-reference/index.html"):
        assert (site / page).exists(), page
    # the included files arrive whole (snippets), not as a line that names them
    protocol = (site / "dev/protocol/index.html").read_text()
    assert "COBS" in protocol and "--8&lt;--" not in protocol
    # the staff's session page shows the console as the snapshot tests draw it
    okt = (site / "personale/okt/index.html").read_text()
    for svg in ("pasientskjema.svg", "pulsbelte.svg", "okt.svg", "borg.svg"):
        assert f"skjerm/{svg}" in okt, svg
    assert "beltview/4-interval.png" in okt


def test_every_page_is_in_the_navigation():
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    assert [p for p in pages if p not in nav] == []


# -- generated parts: what is committed is what the code renders ---------------------------


@pytest.mark.parametrize("name", sorted(docgen.GENERATED))
def test_the_generated_part_is_current(name):
    page, render = docgen.GENERATED[name]
    committed = docgen.block((DOCS / page).read_text(), name)
    assert committed is not None, f"docs/{page} lacks the markers of {name!r}"
    assert committed == render(), f"docs/{page} is stale: python -m controller.app.docgen --write"


def test_the_screenshots_are_the_snapshot_tests_own():
    for mine, theirs in docgen.SCREENSHOTS.items():
        copy = docgen.SCREENSHOT_DIR / mine
        assert copy.exists(), f"{copy}: python -m controller.app.docgen --write"
        assert copy.read_bytes() == (docgen.SNAPSHOTS / theirs).read_bytes(), \
            f"{mine} differs from the snapshot {theirs}: python -m controller.app.docgen --write"


def test_the_cli_reference_has_every_command_and_option():
    from controller.app.cli import parser

    text = docgen.cli_reference()
    ap = parser()
    subs = next(a for a in ap._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subs.choices.items():  # every name: English (a heading) and bokmål
        assert f"### {name}\n" in text or f"`fourbyfour {name}`" in text, name
        for action in sub._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help", "--hjelp") and action.help != "==SUPPRESS==":
                    assert f"`{flag}`" in text, (name, flag)
    for code in ("| 0 |", "| 2 |", "| 65 |", "| 69 |", "| 78 |"):
        assert code in text, code


def test_every_alarm_and_fault_says_what_to_do_in_bokmal():
    from controller.core import words

    text = docgen.alarms_reference()
    assert set(docgen.ALARM_ACTIONS) == set(words.ALARMS)
    assert set(docgen.FAULT_ACTIONS) == set(words.FAULTS)
    assert "finner ikke pulsen" in text and "nødstopp" in text
    assert text.count("\n| **") == len(words.ALARMS) + len(words.FAULTS)


def test_a_new_alarm_without_what_to_do_fails_the_generator(monkeypatch):
    from controller.core import words

    monkeypatch.setitem(words.ALARMS, "new_alarm", "a new alarm")
    with pytest.raises(KeyError, match="new_alarm"):
        docgen.alarms_reference()


def test_every_schema_has_its_topic():
    text = docgen.mqtt_reference()
    for schema in sorted((ROOT / "schemas").glob("*.schema.json")):
        assert f"### {schema.name.split('.')[0]}\n" in text, schema.name
    for topic in ("clinic/v1/<site>/<device>/telemetry", "clinic/v1/<site>/<device>/command",
                  "clinic/v1/<site>/<device>/records/session/<id>"):
        assert f"`{topic}`" in text, topic
    assert "`hr_bpm`" in text and "≤ 230" in text


def test_the_benchmark_page_shows_the_recorded_figures():
    figures = tomllib.loads((ROOT / "bench" / "figures.toml").read_text())
    text = docgen.benchmark_tables()
    for table in figures["table"]:
        assert f"### {table['title']}\n" in text
        for row in table["rows"]:
            assert "| " + " | ".join(row) + " |" in text, row


def test_the_staff_pages_use_the_glossary_words():
    from tests.test_glossary import hits

    bad = []
    for page in sorted((DOCS / "personale").glob("*.md")):
        prose = re.sub(r"```.*?```|`[^`]*`|<!--.*?-->|\]\([^)]*\)", "", page.read_text(),
                       flags=re.S)
        bad += [f"{page.name}: {why}" for line in prose.splitlines() for why in hits(line)]
    assert bad == []


def test_the_staff_pages_say_when_a_link_leads_to_an_english_page():
    """The bokmål trial: "Alle valg: [Command line](../it/cli.md#handover)" — an English link
    text on a staff page, to an English page. The pages for IT, research and developers are in
    English: a staff page's link to them has a bokmål text and says "(på engelsk)" or
    "(engelsk)" right after it."""
    bad = []
    for page in sorted((DOCS / "personale").glob("*.md")):
        text = page.read_text()
        link = r"\[([^\]]*)\]\((\.\./(?:it|research|dev)/[^)]*)\)([^\n]{0,14})"
        for m in re.finditer(link, text):
            label, target, after = m.groups()
            if not re.match(r"\s*\((?:på )?engelsk\)", after):
                bad.append(f"{page.name}: [{label}]({target}){after}")
    assert bad == []


def _bound_keys() -> set[str]:
    """Every key the staff console and its screens bind (Textual's key names)."""
    import importlib
    import inspect
    import pkgutil

    from controller.app import console, screens

    modules = [console] + [importlib.import_module(f"controller.app.screens.{m.name}")
                           for m in pkgutil.iter_modules(screens.__path__)]
    keys: set[str] = set()
    for module in modules:
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            for b in getattr(cls, "BINDINGS", []):
                key = b.key if hasattr(b, "key") else b[0]
                keys.update(k.strip() for k in key.split(","))
    return keys


def test_the_keys_on_the_staff_pages_are_the_consoles():
    """A key the staff pages name in their key tables is one the console binds, so a key
    moved in the console fails here instead of sending staff to a dead key."""
    names = {"+": "plus", "-": "minus", "]": "right_square_bracket",
             "[": "left_square_bracket", "esc": "escape"}
    bound = _bound_keys()
    said = set()
    for page in ("okt.md", "pulstest.md"):
        for line in (DOCS / "personale" / page).read_text().splitlines():
            m = re.match(r"^\s*\| (`[^|]*`) \|", line)
            if m:
                said.update(re.findall(r"`([^`]+)`", m.group(1)))
    assert len(said) >= 15
    assert sorted(k for k in said if names.get(k, k) not in bound) == []


def test_the_slow_down_for_a_lost_pulse_is_documented_as_the_session_does_it():
    """Issue 21 (s6con): in the trial's slow-down the belt went 6,1 → 4,4 km/t while the page
    said «Båndet går ned til rolig gange (3 km/t, flatt)». What the session does (its
    constants: the easy walk, the downward rate limits, the 15 and 60 s) is what the page
    says, in bokmål numbers, and the page on disk is the generated one."""
    from pathlib import Path

    from controller.core.safety import RateLimits
    from controller.protocol import EASY_WALK_KMH, HR_SLOW_AFTER_S, HR_STOP_AFTER_S

    def nb(x: float) -> str:
        return f"{x:g}".replace(".", ",")

    lim = RateLimits()
    page = (Path(__file__).parent.parent / "docs/personale/alarmer.md").read_text()
    row = next(line for line in page.splitlines()
               if line.startswith("| **finner ikke pulsen – senker"))
    what_to_do = row.split(" | ")[2]
    assert "gradvis" in what_to_do
    for said in (f"{nb(EASY_WALK_KMH)} km/t", f"{nb(lim.speed_down_kmh_per_s)} km/t",
                 f"{nb(lim.incline_pct_per_s)} %", f"{HR_STOP_AFTER_S:.0f} s"):
        assert said in what_to_do, said
    seconds = (6.0 - EASY_WALK_KMH) / lim.speed_down_kmh_per_s
    assert f"om lag {seconds:.0f} s" in what_to_do
    assert f"{HR_SLOW_AFTER_S:.0f} s" in row
    assert docgen.alarms_reference() in page
