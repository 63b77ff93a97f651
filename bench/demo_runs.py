"""``./run demo --headless`` N times while two CPU hogs run: how many finish all four
intervals with no motor-board fault? (Issue 10's target: 10 of 10.)

Each run is the real command in its own process (the demo's default ``--speed 10``, the
emulated firmware, a virtual patient). A run counts when it exits 0, prints the summary row
of all four intervals and its link line reports no motor-board fault.

    python -m bench.demo_runs [--runs 10] [--hogs 2] [--speed 10] [--second-demo]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HOG = "import itertools\nfor _ in itertools.count(): pass  # a CPU hog of this bench"


def start_hogs(n: int) -> list[subprocess.Popen[bytes]]:
    """``n`` processes that each keep one core busy."""
    return [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(n)]


def stop_hogs(hogs: list[subprocess.Popen[bytes]]) -> None:
    for h in hogs:
        h.kill()
    for h in hogs:
        h.wait()


def demo_command(speed: float, seed: int) -> list[str]:
    """The demo in English: this bench reads its summary rows and link line (what a person
    reads is in the clinic's language; the bench asks for the one it parses)."""
    return [sys.executable, "-m", "controller", "demo", "--headless", "--speed", f"{speed:g}",
            "--seed", str(seed), "--lang", "en"]


def start_run(speed: float, seed: int) -> tuple[subprocess.Popen[bytes], Any, Any]:
    """A demo in its own process, its output in files (a pipe nobody reads while another
    demo runs would fill and stall it)."""
    out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed in finish_run)
    return subprocess.Popen(demo_command(speed, seed), stdout=out, stderr=err), out, err


def link_line(out: str) -> str:
    """The link's figures ("link: …") from the IT log the demo names at its end (the nurse's
    terminal has the treadmill's line in staff words only)."""
    it_log = next((ln.split(": ", 1)[1] for ln in out.splitlines()
                   if ln.startswith("The service's log (for IT, in English): ")), None)
    try:
        text = Path(it_log).read_text(encoding="utf-8") if it_log else ""
    except OSError:
        text = ""
    found = [ln[ln.index("link: "):] for ln in text.splitlines() if "link: " in ln]
    return found[-1] if found else "no link line"


def one_run(speed: float, seed: int, timeout_s: float) -> tuple[bool, str, float]:
    return finish_run(start_run(speed, seed), seed, timeout_s, time.monotonic())


def finish_run(run: tuple[subprocess.Popen[bytes], Any, Any], seed: int, timeout_s: float,
               t0: float) -> tuple[bool, str, float]:
    """Wait for a demo started at ``t0``; (counts, why, seconds)."""
    p, out_f, err_f = run
    try:
        p.wait(timeout=max(1.0, t0 + timeout_s - time.monotonic()))
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return False, f"hung for {timeout_s:.0f} s", time.monotonic() - t0
    out_f.seek(0)
    err_f.seek(0)
    out, err = out_f.read(), err_f.read()
    out_f.close()
    err_f.close()
    intervals = {int(m.group(1)) for m in re.finditer(r"^\s+([1-4])\s+\S", out, re.M)}
    link = link_line(out)
    ok = p.returncode == 0 and intervals == {1, 2, 3, 4} and link.endswith("faults: none")
    if p.returncode == 0:
        why = link
    else:
        lines = [ln.strip(" |+-") for ln in err.splitlines()]
        why = next((ln for ln in reversed(lines) if ln and not ln.startswith("^")), "?")
    if not ok:
        log = Path(tempfile.gettempdir()) / f"fourbyfour-bench-demo-seed{seed}.log"
        log.write_text(out + "\n--- stderr ---\n" + err)
        why += f" (output in {log})"
    return ok, why, time.monotonic() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--hogs", type=int, default=2)
    ap.add_argument("--speed", type=float, default=10.0)
    ap.add_argument("--second-demo", action="store_true",
                    help="run a second headless demo (its own seed) beside each counted one, "
                         "as another program loading the machine; its outcome is shown too")
    a = ap.parse_args(argv)
    timeout_s = 40 * 60 / a.speed * 2 + 120
    hogs = start_hogs(a.hogs)
    good = second_good = 0
    try:
        for i in range(a.runs):
            seed = 1 + i
            t0 = time.monotonic()
            second = None
            if a.second_demo:
                second = start_run(a.speed, 101 + i)
            ok, why, secs = one_run(a.speed, seed, timeout_s)
            good += ok
            print(f"run {i + 1:2d} (seed {seed}): {'ok  ' if ok else 'FAIL'} {secs:5.0f} s  "
                  f"{why}", flush=True)
            if second is not None:
                ok2, why2, secs2 = finish_run(second, 101 + i, timeout_s, t0)
                second_good += ok2
                print(f"   beside it (seed {101 + i}): {'ok  ' if ok2 else 'FAIL'} "
                      f"{secs2:5.0f} s  {why2}", flush=True)
    finally:
        stop_hogs(hogs)
    beside = " and a second demo running" if a.second_demo else ""
    print(f"headless demos with {a.hogs} CPU hogs{beside} that finished all four intervals "
          f"with no fault: {good} of {a.runs}")
    if a.second_demo:
        print(f"the second demos beside them: {second_good} of {a.runs}")
    return 0 if good == a.runs else 1


if __name__ == "__main__":
    sys.exit(main())
