"""Issue 21 (b2six), the bokmål trial of the 6-minute test: staff pressed `k` in the test part.
The console rightly said «Testen ble avbrutt etter …: ikke noe forslag til makspuls», but the
belt page said «Bra jobbet – økten er fullført», the console's header «6-minutters pulstest ·
FERDIG», the report chooser, `økter` and the report's title «fullført». A 6-minute test whose
test part did not run to its end (the rule that proposes no makspuls, ``core.hrmax``) is
«avbrutt» for staff everywhere, and the belt page says it kindly: «Testen er avsluttet – takk
for innsatsen i dag». Through a real runtime on the emulated board with the page in chromium
and the record it keeps, the CLI as a subprocess, the report read back with pdftotext, and the
console's header with Textual's Pilot; each seen failing first."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from controller.core import i18n
from controller.records.store import Store
from tests.console_rig import console_on_runtime, wait_for
from tests.records_rig import cli as _cli
from tests.test_beltview import _phase, _run, _until, belt_rig
from tests.test_console_six_minute_desk import _header, _test_runtime


@pytest.fixture
def nb():
    i18n.set_language("nb")
    yield "nb"
    i18n.set_language("en")


def _pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", "-l", "1", str(path), "-"],
                          capture_output=True, text=True, check=True).stdout


def test_the_belt_page_after_a_test_skipped_in_its_test_part_is_true_and_kind(tmp_path):
    """A 6-minute test on the real runtime: the warm-up and the test part skipped (`k`), the
    cool-down too; the page as the patient reads it: never «Bra jobbet – økten er
    fullført»."""
    from controller.core.plan import six_minute_test

    async def main() -> None:
        async with belt_rig(tmp_path, plan=six_minute_test(5.0)) as rig:
            rig.hr[0] = 120.0
            rig.rt.start()
            await _phase(rig.page, "Oppvarming")
            rig.rt.skip()
            await _phase(rig.page, "6-minutters pulstest")
            rig.rt.skip()
            await _phase(rig.page, "Nedkjøling")
            rig.rt.skip()
            await _phase(rig.page, "Testen er avsluttet", 60)
            await _until(rig.page, "document.getElementById('guidance').textContent === "
                         "'Testen er avsluttet – takk for innsatsen i dag'")
            body = await rig.page.text_content("body") or ""
            assert "fullført" not in body and "Bra jobbet" not in body, body

    _run(main())


@pytest.fixture(scope="module")
def skipped_test(tmp_path_factory) -> tuple[str, str]:
    """A store with one 6-minute test of P-7 whose test part staff skipped after 61 s (`k`),
    recorded as the demo records (the production Session and Store). (store path, id)"""
    from controller.app.simdemo import run_session
    from controller.core.plan import six_minute_test
    from controller.protocol import PatientProfile
    from controller.sim import PatientParams, VirtualPatient

    db = str(tmp_path_factory.mktemp("skipped") / "s.db")

    def skip(session, sp, _t):  # type: ignore[no-untyped-def]
        if sp.phase == "test" and sp.phase_elapsed_s >= 61 and sp.state == "running":
            session.skip()

    store = Store(db)
    profile = PatientProfile(hr_max=170, hr_rest=65, max_speed_kmh=8.0, age_years=45,
                             hr_max_source="tanaka", pseudonym="P-7")
    patient = VirtualPatient(PatientParams(hr_max_bpm=186, hr_rest_bpm=65, vo2max=26, seed=4))
    sid, _rows, _s = run_session(patient, profile, six_minute_test(5.0, 2.0), store=store,
                                 on_tick=skip, trace=False)
    store.close()
    return db, sid


def test_the_chooser_and_okter_say_avbrutt(skipped_test, nb):
    """The report chooser's line (`w`) and `økter`: «avbrutt», never «fullført»."""
    from controller.app.screens.report_chooser import session_line
    from controller.records.jobs import session_list

    db, sid = skipped_test
    (line,) = [session_line(s) for s in session_list(db, "P-7")]
    assert line.endswith("6-minutters pulstest  avbrutt"), line
    out = _cli("økter", "P-7", "--øktlager", db)
    assert out.returncode == 0, out.stderr
    row = next(ln for ln in out.stdout.splitlines() if sid in ln)
    assert "avbrutt" in row and "fullført" not in row, out.stdout


def test_the_reports_title_says_avbrutt(skipped_test, tmp_path):
    """The title ended «— fullført» while the same page said «Testen ble avbrutt…»."""
    db, sid = skipped_test
    pdf = tmp_path / "r.pdf"
    r = _cli("report", "--store", db, "--session", sid, "--out", str(pdf))
    assert r.returncode == 0, r.stderr
    text = _pdf_text(pdf)
    title = " ".join(text.split("\n\n")[0].split())
    assert title.startswith("6-minutters pulstest") and title.endswith("— avbrutt"), title
    assert "fullført" not in text, text


def test_the_console_header_says_avbrutt_after_a_test_skipped_in_its_test_part(tmp_path, nb):
    """«6-minutters pulstest · FERDIG» beside «Testen ble avbrutt …»: the header says
    «AVBRUTT», the records' word."""
    from controller.app.screens import BorgScreen

    def skip(session, sp):
        if sp.phase == "test" and sp.phase_elapsed_s >= 61 and sp.state == "running":
            session.skip()

    store = Store(tmp_path / "sessions.db")
    rt, _sid, _belt = _test_runtime(store, hook=skip)

    async def main():
        async with console_on_runtime(rt, str(tmp_path / "c.sock")) as (app, _pilot):
            await wait_for(lambda: isinstance(app.screen, BorgScreen))
            await wait_for(lambda: app.state.get("phase") == "done")
            try:
                await wait_for(lambda: "AVBRUTT" in _header(app), 5)
            except TimeoutError:
                raise AssertionError(_header(app)) from None
            assert "FERDIG" not in _header(app), _header(app)

    asyncio.run(asyncio.wait_for(main(), 60))


def _title(db: str, sid: str, tmp_path: Path) -> str:
    pdf = tmp_path / f"{sid}.pdf"
    r = _cli("report", "--store", db, "--session", sid, "--out", str(pdf))
    assert r.returncode == 0, r.stderr
    return " ".join(_pdf_text(pdf).split("\n\n")[0].split())


def test_the_reports_title_shows_the_makspuls_the_tests_decision_put_in_use(tmp_path):
    """Item 2 of the same trial: the title showed the makspuls from before the decision
    («170 (pulstest, endret)») while the body showed the 175 decided. A test whose proposal
    staff accepted: the title shows the makspuls in use after it, with its source."""
    from controller.app.simdemo import run_six_minute_test
    from controller.core.i18n import format_number
    from controller.protocol import PatientProfile
    from controller.records.register import Register
    from controller.sim import PatientParams, VirtualPatient

    db = str(tmp_path / "s.db")
    store = Store(db)
    profile = PatientProfile(hr_max=170, hr_rest=65, max_speed_kmh=8.0, age_years=45,
                             hr_max_source="six_minute_test_edited", pseudonym="P-8")
    patient = VirtualPatient(PatientParams(hr_max_bpm=186, hr_rest_bpm=65, vo2max=26, seed=4))
    result = run_six_minute_test(patient, profile, store=store, accept=True)
    decided = Register(store).require("P-8")
    store.close()
    assert round(decided.hr_max_bpm) != 170, decided  # the test decided another makspuls
    title = _title(db, result.session_id, tmp_path)
    # the test's own number, with the source the register keeps (the test's, unedited)
    assert decided.hr_max_source == "six_minute_test", decided
    want = f"makspuls {format_number(decided.hr_max_bpm, 0)} slag/min (6-minutters pulstest)"
    assert want in title, title
    assert "170" not in title and "endret" not in title, title


def test_the_reports_title_of_a_test_without_a_decision_says_before_the_test(
        skipped_test, tmp_path):
    """No decision (the skipped test above: no Borg rating, nothing decided): the makspuls
    in the title is the one from before the test, and the title says so."""
    db, sid = skipped_test
    title = _title(db, sid, tmp_path)
    assert "makspuls før testen 170 slag/min (Tanaka-formelen)" in title, title


@pytest.mark.parametrize(("part", "said"), [("test", "avbrutt"), ("cooldown", "avsluttet")])
def test_a_test_stopped_in_its_test_part_is_avbrutt_and_in_the_cool_down_avsluttet(
        tmp_path, nb, part, said):
    """Stopped (Stop) in the test part the test is interrupted as a skipped one is; stopped
    in the cool-down after the six minutes it was walked: «avsluttet», as a 4x4 stopped
    early (the chooser's line, as `økter` says it)."""
    from controller.app.screens.report_chooser import session_line
    from controller.app.simdemo import run_session
    from controller.core.plan import six_minute_test
    from controller.protocol import PatientProfile
    from controller.records.jobs import session_list
    from controller.sim import PatientParams, VirtualPatient

    db = str(tmp_path / "s.db")

    def stop(session, sp, _t):  # type: ignore[no-untyped-def]
        if sp.phase == part and sp.phase_elapsed_s >= 61 and not session.ended_by:
            session.stop()

    store = Store(db)
    profile = PatientProfile(hr_max=170, hr_rest=65, max_speed_kmh=8.0, age_years=45,
                             hr_max_source="tanaka", pseudonym="P-9")
    patient = VirtualPatient(PatientParams(hr_max_bpm=186, hr_rest_bpm=65, vo2max=26, seed=4))
    run_session(patient, profile, six_minute_test(5.0, 2.0), store=store, on_tick=stop,
                trace=False)
    store.close()
    (line,) = [session_line(s) for s in session_list(db, "P-9")]
    assert line.endswith(f"6-minutters pulstest  {said}"), line
