"""Pico entry point: safe outputs first, then the boot decision (bootmode.py), then the loop.
See app.py and supervisor.py; the update procedure is in README.md.

The link and control modules are imported only for a run boot, so a maintenance boot works
even when an update was interrupted half-way through one of them."""

import time

import machine
from bootmode import RUN, boot
from hal import PicoHal

hal = PicoHal()  # outputs are driven low before anything else happens; no watchdog yet
if boot(hal, time.sleep_ms) == RUN:
    import linkcodec as lc
    from app import Firmware
    from hal import UartPort

    cause = lc.F_WATCHDOG if machine.reset_cause() == machine.WDT_RESET else lc.F_BOOT
    port = UartPort()
    now_ms = 0
    last = time.ticks_ms()
    fw = Firmware(hal, port, cause, now_ms)
    while True:
        t = time.ticks_ms()
        now_ms += time.ticks_diff(t, last)  # our own counter: ticks_ms() wraps
        last = t
        fw.poll(now_ms)
        time.sleep_ms(2)
else:
    print("fourbyfour motor board: MAINTENANCE boot - no watchdog, relay open, outputs off.")
    print("Copy the files (firmware/README.md), then remove the jumper and power-cycle.")
