"""The hand-over to the municipality, from a store with three recorded 4x4 sessions."""

from __future__ import annotations

import datetime as dt

from controller.app.cli import main
from controller.protocol import PatientProfile, Setpoint
from controller.records.handover import handover_data, handover_text, render_handover
from controller.records.store import Store

HR_MAX = 183.0
DAY = dt.datetime(2026, 11, 2, 10, 0).timestamp()


def record_run(store: Store, sid: str, started: float, profile: PatientProfile,
               warmup: tuple[float, float, float], interval: tuple[float, float, float],
               recovery: tuple[float, float, float],
               cooldown: tuple[float, float, float]) -> None:
    """A whole 4x4 as the belt carried it, a sample a second: each part's (speed, incline,
    heart rate) held through it (warm-up 300 s, four intervals of 240 s, three active pauses
    of 180 s, cool-down 120 s). The session is begun here; the caller ends it."""
    store.clock = lambda: started
    store.begin_session(sid, profile, {})
    t = 0.0

    def run(phase: str, n: int, seconds: int, part: tuple[float, float, float]) -> None:
        nonlocal t
        v, inc, hr = part
        for i in range(seconds):
            store.record(sid, Setpoint(t, v, inc, phase, n, None, None, None, "running",
                                       float(i), float(seconds - i), hr, "ok"), v, inc)
            t += 1.0

    run("warmup", 0, 300, warmup)
    for n in range(1, 5):
        run("interval", n, 240, interval)
        if n < 4:
            run("recovery", n, 180, recovery)
    run("cooldown", 0, 120, cooldown)


def record_4x4(store: Store, sid: str, started: float, speed: float, incline: float) -> None:
    """Warm-up at 4 km/h and 2 %, four intervals held at 90 % HRmax at ``speed`` and
    ``incline``, pauses at 4.5 km/h and 5 %."""
    record_run(store, sid, started, PatientProfile(hr_max=HR_MAX, max_speed_kmh=8.0,
                                                   pseudonym="P-17"),
               (4.0, 2.0, 120.0), (speed, incline, 0.9 * HR_MAX), (4.5, 5.0, 130.0),
               (4.0, 2.0, 115.0))
    store.rate(sid, 1, 14)
    store.rate(sid, 2, 16)
    store.end_session(sid, "finished", None)


def a_store(tmp_path) -> Store:
    store = Store(tmp_path / "s.db")
    for k, (v, inc) in enumerate([(5.0, 6.0), (5.2, 7.0), (5.4, 8.0)]):
        record_4x4(store, f"S{k}", DAY + k * 3 * 86400, v, inc)
    store.add_note("S2", "tired after a bad night; discussed sleep")
    return store


def test_handover_suggests_a_4x4_for_an_ordinary_treadmill_and_keeps_notes_out(tmp_path):
    store = a_store(tmp_path)
    h = handover_data(store, "P-17")
    assert [s.at_90.speed_kmh for s in h.sessions] == [5.0, 5.2, 5.4]
    assert h.sessions[0].borg_mean == 15.0
    sg = h.suggestion
    assert (sg.warmup, sg.interval, sg.pause) == ((4.0, 2.0), (5.2, 7.0), (4.5, 5.0))
    assert h.notes == []  # the clinic's notes stay home unless staff tick them in
    text = [line for _, line in handover_text(h, "nb")]
    assert text[0] == \
        "4x4-trening: overlevering til oppfølging hos frisklivssentral eller treningskontakt"
    assert "Periode: 02.11.2026 til 08.11.2026" in text
    assert "Økter: 3" in text
    assert "Makspuls 183 slag/min; kilde: målt (laboratorietest)" in text
    assert "intervaller (4 × 4 min): 156–174 slag/min (85\u00a0%–95\u00a0% av makspuls)" in text
    assert "4 intervaller à 4 min: 5,2\u00a0km/t, stigning 7,0\u00a0%" in text
    assert "3 aktive pauser à 3 min: 4,5\u00a0km/t, stigning 5,0\u00a0%" in text
    assert ("Fra første til siste økt, ved samme puls: 0,4\u00a0km/t raskere og 2 prosentpoeng "
            "brattere") in text
    assert not any("tired" in line for line in text)
    with_notes = handover_data(store, "P-17", include_notes=True)
    assert with_notes.notes == ["tired after a bad night; discussed sleep"]
    assert any("tired" in line for _, line in handover_text(with_notes, "nb"))
    assert handover_text(h, "en")[0][1] == \
        "4x4 training: hand-over for follow-up in the municipality"
    render_handover(store, "P-17", tmp_path / "h.png")
    assert (tmp_path / "h.png").stat().st_size > 10_000
    store.close()


def test_the_six_minute_test_is_not_counted_as_a_training_session(tmp_path):
    from controller.protocol import six_minute_test

    store = a_store(tmp_path)
    store.clock = lambda: DAY - 86400
    store.begin_session("T0", PatientProfile(hr_max=HR_MAX, max_speed_kmh=8.0,
                                             pseudonym="P-17"),
                        six_minute_test(5.0, 2.0).to_dict())
    store.end_session("T0", "finished", None)
    h = handover_data(store, "P-17")
    assert [s.at_90.speed_kmh for s in h.sessions] == [5.0, 5.2, 5.4]
    assert "Økter: 3" in \
        [line for _, line in handover_text(h, "nb")]
    store.close()


def test_handover_command_writes_a_pdf(tmp_path, capsys):
    a_store(tmp_path).close()
    out = tmp_path / "P-17.pdf"
    assert main(["handover", "P-17", "--store", str(tmp_path / "s.db"), "--out",
                 str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF")
    text, _pages = _pdf_text(out)
    assert "P-17" in text and "Forslag til 4x4" in text and "side" not in text, text
    assert main(["handover", "P-99", "--store", str(tmp_path / "s.db"), "--out",
                 str(out)]) == 2
    err = capsys.readouterr().err
    assert "feil: " in err and "P-99 finnes ikke i registeret" in err, err


def _big_store(tmp_path, n_sessions: int = 200, n_notes: int = 50) -> Store:
    """One recorded 4x4 copied to ``n_sessions`` sessions two or three days apart, the
    belt at 90 % HRmax a little faster each time; ``n_notes`` staff notes."""
    store = Store(tmp_path / "big.db")
    record_4x4(store, "S0", DAY, 5.0, 6.0)
    db = store.db
    db.execute("BEGIN")
    for k in range(1, n_sessions):
        sid = f"S{k}"
        db.execute("INSERT INTO sessions (id, pseudonym, started_unix_s, ended_unix_s, status, "
                   "plan_json, profile_json, hr_max_bpm, hr_max_source, summary_json, "
                   "stop_reason, clock_offset_s) SELECT ?, pseudonym, ?, ?, status, "
                   "plan_json, profile_json, hr_max_bpm, hr_max_source, summary_json, "
                   "stop_reason, ? FROM sessions WHERE id = 'S0'",
                   (sid, DAY + k * 2.5 * 86400, DAY + k * 2.5 * 86400 + 2000,
                    DAY + k * 2.5 * 86400))
        db.execute("INSERT INTO samples SELECT ?, t_s, phase, interval, state, hr_bpm, "
                   "hr_status, target_bpm, zone_low_bpm, zone_high_bpm, speed_set_kmh, "
                   "CASE WHEN phase = 'interval' THEN speed_kmh + ? ELSE speed_kmh END, "
                   "incline_set_pct, incline_pct FROM samples WHERE session_id = 'S0'",
                   (sid, round(k * 0.01, 2)))
        db.execute("INSERT INTO ratings SELECT ?, interval, borg, rated_unix_s FROM ratings "
                   "WHERE session_id = 'S0'", (sid,))
    db.execute("COMMIT")
    for k in range(n_notes):
        store.add_note(f"S{k * 4}", f"note {k}: walked in by bus today, slept well, "
                                    f"wants to keep training with a friend (number {k})")
    return store


def _pdf_text(path) -> str:
    import pypdf

    reader = pypdf.PdfReader(str(path))
    return " ".join(" ".join(p.extract_text().split()) for p in reader.pages), len(reader.pages)


def test_a_long_handover_keeps_every_line_over_several_pages(tmp_path):
    """Issue 23.3: 200 sessions and 50 notes: every line of the hand-over is in the PDF."""
    store = _big_store(tmp_path)
    h = render_handover(store, "P-17", tmp_path / "h.pdf", include_notes=True)
    assert len(h.sessions) == 200 and len(h.notes) == 50
    text, pages = _pdf_text(tmp_path / "h.pdf")
    assert pages > 1
    missing = [line for _, line in handover_text(h, "nb") if " ".join(line.split()) not in text]
    assert missing == [], f"{len(missing)} lines missing, e.g. {missing[:3]}"


def test_the_suggested_cool_down_is_the_lightest_part(tmp_path):
    from controller.core.workload import vo2_cost

    store = a_store(tmp_path)
    sg = handover_data(store, "P-17").suggestion
    cool = vo2_cost(*sg.cooldown)
    for part in (sg.warmup, sg.interval, sg.pause):
        assert cool < vo2_cost(*part), (sg.cooldown, part)
        assert sg.cooldown[0] <= part[0] and sg.cooldown[1] <= part[1]
    assert sg.cooldown == (3.5, 1.0)  # below the warm-up (4.0, 2.0) and pauses (4.5, 5.0)
    text = [line for _, line in handover_text(handover_data(store, "P-17"), "en")]
    assert "Cool-down 5 min: 3.5 km/h, incline 1.0\xa0%" in text, text


def test_mastery_from_the_kept_figures_equals_mastery_from_the_samples(tmp_path):
    """The console's mastery reads earlier sessions' kept figures (one row each), not their
    traces; the answer is the same."""
    import sqlite3

    from controller.records.mastery import mastery

    a_store(tmp_path).close()
    now = DAY + 6 * 86400 + 3600
    fast = mastery(tmp_path / "s.db", "P-17", "S2", now)
    db = sqlite3.connect(tmp_path / "s.db")
    db.execute("DELETE FROM session_stats")
    db.commit()
    db.close()
    assert fast == mastery(tmp_path / "s.db", "P-17", "S2", now)
    assert fast.last is not None and fast.today is not None


def test_incline_changes_are_said_in_percentage_points(tmp_path):
    """The glossary: "1 prosentpoeng brattere", never "0,0 % brattere" or "øk stigningen med
    1 %" (a change of a percentage is a percentage point)."""
    store = Store(tmp_path / "s.db")
    for k in range(3):
        record_4x4(store, f"S{k}", DAY + k * 3 * 86400, 5.0 + 0.2 * k, 6.0)
    text = " ".join(" ".join(line.split()) for _, line in
                    handover_text(handover_data(store, "P-17"), "nb"))
    assert "% brattere" not in text and "stigningen med 1 %" not in text, text
    assert "0 prosentpoeng" not in text and "samme stigning" in text, text
    assert "stigningen med 1 prosentpoeng" in text, text
    english = " ".join(line for _, line in handover_text(handover_data(store, "P-17"), "en"))
    assert "1 percentage point incline" in " ".join(english.split()), english


def test_the_first_to_last_sentence_agrees_with_the_table_and_says_no_change_plainly():
    """Issue 21 (new-nurse trial): the hand-over said "0,1 km/t raskere" under a table that
    went 5,6 → 7,2 km/t (the sentence compared only the sessions measured at 90 %, the table
    also shows those from the learned response), and "0 prosentpoeng brattere" when the
    incline had not changed. The sentence compares the first and the last row as shown."""
    from controller.records.handover import Handover, SessionLine
    from controller.records.mastery import ZoneWork

    day = dt.date(2026, 11, 2)
    learned = {"speed_at_90_kmh": 5.6, "incline_pct": 6.0, "hr_at_fixed_workload_bpm": 120.0}
    rows = [SessionLine(day, "finished", None, None, learned),
            SessionLine(day + dt.timedelta(days=3), "finished", ZoneWork(7.0, 6.0, 600), None),
            SessionLine(day + dt.timedelta(days=6), "finished", ZoneWork(7.1, 6.0, 600), None),
            SessionLine(day + dt.timedelta(days=9), "finished", None, None,
                        dict(learned, speed_at_90_kmh=7.2))]
    h = Handover("P-17", rows[0].day, rows[-1].day, rows, HR_MAX, "measured", None)
    text = [" ".join(line.split()) for _, line in handover_text(h, "nb")]
    # the learned response's rows are a converted figure, not the belt: "tilsvarer"
    assert any(line.startswith("02.11.2026: tilsvarer 5,6 km/t") for line in text), text
    assert any(line.startswith("11.11.2026: tilsvarer 7,2 km/t") for line in text), text
    said = [line for line in text if line.startswith("Fra første til siste økt")]
    assert said == ["Fra første til siste økt, ved samme puls: 1,6 km/t raskere og samme "
                    "stigning"], text
    english = [" ".join(line.split()) for _, line in handover_text(h, "en")
               if line.startswith("From the first")]
    assert english == ["From the first to the last session, at the same heart rate: "
                       "1.6 km/h faster and the same incline"], english


def test_the_first_to_last_sentence_never_says_the_same_heart_rate_across_a_makspuls_change(
        tmp_path):
    """Trial 11: the makspuls went from 198 to 170 between the first and the last session, and
    the hand-over said «Fra første til siste økt, ved samme puls: 0,6 km/t saktere …»: 90 % of
    198 is not 90 % of 170, so it was not the same heart rate, and it read as a decline. The
    sentence says what it compares (90 % of makspuls) and that the makspuls changed, with
    both values; with one makspuls throughout it stays as it was."""
    store = Store(tmp_path / "s.db")
    for k, (hr_max, v) in enumerate([(198.0, 6.0), (198.0, 5.8), (170.0, 5.4)]):
        record_run(store, f"S{k}", DAY + k * 3 * 86400,
                   PatientProfile(hr_max=hr_max, max_speed_kmh=8.0, pseudonym="P-17"),
                   (4.0, 2.0, 120.0), (v, 6.0, 0.9 * hr_max), (4.5, 5.0, 130.0),
                   (4.0, 2.0, 115.0))
        store.end_session(f"S{k}", "finished", None)
    h = handover_data(store, "P-17")
    said = [" ".join(line.split()) for _, line in handover_text(h, "nb")
            if line.startswith("Fra første til siste økt")]
    assert said == ["Fra første til siste økt, ved 90 % av makspuls: 0,6 km/t saktere og "
                    "samme stigning (makspuls endret fra 198 til 170 slag/min i perioden: "
                    "ikke samme puls)"], said
    english = [" ".join(line.split()) for _, line in handover_text(h, "en")
               if line.startswith("From the first")]
    assert english == ["From the first to the last session, at 90 % of HRmax: 0.6 km/h "
                       "slower and the same incline (HRmax changed from 198 to 170 bpm in "
                       "the period: not the same heart rate)"], english
    # the PDF the municipality reads says it so
    render_handover(store, "P-17", tmp_path / "h.pdf", lang="nb")
    text, _pages = _pdf_text(tmp_path / "h.pdf")
    assert "ved samme puls" not in text and "makspuls endret fra 198 til 170" in text, text
