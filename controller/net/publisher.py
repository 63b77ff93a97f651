"""Publishing a treadmill's state to the clinic's MQTT broker (aiomqtt), best effort.

The control loop never waits for this: it ``offer_*``s the latest values and returns at once.
Telemetry is a latest-value slot (a stale reading is worth nothing); events and the retained
session/meta documents go to a bounded outbox and leave it only when the broker acknowledged
them (QoS 1), so a broker outage loses no events or session summaries — they are sent when
the connection is back (back-off 0.5 s doubling to 30 s).

Status is honest: ``online`` with ``activity`` (idle / running) is re-sent every
``HEARTBEAT_S`` as a heartbeat, so a hung treadmill goes stale on the monitor while an idle one
does not. ``close(cause)`` ends every kind of exit: it drains the outbox (the final session
summary) with a bounded wait, then says ``offline`` with the cause (normal, signal, crash);
the broker publishes ``offline`` (cause "will") as our last will if we vanish; the will
carries no ``time_unix_s`` (it is made at connect time), its readers date it on receipt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque

import aiomqtt

from controller.net import telemetry as tm
from controller.net.mqtt import (
    MqttSettings,
    client_id,
    connect,
    raise_if_asked_to_stop,
    run_forever,
)

_log = logging.getLogger(__name__)


class MqttPublisher:
    """See the module docstring. Run ``run()`` as a task outside the safety task group."""

    def __init__(self, settings: MqttSettings, *, max_backoff_s: float | None = None,
                 connect_timeout_s: float = 5.0) -> None:
        self.s = settings
        self.connect_timeout_s = connect_timeout_s
        """How long a connection attempt may take (a broker that never answers, a TLS
        handshake the broker drops without a word)."""
        self.max_backoff_s = settings.reconnect_max_s if max_backoff_s is None else max_backoff_s
        self.online = False
        self.last_error = ""
        self.sent_events = 0
        self.dropped = 0
        self._telemetry: bytes | None = None
        self._retained: dict[str, bytes] = {}
        self._outbox: deque[tm.Outgoing] = deque()
        self._wake = asyncio.Event()
        self.activity = "idle"
        self.heartbeat_s = tm.HEARTBEAT_S
        self._status_sent_s = 0.0
        self._sent_activity = ""
        self._closing = False
        self._idle = asyncio.Event()
        self._client_now: aiomqtt.Client | None = None

    def set_activity(self, activity: str) -> None:
        """idle or running: sent with the next status (at once when it changes)."""
        if activity != self.activity:
            self.activity = activity
            self._wake.set()

    # -- the control side: never blocks ----------------------------------------------------

    def _t(self, kind: str) -> str:
        return tm.topic(self.s.site, self.s.device, kind)

    def offer_telemetry(self, payload: bytes) -> None:
        self._telemetry = payload
        self._wake.set()

    def offer_event(self, payload: bytes) -> None:
        self._queue(tm.Outgoing(self._t("event"), payload, 1, False))

    def set_retained(self, kind: str, payload: bytes) -> None:
        """meta or session: the newest wins, and is re-sent after every reconnect."""
        self._retained[kind] = payload
        self._queue(tm.Outgoing(self._t(kind), payload, 1, True))

    def _queue(self, item: tm.Outgoing) -> None:
        if len(self._outbox) >= self.s.outbox_max:
            # keep the newest; a retained document superseded later is the first to go
            self._outbox.popleft()
            self.dropped += 1
            _log.warning("MQTT outbox full (%d): oldest message dropped", self.s.outbox_max)
        self._outbox.append(item)
        self._wake.set()

    # -- the network side -------------------------------------------------------------------

    def _will(self) -> aiomqtt.Will:
        return aiomqtt.Will(self._t("status"), tm.will_payload(time.time()), qos=1, retain=True)

    def _client(self) -> aiomqtt.Client:
        return connect(self.s, client_id("pub", self.s.site, self.s.device), will=self._will(),
                       timeout_s=self.connect_timeout_s)

    def _status(self) -> bytes:
        return tm.status_payload(True, time.time(), activity=self.activity,
                                 heartbeat_s=self.heartbeat_s)

    async def run(self) -> None:
        await run_forever(self.s, client_id("pub", self.s.site, self.s.device), self._online,
                          who="MQTT publisher", log=_log, on_down=self._offline,
                          max_backoff_s=self.max_backoff_s, timeout_s=self.connect_timeout_s,
                          will=self._will)

    async def _online(self, client: aiomqtt.Client) -> None:
        """Connected: the status, the retained documents again, then the outbox."""
        self.online = True
        self.last_error = ""
        await self._send_status(client)
        for kind, payload in list(self._retained.items()):
            await client.publish(self._t(kind), payload, qos=1, retain=True)
        await self._pump(client)

    def _offline(self, why: str) -> None:
        self.last_error = why
        self.online = False
        self._client_now = None
        self._idle.clear()

    async def _pump(self, client: aiomqtt.Client) -> None:
        while True:
            while self._outbox:
                item = self._outbox[0]
                await client.publish(item.topic, item.payload, qos=item.qos,
                                     retain=item.retain)
                self._outbox.popleft()  # only once the broker has it
                if item.topic.endswith("/event"):
                    self.sent_events += 1
            if self._telemetry is not None:
                payload, self._telemetry = self._telemetry, None
                await client.publish(self._t("telemetry"), payload, qos=0)
            if self._closing:
                if self._outbox or self._telemetry is not None:
                    continue  # queued while the last publish was on its way: send it too
                self._idle.set()
                await asyncio.Event().wait()  # close() says goodbye on this connection
            if self.activity != self._sent_activity or \
                    time.monotonic() - self._status_sent_s >= self.heartbeat_s:
                await self._send_status(client)
            self._wake.clear()
            if not self._outbox and self._telemetry is None:
                self._idle.set()
                with contextlib.suppress(TimeoutError):  # a status heartbeat shorter than
                    # 1 s (tests, a monitor that asks for one) comes when it said it would
                    await asyncio.wait_for(self._wake.wait(), min(1.0, self.heartbeat_s))
                # Python 3.11's wait_for drops a cancel that meets the wake-up; asyncio.timeout
                # would keep it but wakes a loop step sooner, and a publish issued as the
                # broker drops then waits out aiomqtt's timeout: keep the step, check here
                raise_if_asked_to_stop()
                self._idle.clear()

    async def _send_status(self, client: aiomqtt.Client) -> None:
        self._client_now = client
        activity = self.activity
        await client.publish(self._t("status"), self._status(), qos=1, retain=True)
        self._sent_activity = activity
        self._status_sent_s = time.monotonic()

    @property
    def pending(self) -> int:
        """Messages the broker has not acknowledged yet."""
        return len(self._outbox)

    async def close(self, task: asyncio.Task[None] | None = None, cause: str = "normal",
                    timeout_s: float = 5.0) -> bool:
        """End of the process, whatever the cause: let ``task`` (``run()``) drain the outbox
        for at most ``timeout_s``, then publish ``offline`` (retained) with the cause and
        stop ``task``. True if everything reached the broker."""
        drained = True
        self._closing = True
        self._wake.set()
        try:
            if task is not None and not task.done():
                async with asyncio.timeout(timeout_s):
                    while self._outbox or not self._idle.is_set():
                        self._wake.set()
                        await asyncio.sleep(0.02)
        except TimeoutError:
            drained = False
            _log.warning("MQTT: %d messages not delivered at exit (broker unreachable)",
                         len(self._outbox))
        goodbye = tm.status_payload(False, time.time(), cause=cause)
        try:
            client = self._client_now
            if drained and client is not None and self.online:
                async with asyncio.timeout(2.0):
                    await client.publish(self._t("status"), goodbye, qos=1, retain=True)
            else:
                # the run task's connection goes first, cleanly: a second connection with
                # the same client id would knock it off and make the broker send our will
                # ("offline", cause will) just before this goodbye
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
                async with asyncio.timeout(2.0), self._client() as c:
                    await c.publish(self._t("status"), goodbye, qos=1, retain=True)
        except (aiomqtt.MqttError, OSError, TimeoutError) as e:
            _log.warning("MQTT: could not say offline at exit: %s", e)
            drained = False
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        return drained and not self._outbox

    async def goodbye(self, run_task: asyncio.Task[None], timeout_s: float,
                      cause: str = "signal") -> None:
        """On a controlled shutdown: ``close`` with the run task (drain, then offline)."""
        await self.close(run_task, cause, timeout_s)
