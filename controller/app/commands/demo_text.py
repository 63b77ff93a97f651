"""What the demos print: a line per phase, the summary table, the link's line."""

from __future__ import annotations

from collections.abc import Sequence

from controller.core.metrics import interval_metrics
from controller.sim import TraceRow


def _clock(t_s: float) -> str:
    return f"{int(t_s // 60):02d}:{int(t_s % 60):02d}"


def _phase_line(rows: Sequence[TraceRow]) -> str:
    first, last = rows[0], rows[-1]
    hrs = [r.hr_bpm for r in rows if r.hr_bpm is not None]
    speeds = [r.speed_kmh for r in rows]
    inclines = [r.incline_pct for r in rows]
    name = first.phase if not first.interval else f"{first.phase} {first.interval}"
    hr_part = f"HR {hrs[0]:.0f}→{hrs[-1]:.0f} bpm (peak {max(hrs):.0f})" if hrs else "HR —"
    zone = ""
    if first.zone_low_bpm is not None and first.zone_high_bpm is not None:
        zone = f", zone {first.zone_low_bpm:.0f}–{first.zone_high_bpm:.0f}"
    return (f"[{_clock(first.t_s)}–{_clock(last.t_s + 1)}] {name:12s} {hr_part}{zone}; "
            f"speed {min(speeds):.1f}–{max(speeds):.1f} km/h, "
            f"incline {min(inclines):.1f}–{max(inclines):.1f} %")


def _summary(rows: list[TraceRow], hr_max: float) -> None:
    print()
    print("interval  time to zone  in zone*  above 95 %  RMS to 90 %  ok")
    ms = interval_metrics([r.scored(true_hr=False) for r in rows], hr_max)
    for m in ms:
        ttz = f"{m.time_to_zone_s:.0f} s" if m.time_to_zone_s is not None else "not reached"
        print(f"{m.interval:8d}  {ttz:>12s}  {m.in_zone_after_allowance * 100:6.0f} %  "
              f"{m.above_95_frac * 100:8.1f} %  {m.rms_to_90_bpm:8.1f} bpm  "
              f"{'yes' if m.ok else 'no'}")
    print("* after the allowance (120 s in interval 1, 60 s later), from the accepted strap "
          "readings")


def _link_line(emus: list, faults: list[str],  # type: ignore[type-arg]
               runtimes: list) -> None:  # type: ignore[type-arg]
    """How the link to the motor board held up (``./run bench-demo`` reads this line)."""
    if not emus:
        return
    gap_ms = emus[0].port.max_rx_gap_s * 1000 if emus[0].port else float("nan")
    late = runtimes[0].late_ticks if runtimes else 0
    poll_ms = emus[0].max_poll_gap_s * 1000  # the board's own stall: not the host's
    starved = getattr(emus[0], "starved_gaps", 0)
    print(f"link: largest gap between host frames {gap_ms:.0f} ms, late ticks {late}, "
          f"board's longest poll gap {poll_ms:.0f} ms (starved {starved}×, never blamed on the "
          f"host), motor-board faults: {', '.join(faults) or 'none'}", flush=True)
