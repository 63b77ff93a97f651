"""The treadmill link's events reach the log, and the host's header acknowledges (issue 25).

The test is the motor board here: it holds the master side of a pty, writes frames with the
real codec and reads what the host sends.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tty

from controller.core.fwpath import linkcodec as lc
from controller.treadmill import Treadmill


class Board:
    """The board's end of a pty: frames out with our own seq, the host's frames in."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        self._slave = slave
        os.set_blocking(self.master, False)
        self.decoder = lc.Decoder()

    def send(self, ftype: int, seq: int, payload: bytes) -> None:
        os.write(self.master, lc.encode(ftype, seq, 0, payload))

    def status(self, seq: int, fault: int = lc.F_NONE, state: int = lc.S_IDLE) -> None:
        self.send(lc.T_STATUS, seq, lc.pack_status(state, fault, 0, 0, 0, 0,
                                                   lc.FLAG_KEY_PRESENT | lc.FLAG_ESTOP_HEALTHY))

    def received(self) -> list[lc.Frame]:
        frames: list[lc.Frame] = []
        while True:
            try:
                data = os.read(self.master, 4096)
            except BlockingIOError:
                return frames
            frames += self.decoder.feed(data)

    def close(self) -> None:
        for fd in (self.master, self._slave):
            os.close(fd)


def test_host_frames_acknowledge_the_boards_last_seq() -> None:
    async def main() -> None:
        board = Board()
        try:
            async with Treadmill(board.path, heartbeat_s=0.05) as tm:
                board.status(seq=42)
                await asyncio.sleep(0.3)
                board.received()
                beats = []
                for _ in range(20):
                    await asyncio.sleep(0.05)
                    beats += board.received()
                    if beats:
                        break
                assert beats and all(f.ack == 42 for f in beats), [(f.type, f.ack)
                                                                   for f in beats]
                board.status(seq=43)
                await asyncio.sleep(0.3)  # the host has read it
                arm = asyncio.create_task(tm.arm())
                frames: list[lc.Frame] = []
                while not any(f.type == lc.T_ARM for f in frames):
                    await asyncio.sleep(0.02)
                    frames += board.received()
                cmd = next(f for f in frames if f.type == lc.T_ARM)
                assert cmd.ack == 43
                board.send(lc.T_RESULT, 44, lc.pack_result(lc.T_ARM, cmd.seq, lc.R_SUCCESS))
                await asyncio.wait_for(arm, 2)
        finally:
            board.close()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_link_events_reach_the_log(caplog) -> None:  # type: ignore[no-untyped-def]
    async def main() -> None:
        board = Board()
        async with Treadmill(board.path, stale_s=0.5) as tm:
            board.send(lc.T_HELLO, 1, bytes([1, 1, lc.F_WATCHDOG]))
            board.status(seq=2, fault=lc.F_HOST_SILENT, state=lc.S_FAULT)
            await asyncio.sleep(0.3)
            board.received()
            await asyncio.sleep(1.0)  # the board goes quiet: told, but the port stays open
            assert tm.silent and tm.reconnects == 0
            assert any(f.type == lc.T_HEARTBEAT for f in board.received())  # still beating
            board.status(seq=3)
            await asyncio.sleep(0.3)
            assert not tm.silent
        board.close()

    with caplog.at_level(logging.INFO, logger="controller.treadmill"):
        asyncio.run(asyncio.wait_for(main(), 30))
    got = {(r.levelno, r.getMessage()) for r in caplog.records if r.name == "controller.treadmill"}
    msgs = " | ".join(m for _, m in got)
    assert (logging.INFO, "motor board firmware 1.1 started (watchdog_reset)") in got, msgs
    assert any(lvl == logging.ERROR and "motor board fault: host_silent" in m
               for lvl, m in got), msgs
    assert any(lvl == logging.WARNING and "treadmill link lost" in m for lvl, m in got), msgs
    assert any(lvl == logging.INFO and "treadmill link back" in m for lvl, m in got), msgs
    assert any(lvl == logging.INFO and "treadmill link open" in m for lvl, m in got), msgs
