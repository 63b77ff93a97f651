"""Small words in what the records print (issue 21, the bokmål trial): a Borg score said as
a whole number, "2 4x4-økter" (read as "24x4"), headers mixing "pseudonym" with "Makspuls",
and a method's name ("Theil–Sen") where staff read a trend."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from controller.core.i18n import set_language, translations
from controller.protocol import PatientProfile, Setpoint
from controller.records import report
from controller.records.handover import handover_data, handover_text
from controller.records.store import Store
from tests.test_handover import DAY, HR_MAX


def _session(store: Store, sid: str, started: float, borgs: tuple[int, ...]) -> None:
    """A 4x4's intervals held at 90 % HRmax (5 km/h, 6 %), rated ``borgs``."""
    store.clock = lambda: started
    store.begin_session(sid, PatientProfile(hr_max=HR_MAX, max_speed_kmh=8.0,
                                            pseudonym="P-17"), {"name": "4x4"})
    t = 0.0
    for n in range(1, 5):
        for i in range(240):
            store.record(sid, Setpoint(t, 5.0, 6.0, "interval", n, None, None, None,
                                       "running", float(i), float(240 - i), 0.9 * HR_MAX,
                                       "ok"), 5.0, 6.0)
            t += 1.0
    for n, b in enumerate(borgs, 1):
        store.rate(sid, n, b)
    store.end_session(sid, "finished", None)


@pytest.fixture
def store(tmp_path):
    st = Store(tmp_path / "s.db")
    _session(st, "S1", DAY, (15, 16))
    _session(st, "S2", DAY + 3 * 86400, (14, 16, 17, 16))
    yield st
    st.close()


def test_the_handover_says_a_borg_mean_as_a_whole_score_and_that_it_is_a_mean(store):
    """"Borg 15,5": a Borg score is a whole number on the 6–20 scale."""
    text = "\n".join(line for _, line in handover_text(handover_data(store, "P-17"), "nb"))
    said = re.findall(r"Borg\S*[^\n·]*", text)
    assert said == ["Borg-skår 16 (snitt)", "Borg-skår 16 (snitt)"], (said, text)
    assert not re.search(r"Borg\S* \d+,\d", text), text


def test_a_count_of_4x4_sessions_never_reads_as_one_number():
    """"2 4x4-økter" reads as "24x4": the count is kept apart from the 4x4."""
    nb = translations("nb")
    assert nb.ngettext("{n} 4x4 session", "{n} 4x4 sessions", 2).format(n=2) == \
        "2 økter med 4x4"
    from babel.messages.pofile import read_po

    from controller.core import i18n

    with open(i18n.__file__.rsplit("/", 1)[0] + "/locale/nb/LC_MESSAGES/fourbyfour.po",
              "rb") as f:
        catalog = read_po(f)
    for m in catalog:
        for s in (m.string if isinstance(m.string, tuple) else (m.string,)):
            assert not re.search(r"\{\w+\} 4x4", s or ""), (m.id, s)


def _header_cells(line: str) -> list[str]:
    return [c for c in re.split(r"\s{2,}", line.strip()) if c]


def test_every_header_row_is_in_sentence_case(store, tmp_path):
    """"pseudonym  Makspuls  kilde  satt  Hvilepuls": one way, the first letter capital."""
    import csv

    from controller.app.commands.patients import patients_text, progression_text, sessions_text
    from controller.records import outcome
    from controller.records.register import Register

    Register(store).remember(PatientProfile(hr_max=HR_MAX, max_speed_kmh=8.0,
                                            pseudonym="P-17"))
    prog = report.progression(store, "P-17")
    set_language("nb")
    try:
        headers = {
            "patients": _header_cells(patients_text(store).splitlines()[0]),
            "sessions": _header_cells(sessions_text(store, "P-17").splitlines()[0]),
            "progression": _header_cells(next(
                line for line in progression_text(prog).splitlines() if "Dato" in line
                or "dato" in line)),
        }
        report.progression_csv(prog, tmp_path / "p.csv", "nb")
        report.export_csv(store, "S1", tmp_path / "s.csv", "nb")
        result = outcome.outcome([store], dt.date(2026, 11, 1), dt.date(2026, 11, 30))
        outcome.write_outcome_csv(result, tmp_path / "o.csv", "nb")
    finally:
        set_language("en")
    for name in ("p", "s", "o"):
        with open(tmp_path / f"{name}.csv", encoding="utf-8") as f:
            headers[f"{name}.csv"] = next(csv.reader(f, delimiter=";"))
    for where, cells in headers.items():
        assert cells, where
        lower = [c for c in cells if c[:1].isalpha() and not c[:1].isupper()]
        assert not lower, (where, lower, cells)
    # the progression's headings: the name over its unit («Fart» over «km/t»)
    assert "Fart" in headers["progression"], headers["progression"]
    set_language("nb")
    try:
        table = report.phase_columns()  # the session report's table (a PDF's picture)
    finally:
        set_language("en")
    assert all(c[:1].isupper() for c in table), table


def test_staff_read_a_trend_without_the_methods_name(store):
    """"Theil–Sen, ≥ 3 økter over ≥ 14 dager" in the progression staff read."""
    from controller.app.commands.patients import progression_text

    set_language("nb")
    try:
        # its sentences as read, whatever line each is wrapped onto (80 columns)
        said = " ".join(progression_text(report.progression(store, "P-17")).split())
    finally:
        set_language("en")
    assert "Theil" not in said and "Sen" not in said, said
    assert "trend" in said and "fra minst 3 økter over minst 14 dager" in said, said
