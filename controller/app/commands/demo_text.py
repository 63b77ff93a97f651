"""What the demos print: a line per phase, the summary table (their words in the catalog,
controller/app/demo_text.py), the link's line (``./run bench-demo`` reads it in English)."""

from __future__ import annotations

from controller.app import demo_text
from controller.core.i18n import _, format_number
from controller.core.words import FAULTS, word
from controller.sim import TraceRow

_clock = demo_text.clock
_phase_line = demo_text.phase_line  # the words: controller/app/demo_text.py


def _summary(rows: list[TraceRow], hr_max: float) -> None:
    print("\n".join(demo_text.summary_lines(rows, hr_max)))


def _link_line(emus: list, faults: list[str],  # type: ignore[type-arg]
               runtimes: list) -> None:  # type: ignore[type-arg]
    """How the link to the motor board held up, in the process's language (``./run
    bench-demo`` reads this line: it runs the demo with ``--lang en``)."""
    if not emus:
        return
    gap_ms = emus[0].port.max_rx_gap_s * 1000 if emus[0].port else float("nan")
    late = runtimes[0].late_ticks if runtimes else 0
    poll_ms = emus[0].max_poll_gap_s * 1000  # the board's own stall: not the host's
    starved = getattr(emus[0], "starved_gaps", 0)
    tm = runtimes[0].treadmill if runtimes else None
    host = (_("host's own longest gap between writes {tx} ms (longest write {write} ms), "
              "board unheard {unheard}×, ").format(
        tx=format_number(tm.max_tx_gap_s * 1000, 0),
        write=format_number(tm.max_write_s * 1000, 0), unheard=tm.silences)
        if tm is not None and hasattr(tm, "max_tx_gap_s") else "")
    print(_("link: largest gap between host frames {gap} ms, late ticks {late}, board's "
            "longest poll gap {poll} ms (starved {starved}×, never blamed on the host), "
            "{host}motor-board faults: {faults}").format(
        gap=format_number(gap_ms, 0), late=late, poll=format_number(poll_ms, 0),
        starved=starved, host=host,
        faults=", ".join(word(FAULTS, f) for f in faults) or _("none")),
        flush=True)
