"""``./run demo --headless`` N times while two CPU hogs run: how many finish all four
intervals with no motor-board fault? (Issue 10's target: 10 of 10.)

Each run is the real command in its own process (the demo's default ``--speed 10``, the
emulated firmware, a virtual patient). A run counts when it exits 0, prints the summary row
of all four intervals and its link line reports no motor-board fault.

    python -m bench.demo_runs [--runs 10] [--hogs 2] [--speed 10]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOG = "import itertools\nfor _ in itertools.count(): pass  # a CPU hog of this bench"


def start_hogs(n: int) -> list[subprocess.Popen[bytes]]:
    """``n`` processes that each keep one core busy."""
    return [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(n)]


def stop_hogs(hogs: list[subprocess.Popen[bytes]]) -> None:
    for h in hogs:
        h.kill()
    for h in hogs:
        h.wait()


def one_run(speed: float, seed: int, timeout_s: float) -> tuple[bool, str, float]:
    t0 = time.monotonic()
    try:
        p = subprocess.run([sys.executable, "-m", "controller", "demo", "--headless",
                            "--speed", f"{speed:g}", "--seed", str(seed)],
                           capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return False, f"hung for {timeout_s:.0f} s", time.monotonic() - t0
    out = p.stdout
    intervals = {int(m.group(1)) for m in re.finditer(r"^\s+([1-4])\s+\S", out, re.M)}
    link = next((ln for ln in out.splitlines() if ln.startswith("link:")), "no link line")
    ok = p.returncode == 0 and intervals == {1, 2, 3, 4} and link.endswith("faults: none")
    if p.returncode == 0:
        why = link
    else:
        lines = [ln.strip(" |+-") for ln in p.stderr.splitlines()]
        why = next((ln for ln in reversed(lines) if ln and not ln.startswith("^")), "?")
    if not ok:
        log = Path(tempfile.gettempdir()) / f"fourbyfour-bench-demo-seed{seed}.log"
        log.write_text(out + "\n--- stderr ---\n" + p.stderr)
        why += f" (output in {log})"
    return ok, why, time.monotonic() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--hogs", type=int, default=2)
    ap.add_argument("--speed", type=float, default=10.0)
    a = ap.parse_args(argv)
    hogs = start_hogs(a.hogs)
    good = 0
    try:
        for i in range(a.runs):
            ok, why, secs = one_run(a.speed, 1 + i, 40 * 60 / a.speed * 2 + 120)
            good += ok
            print(f"run {i + 1:2d} (seed {1 + i}): {'ok  ' if ok else 'FAIL'} {secs:5.0f} s  "
                  f"{why}", flush=True)
    finally:
        stop_hogs(hogs)
    print(f"headless demos with {a.hogs} CPU hogs that finished all four intervals with no "
          f"fault: {good} of {a.runs}")
    return 0 if good == a.runs else 1


if __name__ == "__main__":
    sys.exit(main())
