"""Issue 21 (bokmål trial): the PDF report of a full 4x4 session as a reader sees it — read
back with pdftotext (words and where they stand on the page), not from the figure's data."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from controller.core.i18n import set_language
from controller.protocol import Event
from controller.records import report
from controller.records.store import Store
from tests.test_report import record_sim

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler")

NOTE = ("Pasienten hadde vondt i kneet etter andre intervall; sikkerhetsnøkkel ble festet på "
        "nytt. Hun ønsket lavere stigning neste gang, og vi avtalte å prøve 1 % stigning i "
        "oppvarmingen. Hun sa selv at pusten var tung i det tredje intervallet, derfor hoppet "
        "vi over resten av det; pulsbeltet ble fuktet i den aktive pausen etterpå. Neste "
        "gang: kortere oppvarming, samme fart, og en ny Borg-skår etter hvert intervall. "
        "Egenandel $50$ betalt.")


def _full_session(tmp_path: Path) -> Store:
    """Warm-up, four intervals (the third skipped after two minutes), three active pauses,
    cool-down; alarms with long words, a Borg-skår per interval, a staff note."""
    st = Store(tmp_path / "s.db")
    record_sim(st, "S1", 30, 1.7e9)
    st.db.execute("DELETE FROM samples WHERE phase = 'interval' AND interval = 3 "
                  "AND t_s >= 1560")
    st.note("S1", Event(1559.0, "skip", "Phase skipped by staff", "info",
                        {"phase": "interval"}))
    st.note("S1", Event(900.0, "hr_lost", "no valid heart rate", "alarm"))
    st.note("S1", Event(910.0, "belt_stopped", "belt stopped", "alarm"))
    st.note("S1", Event(1300.0, "hr_above_max", "x", "alarm",
                        {"hr_max_bpm": 183, "seconds": 10}))
    for i in range(1, 5):
        st.rate("S1", i, 14 + i)
    st.add_note("S1", NOTE)
    return st


def _words(pdf: Path) -> list[tuple[int, float, float, float, str]]:
    """(page, xMin, xMax, yMin, word) of every word pdftotext finds."""
    xml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                         text=True, check=True).stdout
    out, page = [], 0
    for line in xml.splitlines():
        if "<page " in line:
            page += 1
        m = re.search(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">(.*)<',
                      line)
        if m:
            out.append((page, float(m[1]), float(m[3]), float(m[2]), m[4]))
    return out


@pytest.fixture(params=["function", "cli"])
def nb_report(tmp_path, request):
    """The report as the worker behind the console's key draws it (``render_session``) and
    as ``fourbyfour report`` writes it (a subprocess on the store)."""
    st = _full_session(tmp_path)
    if request.param == "cli":
        st.close()
        r = subprocess.run([sys.executable, "-m", "controller", "report", "--lang", "nb",
                            "--store", str(tmp_path / "s.db"), "--session", "S1", "--out",
                            str(tmp_path / "r.pdf")], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        st = Store(tmp_path / "s.db")
    set_language("nb")
    try:
        if request.param == "function":
            report.render_session(st, "S1", tmp_path / "r.pdf")
        rows = report.phase_rows(st, report.session_facts(st, "S1"))
        columns = report.phase_columns()
        lines = report.report_lines(st, report.session_facts(st, "S1"))
    finally:
        set_language("en")
        st.close()
    return tmp_path / "r.pdf", rows, columns, lines


def test_a_full_sessions_phase_table_reads_cell_by_cell(nb_report):
    pdf, rows, columns, _lines = nb_report
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert len(rows) == 9
    for row in rows:  # each cell its own words, two spaces at least between cells
        cells = [re.escape(c) for c in row if c]
        assert re.search(r"\s{2,}".join(cells), text), (row, text)
    words = [w for *_pos, w in _words(pdf)]
    for name in columns:  # every header word on its own, never run into its neighbour
        for part in name.split():
            assert part in words, (name, part)


def test_a_full_sessions_report_cuts_no_text_and_draws_the_charts_full_width(nb_report):
    pdf, _rows, _columns, lines = nb_report
    words = _words(pdf)
    width = 595.44
    assert all(x_max <= width - 20 for _p, _x, x_max, _y, _w in words), \
        [w for w in words if w[2] > width - 20]
    said = "".join(w for *_pos, w in words)  # pdftotext splits "(85–95" at the dash
    for line in lines:  # every line of the report's text whole, wrapped where it is long
        if line.startswith("…"):
            continue
        assert "".join(line.split()) in said, line
    assert len(NOTE) > 300 and "".join(NOTE.split()) in said  # was cut at 300 characters
    assert not re.search(r"\S…$", subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout,
        re.M)
    # the minutes axis of page 1 runs from 0 to 40 over most of the page's width
    first = [w for w in words if w[0] == 1]
    zeros = [w for w in first if w[4] == "0"]
    forties = [w for w in first if w[4] == "40"]
    assert zeros and forties
    span = max(f[1] for f in forties) - min(z[1] for z in zeros)
    assert span >= 0.7 * width, span


def _text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout


def test_a_flat_incline_gets_a_sensible_axis_and_negatives_a_minus_sign(tmp_path):
    """A session at 0 % incline read "0,050 / 0,025 / -0,025 / -0,050" on its incline axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    st = Store(tmp_path / "s.db")
    record_sim(st, "S1", 30, 1.7e9)
    st.db.execute("UPDATE samples SET incline_pct = 0, incline_set_pct = 0")
    set_language("nb")
    try:
        report.render_session(st, "S1", tmp_path / "r.pdf")
        fig, ax = plt.subplots()
        ax.plot([0, 1, 2], [-1.5, 0.0, 1.5])
        report.number_axes(fig)
        fig.savefig(tmp_path / "n.pdf")
        plt.close(fig)
    finally:
        set_language("en")
        st.close()
    words = [w for p, *_pos, w in _words(tmp_path / "r.pdf") if p == 1]
    assert not [w for w in words if re.fullmatch(r"[-−]?0,0\d+", w)], words
    assert not [w for w in words if re.match(r"-\d", w)], words
    assert "1,0" in words or "1" in words
    negatives = _text(tmp_path / "n.pdf")
    # pdftotext puts the minus glyph apart from its digits
    assert re.search(r"−\s*1,0", negatives) and "-" not in negatives, negatives


def test_the_sessions_per_week_axis_counts_whole_sessions_from_zero(tmp_path):
    """Two sessions every week: the axis "økter per uke" ran "1,90 … 2,10"."""
    st = Store(tmp_path / "s.db")
    week = 7 * 86400
    for i in range(6):
        record_sim(st, f"S{i}", 28 + i, 1.7e9 + (i // 2) * week + (i % 2) * 2 * 86400,
                   seed=i)
    set_language("nb")
    try:
        report.render_progression(st, "P-3", tmp_path / "p.pdf")
    finally:
        set_language("en")
        st.close()
    words = [w for *_pos, w in _words(tmp_path / "p.pdf")]
    assert not [w for w in words if re.fullmatch(r"[12],\d+", w)], words
    right = [w for _p, x, _x, _y, w in _words(tmp_path / "p.pdf") if x > 500]
    assert "0" in right and "2" in right and "3" in right, right


def test_an_outcome_with_nothing_to_draw_says_why_in_words(tmp_path):
    """An outcome with no patient measured twice drew an empty chart with axes 0,0–1,0."""
    import datetime as dt

    from controller.records import outcome

    st = Store(tmp_path / "s.db")
    set_language("nb")
    try:
        res = outcome.outcome([st], dt.date(2026, 1, 1), dt.date(2026, 2, 1))
        outcome.render_outcome(res, tmp_path / "o.pdf")
    finally:
        set_language("en")
        st.close()
    text = _text(tmp_path / "o.pdf")
    assert "0,0" not in text and "1,0" not in text, text
    assert "Ingen" in text and "diagram" in text, text


def test_the_bokmal_csv_numbers_intervals_only_and_says_ferdig_once(tmp_path):
    """The trial's CSV: "Intervall" 0 through the warm-up, and "ferdig" both as the part and
    as the state of the rows after the session."""
    import csv

    st = Store(tmp_path / "s.db")
    record_sim(st, "S1", 30, 1.7e9)
    last = st.samples("S1")[-1]
    st.db.execute("INSERT INTO samples SELECT session_id, t_s + 1, 'done', 0, 'done', hr_bpm, "
                  "hr_status, target_bpm, zone_low_bpm, zone_high_bpm, 0, 0, 0, 0 FROM "
                  "samples WHERE session_id = 'S1' AND t_s = ?", (last["t_s"],))
    set_language("nb")
    try:
        report.export_csv(st, "S1", tmp_path / "s.csv")
    finally:
        set_language("en")
        st.close()
    with open(tmp_path / "s.csv", newline="", encoding="utf-8") as f:
        head, *rows = list(csv.reader(f, delimiter=";"))
    part, number, state = (head.index(n) for n in ("Del", "Intervall", "Tilstand"))
    by_part: dict[str, set[str]] = {}
    for row in rows:
        by_part.setdefault(row[part], set()).add(row[number])
    assert by_part["oppvarming"] == {""} and by_part["nedkjøling"] == {""}, by_part
    assert by_part["aktiv pause"] == {""}, by_part
    assert by_part["intervall"] == {"1", "2", "3", "4"}, by_part
    assert not [r for r in rows if r[part] == r[state] == "ferdig"]
    assert rows[-1][state] == "ferdig"
