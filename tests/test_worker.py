"""The control service's worker process never outlives the control process."""

import os
import signal
import subprocess
import sys
import time

PARENT = """
import sys, time
from controller.service import worker
w = worker.shared()
w.start()
pool = w._executor()
while not pool._processes:
    time.sleep(0.01)
print(*pool._processes, flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie (reaped later by init) is gone
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_the_worker_ends_when_the_control_process_is_killed():
    """``kill -9`` of the control process (or of the demo) left its worker — and the worker's
    resource tracker — running for ever: a full test run left 16 behind, 148 had piled up on
    this machine. The worker now sees its parent go and ends within a second or two."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    worker_pid = None
    try:
        worker_pid = int(parent.stdout.readline().split()[0])
        assert _alive(worker_pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(5)
        deadline = time.monotonic() + 5.0
        while _alive(worker_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(worker_pid), "the worker outlived the control process"
    finally:
        if parent.poll() is None:
            parent.kill()
        if worker_pid is not None and _alive(worker_pid):
            os.kill(worker_pid, signal.SIGKILL)
