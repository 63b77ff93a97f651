"""The hand-over to the municipality, from a store with three recorded 4x4 sessions."""

from __future__ import annotations

import datetime as dt

from controller.app.cli import main
from controller.protocol import PatientProfile, Setpoint
from controller.records.handover import handover_data, handover_text, render_handover
from controller.records.store import Store

HR_MAX = 183.0
DAY = dt.datetime(2026, 11, 2, 10, 0).timestamp()


def record_4x4(store: Store, sid: str, started: float, speed: float, incline: float) -> None:
    """Warm-up at 4 km/h and 2 %, four intervals held at 90 % HRmax at ``speed`` and
    ``incline``, pauses at 4.5 km/h and 5 %."""
    store.clock = lambda: started
    store.begin_session(sid, PatientProfile(hr_max=HR_MAX, max_speed_kmh=8.0,
                                            pseudonym="P-17"), {})
    t = 0.0

    def run(phase: str, n: int, seconds: int, v: float, inc: float, hr: float) -> None:
        nonlocal t
        for i in range(seconds):
            store.record(sid, Setpoint(t, v, inc, phase, n, None, None, None, "running",
                                       float(i), float(seconds - i), hr, "ok"), v, inc)
            t += 1.0

    run("warmup", 0, 300, 4.0, 2.0, 120.0)
    for n in range(1, 5):
        run("interval", n, 240, speed, incline, 0.9 * HR_MAX)
        if n < 4:
            run("recovery", n, 180, 4.5, 5.0, 130.0)
    run("cooldown", 0, 120, 4.0, 2.0, 115.0)
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
        "4x4-trening: overføring til oppfølging hos frisklivssentral eller treningskontakt"
    assert "Periode: 02.11.2026 til 08.11.2026" in text
    assert "Økter gjennomført: 3, av dem 3 fullført helt ut" in text
    assert "Makspuls 183 slag/min (målt (labtest))" in text
    assert "intervaller (4 × 4 min): 156–174 slag/min (85\u00a0%–95\u00a0% av makspuls)" in text
    assert "4 intervaller à 4 min: 5,2\u00a0km/t, stigning 7,0\u00a0%" in text
    assert "3 aktive pauser à 3 min: 4,5\u00a0km/t, stigning 5,0\u00a0%" in text
    assert ("Fra første til siste økt: 0,4\u00a0km/t raskere og 2,0\u00a0% brattere ved samme "
            "puls") in text
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
    assert "Økter gjennomført: 3, av dem 3 fullført helt ut" in \
        [line for _, line in handover_text(h, "nb")]
    store.close()


def test_handover_command_writes_a_pdf(tmp_path, capsys):
    a_store(tmp_path).close()
    out = tmp_path / "P-17.pdf"
    assert main(["handover", "P-17", "--store", str(tmp_path / "s.db"), "--out",
                 str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF") and out.stat().st_size > 5_000
    assert main(["handover", "P-99", "--store", str(tmp_path / "s.db"), "--out",
                 str(out)]) == 2
    assert "no sessions for 'P-99'" in capsys.readouterr().err
