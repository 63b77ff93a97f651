"""Commands from the network: off by default; when enabled, only "stop" and "acknowledge
alarm", each signed — never a remote start, resume or anything that moves the belt.

Topic ``clinic/v1/<site>/<device>/command``; payload::

    {"schema": "fourbyfour.command/1", "cmd": "stop" | "ack", "alarm": "...",
     "time_unix_s": 1790000000.0, "nonce": "random-16+", "hmac": "<hex>"}

``hmac`` is HMAC-SHA256, keyed with the shared secret from ``[mqtt] command_secret_file``,
over the canonical JSON (sorted keys, no spaces) of the other fields. A command older or
newer than 30 s, a nonce seen before, a bad signature or any other command is refused with a
log line; nothing reaches the session.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import ssl
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import aiomqtt

from controller.net import telemetry as tm
from controller.net.publisher import MqttSettings

_log = logging.getLogger(__name__)

ALLOWED = ("stop", "ack")
MAX_AGE_S = 30.0


def _canonical(doc: dict[str, Any]) -> bytes:
    body = {k: v for k, v in doc.items() if k != "hmac"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: bytes, cmd: str, *, alarm: str | None = None, now_s: float | None = None,
         nonce: str) -> bytes:
    """A signed command (what a central monitor sends)."""
    doc: dict[str, Any] = {"schema": "fourbyfour.command/1", "cmd": cmd,
                           "time_unix_s": time.time() if now_s is None else now_s,
                           "nonce": nonce}
    if alarm is not None:
        doc["alarm"] = alarm
    doc["hmac"] = hmac.new(secret, _canonical(doc), hashlib.sha256).hexdigest()
    return json.dumps(doc).encode()


class CommandError(ValueError):
    pass


class Verifier:
    """Pure: payload in, (cmd, alarm) out, or CommandError with the reason."""

    def __init__(self, secret: bytes, clock: Callable[[], float] = time.time) -> None:
        if len(secret) < 16:
            raise ValueError("the command secret must be at least 16 bytes")
        self.secret = secret
        self.clock = clock
        self._nonces: OrderedDict[str, float] = OrderedDict()

    def check(self, payload: bytes) -> tuple[str, str | None]:
        if len(payload) > 2048:
            raise CommandError("command payload too large")
        try:
            doc = json.loads(payload)
        except ValueError:
            raise CommandError("command is not JSON") from None
        if not isinstance(doc, dict) or doc.get("schema") != "fourbyfour.command/1":
            raise CommandError("not a fourbyfour.command/1 document")
        mac = doc.get("hmac")
        want = hmac.new(self.secret, _canonical(doc), hashlib.sha256).hexdigest()
        if not isinstance(mac, str) or not hmac.compare_digest(mac, want):
            raise CommandError("bad signature")
        ts, nonce = doc.get("time_unix_s"), doc.get("nonce")
        if not isinstance(ts, int | float) or abs(self.clock() - ts) > MAX_AGE_S:
            raise CommandError("command too old or from the future")
        if not isinstance(nonce, str) or len(nonce) < 16 or nonce in self._nonces:
            raise CommandError("replayed or missing nonce")
        self._nonces[nonce] = ts
        while len(self._nonces) > 1000:
            self._nonces.popitem(last=False)
        cmd = doc.get("cmd")
        if cmd not in ALLOWED:
            raise CommandError(f"command {cmd!r} is not allowed from the network "
                               f"(only {', '.join(ALLOWED)})")
        alarm = doc.get("alarm")
        if cmd == "ack" and not isinstance(alarm, str):
            raise CommandError("ack needs the alarm to acknowledge")
        return cmd, alarm


async def listen(settings: MqttSettings, verifier: Verifier,
                 handle: Callable[[str, str | None], None]) -> None:
    """Subscribe to this treadmill's command topic and hand verified commands to ``handle``."""
    topic = tm.topic(settings.site, settings.device, "status").rsplit("/", 1)[0] + "/command"
    tls = ssl.create_default_context(cafile=settings.tls_ca_file) if settings.tls_ca_file \
        else None
    backoff = 0.5
    while True:
        try:
            async with aiomqtt.Client(settings.host, settings.port, username=settings.username,
                                      password=settings.password, tls_context=tls,
                                      identifier=f"fourbyfour-cmd-{settings.device}") as c:
                backoff = 0.5
                await c.subscribe(topic, qos=1)
                async for m in c.messages:
                    try:
                        cmd, alarm = verifier.check(bytes(m.payload))
                    except CommandError as e:
                        _log.warning("refused network command: %s", e)
                        continue
                    try:
                        handle(cmd, alarm)
                    except Exception as e:  # the session said no (e.g. no such alarm)
                        _log.warning("network command %s failed: %s", cmd, e)
        except aiomqtt.MqttError:
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)
