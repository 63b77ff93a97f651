"""The emulated motor board in a process of its own, as the real board is its own MCU.

``Emulator`` (firmware + simulated board + pty, polled every 2 ms by a thread) inside the
control process shares that process's CPU time and GIL: when the control process is starved
(two CPU hogs, a loaded Pi) the *board* stops reading too and latches ``host_silent`` although
the host's loop ticked on time, and a host frozen for longer than the firmware's 500 ms is not
seen as silent (the board was frozen with it). ``EmulatorProcess`` runs the same ``Emulator``
in a ``spawn`` child at raised priority (nice -10 where allowed), so the board models separate
hardware: it keeps polling while the control process is frozen and sees a silent host as the
real board would.

The demo and the benches use it with the ``Emulator`` attributes they need: ``link``,
``board.belt_kmh`` / ``board.incline_pct`` (for the virtual patient), ``sup.state`` /
``sup.fault``, ``port.max_rx_gap_s`` and ``max_poll_gap_s`` (assignable, e.g. to 0 to start a
measurement), ``starved_gaps`` / ``max_starved_gap_s`` / ``late_deliveries`` (the board's own
starvation, never blamed on the host), ``host_silent_faults``, ``press_reset``, ``set_estop``,
``set_key``, ``close``.
Readings are shared values the child refreshes every 2 ms; commands go over a pipe and are
acknowledged. Tests that drive the board's internals (link drills, firmware) keep ``Emulator``.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import sys
from multiprocessing.connection import Connection
from typing import Any

BOARD_NICE = -10
"""The child's nice value: above the control service (-5), its worker and any competing
process, as a separate MCU never waits for the Pi's CPU."""

REFRESH_S = 0.002
"""How often the child publishes the board's readings (the emulator's own poll period)."""

_warned_nice = False


def _raise_priority() -> str | None:
    """Nice ``BOARD_NICE`` for this process, or why not (then it stays as it was)."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, BOARD_NICE)
    except OSError as e:
        return f"{e.strerror or e}"
    return None


def _child(conn: Connection, shared: dict[str, Any], link: str, time_scale: float,
           boot_fault: int, warn_nice: bool) -> None:
    """The board's process: the ``Emulator`` thread polls the firmware; this loop publishes its
    readings every 2 ms and serves the parent's commands. It ends when the parent says so or
    goes away (the pipe closes)."""
    from controller.core.fwpath import linkcodec as lc
    from controller.devices.emulator import Emulator, PtyPort

    # Ctrl-C reaches the terminal's whole process group, and SIGTERM does from `timeout` and
    # systemd's stop of a control group; the board, its own MCU, takes no Unix signal: it runs
    # on until the host's controlled stop is done and the host closes it (or goes away)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    why = _raise_priority()
    if why is not None and warn_nice:
        print(f"emulated motor board: nice {BOARD_NICE} not allowed here ({why}); it runs at "
              f"nice {os.getpriority(os.PRIO_PROCESS, 0)}", file=sys.stderr, flush=True)
    emu = Emulator(link, boot_fault=boot_fault, time_scale=time_scale,
                   host_in_process=False)  # the host is the parent: its silence is its own
    emu.start()
    last_fault = lc.F_NONE

    def publish() -> None:
        nonlocal last_fault
        with emu._lock:  # one consistent reading of the board between two firmware polls
            sup = emu.sup
            shared["belt_kmh"].value = emu.board.belt_kmh
            shared["incline_pct"].value = emu.board.incline_pct
            shared["state"].value = sup.state
            shared["fault"].value = sup.fault
            port = emu.port
            gap = getattr(port, "max_rx_gap_s", 0.0)
        shared["max_rx_gap_s"].value = gap
        shared["max_poll_gap_s"].value = emu.max_poll_gap_s
        shared["starved_gaps"].value = emu.starved_gaps
        shared["max_starved_gap_s"].value = emu.max_starved_gap_s
        shared["late_deliveries"].value = emu.late_deliveries
        if sup.fault != last_fault and sup.fault == lc.F_HOST_SILENT:
            shared["host_silent_faults"].value += 1
        last_fault = sup.fault

    publish()
    conn.send(("ready", os.getpid(), os.getpriority(os.PRIO_PROCESS, 0)))
    try:
        while True:
            if conn.poll(REFRESH_S):
                cmd, *args = conn.recv()
                if cmd == "close":
                    break
                if cmd == "reset":
                    emu.press_reset(*args)
                elif cmd == "estop":
                    emu.set_estop(*args)
                elif cmd == "key":
                    emu.set_key(*args)
                elif cmd == "rx_gap":
                    with emu._lock:
                        if isinstance(emu.port, PtyPort):
                            emu.port.max_rx_gap_s = args[0]
                elif cmd == "poll_gap":
                    emu.max_poll_gap_s = args[0]
                publish()
                conn.send(("ok",))
            else:
                publish()
    except (EOFError, OSError, KeyboardInterrupt):
        pass  # the parent went away: so does the board
    finally:
        emu.close()


class _Readings:
    """Attribute access to the child's shared values (``emu.board.belt_kmh`` and the like);
    assigning one of ``settable`` asks the child to set it (and waits for it)."""

    def __init__(self, owner: EmulatorProcess, names: dict[str, str],
                 settable: dict[str, str]) -> None:
        object.__setattr__(self, "_owner", owner)
        object.__setattr__(self, "_names", names)
        object.__setattr__(self, "_settable", settable)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._owner._shared[self._names[name]].value
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._settable:
            raise AttributeError(f"{name} cannot be set on the board's process")
        self._owner._command(self._settable[name], value)


class EmulatorProcess:
    """``Emulator`` in a ``spawn`` child at nice -10 (where allowed): see the module doc.

    >>> with EmulatorProcess(time_scale=10) as emu:
    ...     serial_path = emu.link          # open this like /dev/ttyAMA0
    ...     emu.press_reset(0.2)            # staff at the treadmill
    """

    def __init__(self, link: str | None = None, *, boot_fault: int | None = None,
                 time_scale: float = 1.0, start_timeout_s: float = 30.0) -> None:
        from controller.devices.emulator import DEFAULT_LINK

        self.link = link or f"{DEFAULT_LINK}-{os.getpid()}-{id(self):x}"
        self.time_scale = time_scale
        self._boot_fault = boot_fault
        self._start_timeout_s = start_timeout_s
        ctx = mp.get_context("spawn")
        self._shared: dict[str, Any] = {
            "belt_kmh": ctx.Value("d", 0.0, lock=False),
            "incline_pct": ctx.Value("d", 0.0, lock=False),
            "state": ctx.Value("i", 0, lock=False),
            "fault": ctx.Value("i", 0, lock=False),
            "max_rx_gap_s": ctx.Value("d", 0.0, lock=False),
            "max_poll_gap_s": ctx.Value("d", 0.0, lock=False),
            "host_silent_faults": ctx.Value("i", 0, lock=False),
            "starved_gaps": ctx.Value("i", 0, lock=False),
            "max_starved_gap_s": ctx.Value("d", 0.0, lock=False),
            "late_deliveries": ctx.Value("i", 0, lock=False),
        }
        self._ctx = ctx
        self._conn: Connection | None = None
        self._proc: Any = None
        self.pid: int | None = None
        self.nice: int | None = None
        self.board = _Readings(self, {"belt_kmh": "belt_kmh", "incline_pct": "incline_pct"}, {})
        self.sup = _Readings(self, {"state": "state", "fault": "fault"}, {})
        self.port = _Readings(self, {"max_rx_gap_s": "max_rx_gap_s"},
                              {"max_rx_gap_s": "rx_gap"})

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> str:
        global _warned_nice
        from controller.core.fwpath import linkcodec as lc
        from controller.core.sigint import sigint_held

        parent, child = self._ctx.Pipe()
        self._proc = self._ctx.Process(
            target=_child, name="emulated-motor-board", daemon=True,
            args=(child, self._shared, self.link, self.time_scale,
                  lc.F_BOOT if self._boot_fault is None else self._boot_fault,
                  not _warned_nice))
        _warned_nice = True  # said once per control process
        with sigint_held():  # Ctrl-C while the child starts Python: not taken by it
            self._proc.start()
        child.close()
        self._conn = parent
        if not parent.poll(self._start_timeout_s):
            self.close()
            raise RuntimeError(f"the emulated motor board did not start within "
                               f"{self._start_timeout_s:g} s")
        try:
            _, self.pid, self.nice = parent.recv()
        except EOFError:
            self._proc.join(timeout=3)
            code = self._proc.exitcode
            self.close()
            raise RuntimeError("the emulated motor board's process ended at start "
                               f"(exit code {code})") from None
        return self.link

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError, EOFError, BrokenPipeError):
                self._conn.send(("close",))
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            self._proc.join(timeout=3)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(timeout=3)
            self._proc = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.link)

    def __enter__(self) -> EmulatorProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _command(self, *msg: Any) -> None:
        """Send a command and wait for the child's acknowledgement (it then holds)."""
        if self._conn is None:
            raise RuntimeError("the emulated motor board is not running")
        self._conn.send(msg)
        self._conn.recv()

    # -- the physical world and the counters -----------------------------------------------

    def press_reset(self, hold_s: float = 0.1) -> None:
        """Staff hold the board's local reset button for ``hold_s`` (returns when released)."""
        self._command("reset", hold_s)

    def set_estop(self, tripped: bool) -> None:
        self._command("estop", tripped)

    def set_key(self, present: bool) -> None:
        self._command("key", present)

    @property
    def max_poll_gap_s(self) -> float:
        """The longest the board went unpolled (its own process starved)."""
        return float(self._shared["max_poll_gap_s"].value)

    @max_poll_gap_s.setter
    def max_poll_gap_s(self, value: float) -> None:
        self._command("poll_gap", value)

    @property
    def starved_gaps(self) -> int:
        """How often the board's own process was starved past ``emulator.STARVED_S``."""
        return int(self._shared["starved_gaps"].value)

    @property
    def max_starved_gap_s(self) -> float:
        """The longest such starvation (never blamed on the host)."""
        return float(self._shared["max_starved_gap_s"].value)

    @property
    def late_deliveries(self) -> int:
        """Stalls after which the host's frames reached the board late, all at once (the
        pty's input work starved too): never blamed on the host."""
        return int(self._shared["late_deliveries"].value)

    @property
    def host_silent_faults(self) -> int:
        """How often the board latched ``host_silent`` since it started."""
        return int(self._shared["host_silent_faults"].value)
