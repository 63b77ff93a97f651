"""The bokmål trial of 6 December (evening): where the patient's progression speaks of a
heart rate above the profile's makspuls, the console's history said «HRmax: en puls på 152
slag/min ble registrert, over profilens makspuls» and `fourbyfour progression` printed
«Makspuls: a heart rate of 152 bpm was recorded, above the profile's 150.» (English, 'bpm').
The lines after it began in lower case («lært pulsrespons (06.12.2026): …»)."""

from __future__ import annotations

import asyncio

import pytest
from textual.app import App
from textual.widgets import Static

from controller.app.commands.patients import progression_text
from controller.app.screens import HistoryScreen
from controller.core import i18n
from tests.test_glossary import hits

PROG = {"pseudonym": "P-17", "sessions": [], "sessions_per_week": 1.0,
        "sessions_per_week_target": 2, "work_at_90_trend_vo2_per_week": None,
        "vo2max_trend_per_week": None, "hr_at_fixed_workload_trend_bpm_per_week": None,
        "trend_rule": "x",
        "hr_max_suggestion": {"hr_max_bpm": 152.0, "source": "observed_peak",
                              "profile_hr_max_bpm": 150.0,
                              "why": "a heart rate of 152 bpm was recorded, above the "
                                     "profile's 150"}}


@pytest.fixture
def nb():
    i18n.set_language("nb")
    yield
    i18n.set_language("en")


def test_the_progression_says_the_high_heart_rate_in_bokmal(nb):
    text = " ".join(progression_text(PROG).split())  # as read, wrapped at 80 columns
    last = text[text.rindex("Makspuls:"):]  # the last sentence, the high heart rate
    assert "heart rate" not in last and "bpm" not in last, last
    assert "152 slag/min" in last and "150" in last, last
    assert hits(last) == [], last


def test_the_history_names_makspuls_and_its_lines_begin_with_a_capital(nb):
    history = {"pseudonym": "P-17", "sessions": [], "sessions_counted": 0,
               "hr_max_suggestion": PROG["hr_max_suggestion"],
               "response_model": {"refused": "for få økter"}}

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(HistoryScreen(history))

    async def main() -> list[str]:
        app = Host()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            return str(app.screen.query_one("#history", Static).render()).splitlines()

    lines = asyncio.run(main())
    said = "\n".join(lines)
    assert "HRmax" not in said and hits(said) == [], said
    for line in lines[1:]:
        if line.strip() and line.strip()[0].isalpha():
            assert line.strip()[0].isupper(), line


def test_the_handover_pdf_is_titled_in_the_readers_language(tmp_path):
    """The trial: a PDF viewer listed the bokmål hand-over as «4x4 hand-over OUS-0042»."""
    from tests.test_one_language import cli, pdf_title

    db = tmp_path / "h.db"
    cli("demo", "--fast", "--weeks", "1", "--patient", "P-17", "--store", str(db))
    for lang, word in (("nb", "overlevering"), ("en", "hand-over")):
        out = tmp_path / f"h-{lang}.pdf"
        cli("handover", "P-17", "--store", str(db), "--out", str(out), "--lang", lang)
        title = pdf_title(out)
        assert word in title and "P-17" in title, (lang, title)


def test_a_progression_panel_without_points_says_so_and_keeps_dates_on_its_axis(tmp_path,
                                                                              monkeypatch):
    """The trial: the «estimert VO2maks» panel of the progression PDF was empty (y 0,0–1,0)
    with x labels «20 786, 20 788 …» (matplotlib's day numbers drawn as plain numbers)."""
    import re

    import matplotlib.pyplot as plt

    from controller.records import report
    from controller.records.store import Store
    from tests.test_report import record_sim

    store = Store(tmp_path / "s.db")
    record_sim(store, "S1", 30, 1.7e9)
    record_sim(store, "S2", 30, 1.7e9 + 3 * 86400, seed=2)
    real = report.progression

    def without_vo2max(*a, **kw):
        prog = real(*a, **kw)
        for p in prog["sessions"]:
            p["vo2max_estimate"] = None
        return prog

    monkeypatch.setattr(report, "progression", without_vo2max)
    figs = []
    real_close = plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: (figs.append(fig), real_close(fig)))
    i18n.set_language("nb")
    try:
        report.render_progression(store, "P-3", tmp_path / "p.pdf")
        (fig,) = figs
        fig.canvas.draw()  # the labels as the bokmål PDF has them
        empty = fig.axes[1]
        labels = [t.get_text() for t in empty.get_xticklabels() if t.get_text()]
    finally:
        i18n.set_language("en")
        store.close()
    assert labels and all(re.fullmatch(r"\d\d\.\d\d\.\d{4}", t) for t in labels), labels
    words = [t.get_text() for t in empty.texts]
    assert any("ingen" in w.lower() for w in words), words


def test_a_bokmal_spreadsheet_opens_with_its_letters_in_a_norwegian_excel(tmp_path):
    """The trial: the bokmål CSV is UTF-8 without a byte-order mark, which a Norwegian Excel
    opens as Windows-1252 («PulsmÃ¥ling»). The people's spreadsheet carries the mark; the
    English one (keys as columns, for programs) stays as it was."""
    from controller.records.report import people_csv

    rows = [{"phase": "går", "hr": 120.5}]
    people_csv(tmp_path / "nb.csv", ("phase", "hr"), {"phase": "Pulsmåling"}, rows, "nb")
    people_csv(tmp_path / "en.csv", ("phase", "hr"), {"phase": "Pulsmåling"}, rows, "en")
    nb = (tmp_path / "nb.csv").read_bytes()
    assert nb.startswith(b"\xef\xbb\xbf") and "Pulsmåling".encode() in nb, nb[:20]
    assert not (tmp_path / "en.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_the_zone_figures_say_what_they_count(tmp_path):
    """The trial could not reconcile «I sonen (%) 84» beside «Tid i sonen 2:16» of 4:00 in the
    report, nor «Intervaller i sonen 1/4» in `sessions` for a session with intervals at 84 % and
    100 %: the percentage counts the interval after its allowance (2 min, then 1 min), an
    interval «i sonen» also reached the zone in time. Both say so, in bokmål."""
    import shutil
    import subprocess

    from controller.records.store import Store
    from tests.test_one_language import cli

    db = tmp_path / "h.db"
    cli("demo", "--fast", "--patient", "P-17", "--store", str(db))
    said = cli("sessions", "P-17", "--store", str(db)).stdout
    assert "intervaller i sonen" in said.lower()
    assert "minst 90 %" in said and "2 min" in said and "1 min" in said, said
    if shutil.which("pdftotext") is None:
        pytest.skip("the report's half needs poppler's pdftotext")
    st = Store(db, readonly=True)
    sid = st.sessions("P-17")[-1].id
    st.close()
    out = tmp_path / "r.pdf"
    cli("report", "--store", str(db), "--session", sid, "--out", str(out))
    text = " ".join(subprocess.run(["pdftotext", "-layout", str(out), "-"],
                                   capture_output=True, text=True).stdout.split())
    assert "I sonen (%):" in text and "etter de første 2 min" in text, text[:3000]


def test_the_six_minute_test_report_says_what_the_test_measured(tmp_path):
    """The trial: the pulstest's PDF had «—» in the Borg-skår column of its test row though
    15 was given, no distance, no top pulse and no proposal in its summary, and printed lines
    that do not apply to a test («Tid i sonen … i intervallene: 0 s», «Oksygenopptak ved 90 %
    av makspuls (beregnet): —»)."""
    import shutil
    import subprocess

    from controller.records.store import Store
    from tests.test_one_language import cli

    if shutil.which("pdftotext") is None:
        pytest.skip("needs poppler's pdftotext")
    db = tmp_path / "t.db"
    cli("demo", "--plan", "pulstest", "--patient", "P-5", "--accept-hrmax", "--store", str(db))
    st = Store(db, readonly=True)
    (rec,) = st.sessions("P-5")
    events = {e["kind"]: e["params"] for e in st.events(rec.id)}
    st.close()
    rpe, proposed = events["borg"]["rpe"], events["hrmax_decision"]["proposed_bpm"]
    out = tmp_path / "t.pdf"
    cli("report", "--store", str(db), "--session", rec.id, "--out", str(out))
    layout = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True,
                            text=True).stdout
    text = " ".join(layout.split())
    assert "Distanse i testen:" in text and "Høyeste puls i testen:" in text, text[:3000]
    assert f"Foreslått makspuls {proposed} slag/min: godkjent av personalet" in text, text[:3000]
    assert "i intervallene" not in text and "ved 90 % av makspuls" not in text, text[:3000]
    test_row = next(line for line in layout.splitlines()  # "6-minutters" / "pulstest" wrap
                    if line.strip().startswith("6-minutters ") and "6:00" in line)
    assert test_row.split()[-1] == str(rpe), test_row
    # one word for staff's acceptance: the summary's and the event's (the event said «godtatt»)
    assert f"Forslag til makspuls {proposed} slag/min godkjent av personalet" in text
