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
    from hal import UartPort, Uptime

    cause = lc.F_WATCHDOG if machine.reset_cause() == machine.WDT_RESET else lc.F_BOOT
    port = UartPort()
    uptime = Uptime(time)  # our own counter: ticks_ms() wraps
    fw = Firmware(hal, port, cause, uptime.now_ms)
    while True:
        fw.poll(uptime.update())
        time.sleep_ms(2)
else:
    print("fourbyfour motor board: MAINTENANCE boot - no watchdog, relay open, outputs off.")
    print("Copy the files (firmware/README.md), then remove the jumper and power-cycle.")
