"""The firmware's main loop, written against a port and a hardware layer so that the same
code runs on the Pico (``main.py``) and on a PC against a pseudo-terminal (the emulator).

One loop, no threads, no blocking reads: each ``poll`` reads whatever bytes are waiting,
handles the frames, runs the control tick every 20 ms (feeding the hardware watchdog only when
the tick ran all its checks) and sends a status frame every 100 ms. A stalled port therefore
can never stall the safety tick.
"""

import linkcodec as lc
from supervisor import Supervisor

TICK_MS = 20
STATUS_MS = 100


class Firmware:
    def __init__(self, hal, port, boot_fault, now_ms, config=None):
        self.hal = hal
        self.port = port
        hal.apply_safe()
        self.sup = Supervisor(config, boot_fault, now_ms)
        self.decoder = lc.Decoder()
        self._next_tick = now_ms
        self._next_status = now_ms

    def _send(self, frame):
        try:
            self.port.write(lc.encode_frame(frame))
        except OSError:
            pass  # nobody listening: the host-silence rule takes care of the belt

    def poll(self, now_ms):
        data = self.port.read_available()
        if data:
            for frame in self.decoder.feed(data):
                for reply in self.sup.on_frame(frame, now_ms):
                    self._send(reply)
            while self.decoder.too_long:
                ftype, seq = self.decoder.too_long.pop(0)
                for reply in self.sup.on_too_long(ftype, seq):
                    self._send(reply)
        if now_ms >= self._next_tick:
            self._next_tick = now_ms + TICK_MS
            out = self.sup.tick(now_ms, self.hal.read_inputs(now_ms))
            self.hal.apply(out)
            if self.sup.tick_ok:
                self.hal.feed_watchdog()
        if now_ms >= self._next_status:
            self._next_status = now_ms + STATUS_MS
            self._send(self.sup.status_frame())
