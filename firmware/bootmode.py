"""How the motor board boots: **run** (watchdog on, the control loop) or **maintenance**
(no watchdog, every output off, main.py ends so the REPL is free for ``mpremote``).

Why: the RP2040's hardware watchdog cannot be stopped once started. Interrupting the running
firmware to copy files lets the 1 s watchdog reset the board mid-copy, and every such reset
comes back as a ``watchdog_reset`` fault. A maintenance boot never starts it.

Maintenance is chosen at power-on by a jumper from GP11 to GND, or by the treadmill's local
reset button held for 2 s from power-on (a tap or a bounce is not enough). Portable and pure:
the pins and the sleep are passed in, so the decision is tested on the PC.

    mode = boot(hal, time.sleep_ms)     # in main.py
"""

RUN = "run"
MAINTENANCE = "maintenance"
HOLD_MS = 2000  # reset button held this long from power-on
STEP_MS = 50


def boot_mode(jumper_fitted, reset_held, sleep_ms, hold_ms=HOLD_MS, step_ms=STEP_MS):
    """RUN or MAINTENANCE. ``jumper_fitted`` and ``reset_held`` read the pins now. Without
    the button pressed at power-on this returns at once; with it, after at most ``hold_ms``."""
    if jumper_fitted():
        return MAINTENANCE
    waited = 0
    while reset_held():
        if waited >= hold_ms:
            return MAINTENANCE
        sleep_ms(step_ms)
        waited += step_ms
    return RUN


def boot(hal, sleep_ms):
    """Outputs off first, then the decision; the watchdog starts only for a run boot."""
    hal.apply_safe()
    mode = boot_mode(hal.maintenance_jumper, hal.reset_held, sleep_ms)
    if mode == RUN:
        hal.start_watchdog()
    else:
        hal.apply_safe()
    return mode
