"""What the demos print: a line per phase, the summary table (their words in the catalog,
controller/app/demo_text.py), the link's line (English: ``./run bench-demo`` reads it)."""

from __future__ import annotations

from controller.app import demo_text
from controller.sim import TraceRow

_clock = demo_text.clock
_phase_line = demo_text.phase_line  # the words: controller/app/demo_text.py


def _summary(rows: list[TraceRow], hr_max: float) -> None:
    print("\n".join(demo_text.summary_lines(rows, hr_max)))


def _link_line(emus: list, faults: list[str],  # type: ignore[type-arg]
               runtimes: list) -> None:  # type: ignore[type-arg]
    """How the link to the motor board held up (``./run bench-demo`` reads this line)."""
    if not emus:
        return
    gap_ms = emus[0].port.max_rx_gap_s * 1000 if emus[0].port else float("nan")
    late = runtimes[0].late_ticks if runtimes else 0
    poll_ms = emus[0].max_poll_gap_s * 1000  # the board's own stall: not the host's
    starved = getattr(emus[0], "starved_gaps", 0)
    tm = runtimes[0].treadmill if runtimes else None
    host = (f"host's own longest gap between writes {tm.max_tx_gap_s * 1000:.0f} ms (longest "
            f"write {tm.max_write_s * 1000:.0f} ms), board unheard {tm.silences}×, "
            if tm is not None and hasattr(tm, "max_tx_gap_s") else "")
    print(f"link: largest gap between host frames {gap_ms:.0f} ms, late ticks {late}, "
          f"board's longest poll gap {poll_ms:.0f} ms (starved {starved}×, never blamed on the "
          f"host), {host}motor-board faults: {', '.join(faults) or 'none'}", flush=True)
