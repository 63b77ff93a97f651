"""Layout snapshots at 80×24 in bokmål and English (issue 21, h21w): the report chooser of
`w`, and the header with a makspuls from the 6-minute test that staff edited, beside the
longest pseudonym the rule allows. Behaviour: tests/test_console_report_chooser.py and
tests/test_console_source_name.py (against the real service)."""

import datetime as dt
from typing import ClassVar

from controller.core.dates import CLINIC_TZ
from tests.test_snapshots import STATE, FixedConsole, lang  # noqa: F401 (a fixture)


def _at(*when: int) -> float:
    return dt.datetime(*when, tzinfo=CLINIC_TZ).timestamp()


SESSIONS = [
    {"session_id": "c3", "started_unix_s": _at(2026, 12, 6, 18, 40), "plan": "4x4",
     "status": "stopped", "complete": False},
    {"session_id": "b2", "started_unix_s": _at(2026, 12, 3, 9, 15), "plan": "4x4",
     "status": "finished", "complete": False},  # skipped through: the longest status
    {"session_id": "a1", "started_unix_s": _at(2026, 11, 20, 9, 5),
     "plan": "6-minute test", "status": "finished", "complete": True},
]
DONE = dict(STATE, phase="done", state="done", phase_remaining_s=0, alarms={}, alarm_list=[],
            summary=None, event_list=[])


class ChooserConsole(FixedConsole):
    fixed: ClassVar[dict] = DONE

    def listen(self):
        from controller.app.screens import ReportChooser

        super().listen()
        self.push_screen(ReportChooser("P-17", SESSIONS))


class EditedMakspuls(FixedConsole):
    fixed: ClassVar[dict] = dict(STATE, pseudonym="AHUS-000123", hr_max=171,
                                 hr_max_source="six_minute_test_edited", alarms={},
                                 alarm_list=[])


def test_report_chooser(snap_compare, lang):  # noqa: F811
    assert snap_compare(ChooserConsole("/nonexistent.sock"), terminal_size=(80, 24))


def test_header_with_an_edited_makspuls(snap_compare, lang):  # noqa: F811
    assert snap_compare(EditedMakspuls("/nonexistent.sock"), terminal_size=(80, 24))
