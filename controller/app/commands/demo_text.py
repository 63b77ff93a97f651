"""What the demos print: a line per phase, the summary table (their words in the catalog,
controller/app/demo_text.py), the treadmill's line (its figures in the IT log, where
``./run bench-demo`` reads them)."""

from __future__ import annotations

import logging

from controller.app import demo_text
from controller.core.i18n import _
from controller.core.words import FAULTS, word
from controller.sim import TraceRow

_log = logging.getLogger("controller.app.demo")
_clock = demo_text.clock
_phase_line = demo_text.phase_line  # the words: controller/app/demo_text.py


def _summary(rows: list[TraceRow], hr_max: float) -> None:
    print("\n".join(demo_text.summary_lines(rows, hr_max)))


def _link_line(emus: list, faults: list[str],  # type: ignore[type-arg]
               runtimes: list) -> None:  # type: ignore[type-arg]
    """How the treadmill held up, in staff words in the process's language; the link's
    figures (gaps between frames, late ticks, the board's poll gaps) are IT's: they go to the
    IT log, in English (``./run bench-demo`` reads them there). The trial: "forbindelsen:
    lengste opphold mellom meldinger fra Pi-en 506 ms, forsinkede takter 1, …" meant nothing
    to a nurse."""
    if not emus:
        return
    _log.info("%s", link_figures(emus, faults, runtimes))
    if faults:
        print(_("The treadmill reported a fault during the session: {faults}. The figures for "
                "IT are in the service's log.").format(
            faults=", ".join(word(FAULTS, f) for f in faults)), flush=True)
    else:
        print(_("The treadmill worked without faults through the session."), flush=True)


def link_figures(emus: list, faults: list[str],  # type: ignore[type-arg]
                 runtimes: list) -> str:  # type: ignore[type-arg]
    """The link's figures for IT, in English as the log is ("link: …", ending with the
    motor-board faults: "none" or their keys)."""
    gap_ms = emus[0].port.max_rx_gap_s * 1000 if emus[0].port else float("nan")
    late = runtimes[0].late_ticks if runtimes else 0
    poll_ms = emus[0].max_poll_gap_s * 1000  # the board's own stall: not the host's
    starved = getattr(emus[0], "starved_gaps", 0)
    tm = runtimes[0].treadmill if runtimes else None
    host = (f"host's own longest gap between writes {tm.max_tx_gap_s * 1000:.0f} ms (longest "
            f"write {tm.max_write_s * 1000:.0f} ms), board unheard {tm.silences}×, "
            if tm is not None and hasattr(tm, "max_tx_gap_s") else "")
    return (f"link: largest gap between host frames {gap_ms:.0f} ms, late ticks {late}, "
            f"board's longest poll gap {poll_ms:.0f} ms (starved {starved}×, never blamed on "
            f"the host), {host}motor-board faults: {', '.join(faults) or 'none'}")
