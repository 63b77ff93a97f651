"""The treadmill's side of the clinic record: every finished session goes to the records
service (``fourbyfour records-server``) and stays on the Pi until the service acknowledges it.

Topics under ``clinic/v1/<site>/<device>/records/``:

=======================  ==========  ============================================================
``session/<session_id>`` Pi → server the session with its whole trace (QoS 1, not retained)
``ack/<session_id>``     server → Pi stored (committed) in the clinic database: forget the upload;
                                     or ``refused`` with the reason: kept on the Pi, flagged,
                                     not sent again by this process
``profile/<request>``    Pi → server which profile has this pseudonym?
``profile-reply/<req>``  server → Pi the profile, or null
=======================  ==========  ============================================================

Delivery is at least once and stored exactly once: the Pi re-sends every unacknowledged
session after each reconnect and every ``resend_s``; the service stores a session once (by
its id) and acknowledges every copy. The list of unacknowledged sessions lives in the Pi's
own store (``Store.pending_upload`` / ``mark_uploaded``), so broker, Pi and server restarts
lose nothing. The store is injected as three callables (this layer does not import records).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiomqtt
import jsonschema

from controller.core.text import clean
from controller.net import telemetry as tm
from controller.net.mqtt import MqttSettings, client_id, messages, run_forever

_log = logging.getLogger(__name__)

RECORD_SCHEMA = "fourbyfour.record/1"
ACK_SCHEMA = "fourbyfour.record-ack/1"
PROFILE_REQUEST_SCHEMA = "fourbyfour.profile-request/1"
PROFILE_REPLY_SCHEMA = "fourbyfour.profile-reply/1"
MAX_RECORD_BYTES = 16 * 1024 * 1024
WHATS = ("session", "ack", "profile", "profile-reply")


def records_topic(site: str, device: str, what: str, ident: str) -> str:
    if what not in WHATS:
        raise ValueError(f"unknown records topic {what!r}")
    return (f"{tm.TOPIC_PREFIX}/{tm.check_name('site', site)}/"
            f"{tm.check_name('device', device)}/records/{what}/{tm.check_name('id', ident)}")


def split_records_topic(topic: str) -> tuple[str, str, str, str]:
    """(site, device, what, id) of a records topic; tm.PayloadError otherwise."""
    parts = topic.split("/")
    if len(parts) != 7 or "/".join(parts[:2]) != tm.TOPIC_PREFIX or parts[4] != "records" \
            or parts[5] not in WHATS:
        raise tm.PayloadError(f"not a records topic: {topic!r}")
    try:
        for what, v in (("site", parts[2]), ("device", parts[3]), ("id", parts[6])):
            tm.check_name(what, v)
    except ValueError as e:
        raise tm.PayloadError(f"{topic}: {e}") from None
    return parts[2], parts[3], parts[5], parts[6]


def encode(doc: dict[str, Any]) -> bytes:
    doc = {**doc, "time_unix_s": round(time.time(), 3)}
    return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()


def decode(payload: bytes, schema: str) -> dict[str, Any]:
    if len(payload) > MAX_RECORD_BYTES:
        raise tm.PayloadError(f"{len(payload)} bytes is over the {MAX_RECORD_BYTES}-byte limit")
    try:
        doc = tm.loads_strict(payload)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise tm.PayloadError(f"not JSON ({str(e)[:100]})") from None
    if not isinstance(doc, dict) or doc.get("schema") != schema:
        raise tm.PayloadError(f"not a {schema} document")
    kind = schema.removeprefix("fourbyfour.").split("/")[0]  # record, record-ack, profile-…
    err = jsonschema.exceptions.best_match(tm.validator(kind).iter_errors(doc))
    if err is not None:
        where = err.json_path.removeprefix("$.") if err.json_path != "$" else "document"
        raise tm.PayloadError(f"{schema}: {where}: {clean(err.message, 160)}")
    return doc


class RecordsLink:
    """Sends every ended session until acknowledged; asks for profiles. Best effort, outside
    the safety task group, like the publisher."""

    def __init__(self, settings: MqttSettings, *,
                 pending: Callable[[], list[str] | Awaitable[list[str]]],
                 export: Callable[[str], Awaitable[dict[str, Any]]],
                 acked: Callable[[str], Awaitable[None] | None],
                 resend_s: float = 10.0) -> None:
        """``pending`` and ``acked`` may return awaitables (the control service's store is
        written by its writer thread, never on this loop)."""
        self.s = settings
        self.pending = pending
        self.export = export
        self.acked = acked
        self.resend_s = resend_s
        self.online = False
        self.sent = 0
        self.acks = 0
        self.refused: dict[str, str] = {}
        """Sessions the records service refused, with its reason: they stay on the Pi
        (``pending_upload``) for a person to look at and are not sent again until restart."""
        self._inflight: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._replies: dict[str, asyncio.Future[dict[str, Any] | None]] = {}

    def wake(self) -> None:
        """A session ended: send it now."""
        self._wake.set()

    def _t(self, what: str, ident: str) -> str:
        return records_topic(self.s.site, self.s.device, what, ident)

    async def run(self) -> None:
        await run_forever(self.s, client_id("records", self.s.site, self.s.device),
                          self._online, who="records link", log=_log, on_down=self._offline,
                          timeout_s=10)

    async def _online(self, client: aiomqtt.Client) -> None:
        self._client = client
        self.online = True
        base = f"{tm.TOPIC_PREFIX}/{self.s.site}/{self.s.device}/records"
        await client.subscribe(f"{base}/ack/+", qos=1)
        await client.subscribe(f"{base}/profile-reply/+", qos=1)
        self._inflight.clear()  # after a reconnect everything unacked goes again
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._read(client))
            tg.create_task(self._send(client))

    def _offline(self, why: str) -> None:
        self.online = False
        self._client = None

    async def _send(self, client: aiomqtt.Client) -> None:
        while True:
            self._wake.clear()
            now = time.monotonic()
            pending = self.pending()
            if inspect.isawaitable(pending):
                pending = await pending
            for sid in pending:
                if sid in self.refused:
                    continue
                sent = self._inflight.get(sid)
                if sent is not None and now - sent < self.resend_s:
                    continue
                doc = await self.export(sid)
                await client.publish(self._t("session", sid), encode({
                    "schema": RECORD_SCHEMA, "site": self.s.site, "device": self.s.device,
                    "session": doc}), qos=1)
                self._inflight[sid] = time.monotonic()
                self.sent += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(self.resend_s, 5.0))

    async def _read(self, client: aiomqtt.Client) -> None:
        async for m in messages(client):
            try:
                _site, _dev, what, ident = split_records_topic(str(m.topic))
                if what == "ack":
                    doc = decode(bytes(m.payload), ACK_SCHEMA)
                    if doc.get("session_id") != ident:
                        raise tm.PayloadError("ack for another session than its topic says")
                    if doc.get("refused") is not None:
                        why = clean(doc["refused"], 500)
                        self.refused[ident] = why
                        self._inflight.pop(ident, None)
                        _log.error("records service refused session %s (kept on this "
                                   "treadmill, not sent again): %s", ident, why)
                        continue
                    done = self.acked(ident)
                    if inspect.isawaitable(done):
                        await done
                    self._inflight.pop(ident, None)
                    self.acks += 1
                elif what == "profile-reply":
                    doc = decode(bytes(m.payload), PROFILE_REPLY_SCHEMA)
                    fut = self._replies.pop(ident, None)
                    profile = doc.get("profile")
                    if fut is not None and not fut.done():
                        fut.set_result(profile if isinstance(profile, dict) else None)
            except tm.PayloadError as e:
                _log.warning("records link: ignored %s: %s", m.topic, clean(e, 300))

    async def request_profile(self, pseudonym: str, timeout_s: float = 5.0
                              ) -> dict[str, Any] | None:
        """The clinic's profile of ``pseudonym`` (None: unknown there). Raises TimeoutError
        when the records service does not answer in time (staff enter the profile)."""
        client = self._client
        if client is None:
            raise TimeoutError("the records service is not reachable")
        request = secrets.token_hex(8)
        fut: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        self._replies[request] = fut
        try:
            await client.publish(self._t("profile", request), encode({
                "schema": PROFILE_REQUEST_SCHEMA, "pseudonym": pseudonym}), qos=1)
            async with asyncio.timeout(timeout_s):
                return await fut
        finally:
            self._replies.pop(request, None)
