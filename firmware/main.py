"""Pico entry point: safe outputs first, then the loop. See app.py and supervisor.py."""

import time

import linkcodec as lc
import machine
from app import Firmware
from hal import PicoHal, UartPort

hal = PicoHal()  # outputs are driven low before anything else happens
hal.apply_safe()
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
