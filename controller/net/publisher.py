"""Publishing a treadmill's state to the clinic's MQTT broker (aiomqtt), best effort.

The control loop never waits for this: it ``offer_*``s the latest values and returns at once.
Telemetry is a latest-value slot (a stale reading is worth nothing); events and the retained
session/meta documents go to a bounded outbox and leave it only when the broker acknowledged
them (QoS 1), so a broker outage loses no events or session summaries — they are sent when
the connection is back (back-off 0.5 s doubling to 30 s). The broker publishes ``offline``
(retained) as our last will if we vanish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections import deque
from dataclasses import dataclass

import aiomqtt

from controller.net import telemetry as tm

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MqttSettings:
    host: str = "localhost"
    port: int = 1883
    site: str = "demo"
    device: str = "treadmill-1"
    username: str | None = None
    password: str | None = None
    tls_ca_file: str | None = None
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    keepalive_s: int = 10
    outbox_max: int = 5000


class MqttPublisher:
    """See the module docstring. Run ``run()`` as a task outside the safety task group."""

    def __init__(self, settings: MqttSettings, *, max_backoff_s: float = 30.0) -> None:
        self.s = settings
        self.max_backoff_s = max_backoff_s
        self.online = False
        self.last_error = ""
        self.sent_events = 0
        self.dropped = 0
        self._telemetry: bytes | None = None
        self._retained: dict[str, bytes] = {}
        self._outbox: deque[tm.Outgoing] = deque()
        self._wake = asyncio.Event()

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

    def _client(self) -> aiomqtt.Client:
        tls = None
        if self.s.tls_ca_file:
            tls = ssl.create_default_context(cafile=self.s.tls_ca_file)
            if self.s.tls_cert_file:
                tls.load_cert_chain(self.s.tls_cert_file, self.s.tls_key_file)
        return aiomqtt.Client(
            self.s.host, self.s.port, username=self.s.username, password=self.s.password,
            identifier=f"fourbyfour-{self.s.site}-{self.s.device}", keepalive=self.s.keepalive_s,
            will=aiomqtt.Will(self._t("status"), tm.status_payload(False), qos=1, retain=True),
            tls_context=tls, timeout=5,
        )

    async def run(self) -> None:
        backoff = 0.5
        while True:
            try:
                async with self._client() as client:
                    self.online = True
                    self.last_error = ""
                    backoff = 0.5
                    await client.publish(self._t("status"), tm.status_payload(True, time.time()),
                                         qos=1, retain=True)
                    for kind, payload in list(self._retained.items()):
                        await client.publish(self._t(kind), payload, qos=1, retain=True)
                    await self._pump(client)
            except aiomqtt.MqttError as e:
                self.last_error = str(e)
            except OSError as e:  # TLS files, DNS …
                self.last_error = str(e)
            if self.online:
                _log.warning("MQTT offline: %s", self.last_error)
            self.online = False
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff_s)

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
            self._wake.clear()
            if not self._outbox and self._telemetry is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 1.0)

    async def goodbye(self, run_task: asyncio.Task[None], timeout_s: float) -> None:
        """On a controlled shutdown: let the outbox drain (the last events and the session
        summary), stop ``run_task``, then say ``offline``; each step bounded by
        ``timeout_s``."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while self._outbox or self._telemetry is not None:
                    await asyncio.sleep(0.05)
        run_task.cancel()
        with contextlib.suppress(BaseException):
            await run_task
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.close(), timeout_s)

    async def close(self) -> None:
        """Say goodbye properly (status offline) if we are connected; best effort."""
        with contextlib.suppress(Exception):
            async with self._client() as client:
                await client.publish(self._t("status"), tm.status_payload(False, time.time()),
                                     qos=1, retain=True)
