"""The records service (``fourbyfour records-server``), beside the central monitor: receives
every finished session from every treadmill and answers profile requests at session start.

A session is stored (committed) in the clinic database before it is acknowledged, and stored
once however often it arrives (``ClinicDb.add_session`` is idempotent), so the treadmills'
at-least-once delivery becomes exactly one record. The broker keeps what arrives while the
service is down (a persistent session: fixed client id, clean_session off, QoS 1). A bad
message is counted and logged, never acknowledged and never fatal. Topics and payloads are
in ``controller.net.records_link``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiomqtt

from controller.net import records_link as rl
from controller.net import telemetry as tm
from controller.net.mqtt import MqttSettings
from controller.net.mqtt import client_id as mqtt_client_id
from controller.net.tls import client_context
from controller.records.clinic_db import ClinicDb
from controller.records.store import StoreError

_log = logging.getLogger(__name__)


class RecordsServer:
    def __init__(self, settings: MqttSettings, db: ClinicDb, *,
                 client_id: str | None = None) -> None:
        self.s = settings
        self.db = db
        self.client_id = client_id or mqtt_client_id("records-server", settings.site)
        self.stored = 0
        self.duplicates = 0
        self.refused = 0
        self.profiles_answered = 0
        self.online = False

    def handle_session(self, site: str, device: str, ident: str, payload: bytes
                       ) -> bytes | None:
        """Store one session; the acknowledgement to send, or None (refused)."""
        try:
            doc = rl.decode(payload, rl.RECORD_SCHEMA)
            if doc.get("site") != site or doc.get("device") != device:
                raise tm.PayloadError("site/device in the document differ from the topic")
            session = doc.get("session")
            if not isinstance(session, dict) or \
                    not isinstance(session.get("session"), dict) or \
                    session["session"].get("id") != ident:
                raise tm.PayloadError("session id in the document differs from the topic")
            new = self.db.add_session(site, device, session)
        except (tm.PayloadError, StoreError) as e:
            self.refused += 1
            _log.warning("records: refused session %s from %s/%s: %s", ident, site, device, e)
            return None
        except Exception as e:  # the database is down …: no ack, the treadmill sends again
            self.refused += 1
            _log.error("records: could not store session %s from %s/%s: %s: %s", ident, site,
                       device, type(e).__name__, e)
            return None
        if new:
            self.stored += 1
            _log.info("records: stored session %s from %s/%s", ident, site, device)
        else:
            self.duplicates += 1
        return rl.encode({"schema": rl.ACK_SCHEMA, "session_id": ident})

    def handle_profile(self, payload: bytes) -> bytes | None:
        try:
            doc = rl.decode(payload, rl.PROFILE_REQUEST_SCHEMA)
            pseudonym = doc.get("pseudonym")
            if not isinstance(pseudonym, str) or not 0 < len(pseudonym) <= 64:
                raise tm.PayloadError("pseudonym must be a string of 1–64 characters")
        except tm.PayloadError as e:
            self.refused += 1
            _log.warning("records: refused profile request: %s", e)
            return None
        profile: dict[str, Any] | None = self.db.profile(pseudonym)
        self.profiles_answered += 1
        return rl.encode({"schema": rl.PROFILE_REPLY_SCHEMA, "pseudonym": pseudonym,
                          "profile": profile})

    async def run(self, ready: asyncio.Event | None = None) -> None:
        s = self.s
        backoff = 0.5
        last_error = ""
        while True:
            try:
                async with aiomqtt.Client(
                        s.host, s.port, username=s.username, password=s.password,
                        tls_context=client_context(s), identifier=self.client_id,
                        clean_session=False, keepalive=s.keepalive_s, timeout=10) as client:
                    self.online, backoff, last_error = True, 0.5, ""
                    await client.subscribe(f"{tm.TOPIC_PREFIX}/+/+/records/session/+", qos=1)
                    await client.subscribe(f"{tm.TOPIC_PREFIX}/+/+/records/profile/+", qos=1)
                    if ready is not None:
                        ready.set()
                    async for m in client.messages:
                        await self._on_message(client, m)
            except (aiomqtt.MqttError, OSError) as e:
                if self.online or str(e) != last_error:
                    _log.warning("records: broker %s:%s: %s", s.host, s.port, e)
                last_error = str(e)
            self.online = False
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)

    async def _on_message(self, client: aiomqtt.Client, m: aiomqtt.Message) -> None:
        try:
            site, device, what, ident = rl.split_records_topic(str(m.topic))
        except tm.PayloadError as e:
            self.refused += 1
            _log.warning("records: %s", e)
            return
        if what == "session":
            ack = self.handle_session(site, device, ident, bytes(m.payload))
            if ack is not None:
                await client.publish(rl.records_topic(site, device, "ack", ident), ack, qos=1)
        elif what == "profile":
            reply = self.handle_profile(bytes(m.payload))
            if reply is not None:
                await client.publish(rl.records_topic(site, device, "profile-reply", ident),
                                     reply, qos=1)
