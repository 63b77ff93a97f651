"""The records service (``fourbyfour records-server``), beside the central monitor: receives
every finished session from every treadmill and answers profile requests at session start.

A session is stored (committed) in the clinic database before it is acknowledged, and stored
once however often it arrives (``ClinicDb.add_session`` is idempotent), so the treadmills'
at-least-once delivery becomes exactly one record. The broker keeps what arrives while the
service is down (a persistent session: fixed client id, clean_session off, QoS 1).

Nothing from the network is trusted: a session is checked with the import's rules
(``records.session_import.check_export``: pseudonym rule, types, ranges, finite numbers, time
order) plus no control character in any text and no deeper nesting than a session has; a
refused one is answered with the reason (``refused`` in the ack), counted and logged, and
stays on the treadmill. No message is fatal: whatever one does, it is counted and the next
one is read (a copy queued while the service was down cannot kill it again at restart). A
database connection lost (PostgreSQL restarted) is opened again; until it is back, nothing is
acknowledged and the treadmills keep their sessions. Topics and payloads are in
``controller.net.records_link``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from typing import Any

import aiomqtt

from controller.core.pseudonym import pseudonym_problem
from controller.core.text import clean
from controller.net import records_link as rl
from controller.net import telemetry as tm
from controller.net.mqtt import MqttSettings, messages, run_forever
from controller.net.mqtt import client_id as mqtt_client_id
from controller.records.clinic_db import ClinicDb
from controller.records.session_import import check_export
from controller.records.store import StoreError

MAX_DEPTH = 12
"""A session export nests 5 deep (a plan's phases); anything deeper is not one of ours."""


class Refused(Exception):
    """A message the records service will not store or answer; the reason goes back."""


def _check_values(v: Any, path: str = "", depth: int = 0) -> None:
    """No non-finite or huge number, no control character but tab/newline in text, no deep
    nesting, anywhere in the document (also where the import's rules do not look: the
    summary)."""
    if depth > MAX_DEPTH:
        raise Refused(f"{path or 'document'}: nested more than {MAX_DEPTH} deep")
    if isinstance(v, dict):
        for k, x in v.items():
            _check_values(k, path, depth + 1)
            _check_values(x, f"{path}.{k}" if path else str(k), depth + 1)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            _check_values(x, f"{path}[{i}]", depth + 1)
    elif isinstance(v, float):
        if not math.isfinite(v):
            raise Refused(f"{path}: not a finite number")
    elif isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2 ** 53:
        raise Refused(f"{path}: number out of range")
    elif isinstance(v, str) and any((ord(c) < 32 and c not in "\t\n") or 127 <= ord(c) < 160
                                    for c in v):
        raise Refused(f"{path}: control character in text")


def check_upload(session: Any, now_unix_s: float) -> None:
    """Refused(reason) unless ``session`` is an export the import would take."""
    _check_values(session)
    if not isinstance(session, dict) or not isinstance(session.get("session"), dict) or \
            not isinstance(session.get("samples"), list) or \
            not isinstance(session.get("events"), list):
        raise Refused("not a session export (session, samples, events)")
    sid = session["session"].get("id")
    # the upload leaves out each row's session id; the import's rules want it
    as_file = {**session,
               "samples": [{"session_id": sid, **r} if isinstance(r, dict) else r
                           for r in session["samples"]],
               "events": [{"session_id": sid, **e} if isinstance(e, dict) else e
                          for e in session["events"]]}
    try:
        check_export(as_file, now_unix_s)
    except Exception as e:  # session_import's own refusal names the field
        where = getattr(e, "path", "")
        raise Refused(f"{where}: {e}" if where else str(e)) from None


def _connection_lost(e: BaseException) -> bool:
    """A database that went away (PostgreSQL restarted), not a bad document."""
    name = type(e).__name__
    return name in ("OperationalError", "InterfaceError") or "closed" in str(e).lower()

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
        self.failed = 0
        """Messages that could not be handled (the database down …): no answer, sent again."""
        self.reconnects = 0
        self.profiles_answered = 0
        self.online = False

    def _db_call(self, fn: Any, *args: Any) -> Any:
        """``fn(db, *args)``; when the connection to the database was lost, open it again
        once and retry (PostgreSQL restarted). Anything else propagates."""
        try:
            return fn(self.db, *args)
        except Exception as e:
            url = getattr(self.db, "url", None)
            if url is None or not _connection_lost(e):
                raise
            _log.warning("records: the clinic database connection was lost (%s): opening it "
                         "again", clean(e, 200))
            from controller.records.clinic_db import PgClinicDb

            with contextlib.suppress(Exception):
                self.db.close()
            self.db = PgClinicDb(url)
            self.reconnects += 1
            return fn(self.db, *args)

    def _refuse(self, what: str, why: str) -> None:
        self.refused += 1
        _log.warning("records: refused %s: %s", what, clean(why, 300))

    def handle_session(self, site: str, device: str, ident: str, payload: bytes
                       ) -> bytes | None:
        """Store one session; the answer to send (an ack, or a refusal with the reason), or
        None (could not be handled now: no answer, the treadmill sends it again)."""
        try:
            doc = rl.decode(payload, rl.RECORD_SCHEMA)
            if doc.get("site") != site or doc.get("device") != device:
                raise Refused("site/device in the document differ from the topic")
            session = doc.get("session")
            if not isinstance(session, dict) or \
                    not isinstance(session.get("session"), dict) or \
                    session["session"].get("id") != ident:
                raise Refused("session id in the document differs from the topic")
            check_upload(session, time.time())
            new = self._db_call(lambda db: db.add_session(site, device, session))
        except (Refused, tm.PayloadError, StoreError) as e:
            self._refuse(f"session {ident} from {site}/{device}", str(e))
            return rl.encode({"schema": rl.ACK_SCHEMA, "session_id": ident,
                              "refused": clean(e, 500)})
        except Exception as e:  # the database is down …: no ack, the treadmill sends again
            self.failed += 1
            _log.error("records: could not store session %s from %s/%s: %s: %s", ident, site,
                       device, type(e).__name__, clean(e, 300))
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
            why = pseudonym_problem(pseudonym)
            if why is not None or not isinstance(pseudonym, str) or \
                    any(ord(c) < 32 or 127 <= ord(c) < 160 for c in pseudonym):
                raise Refused(f"pseudonym: {why or 'control character'}")
        except (Refused, tm.PayloadError) as e:
            self._refuse("profile request", str(e))
            return rl.encode({"schema": rl.PROFILE_REPLY_SCHEMA, "profile": None,
                              "refused": clean(e, 500)})
        try:
            profile: dict[str, Any] | None = self._db_call(lambda db: db.profile(pseudonym))
        except Exception as e:
            self.failed += 1
            _log.error("records: could not read the profile: %s: %s", type(e).__name__,
                       clean(e, 300))
            return None
        self.profiles_answered += 1
        return rl.encode({"schema": rl.PROFILE_REPLY_SCHEMA, "pseudonym": pseudonym,
                          "profile": profile})

    async def run(self, ready: asyncio.Event | None = None) -> None:
        s = self.s

        async def serve(client: aiomqtt.Client) -> None:
            self.online = True
            await client.subscribe(f"{tm.TOPIC_PREFIX}/+/+/records/session/+", qos=1)
            await client.subscribe(f"{tm.TOPIC_PREFIX}/+/+/records/profile/+", qos=1)
            if ready is not None:
                ready.set()
            async for m in messages(client):
                try:
                    await self._on_message(client, m)
                except (aiomqtt.MqttError, OSError):
                    raise
                except Exception as e:  # never fatal: count it, read the next one
                    self.failed += 1
                    _log.error("records: message on %s not handled: %s: %s",
                               clean(m.topic, 200), type(e).__name__, clean(e, 300))

        def offline(why: str) -> None:
            self.online = False

        # the shared back-off (up to [mqtt] reconnect_max_s), as every client of ours
        await run_forever(s, self.client_id, serve, who="records", log=_log, on_down=offline,
                          timeout_s=10, clean_session=False)

    async def _on_message(self, client: aiomqtt.Client, m: aiomqtt.Message) -> None:
        try:
            site, device, what, ident = rl.split_records_topic(str(m.topic))
        except tm.PayloadError as e:
            self._refuse("message", str(e))
            return
        payload = m.payload if isinstance(m.payload, bytes) else bytes(str(m.payload), "utf-8")
        if what == "session":
            ack = self.handle_session(site, device, ident, payload)
            if ack is not None:
                await client.publish(rl.records_topic(site, device, "ack", ident), ack, qos=1)
        elif what == "profile":
            reply = self.handle_profile(payload)
            if reply is not None:
                await client.publish(rl.records_topic(site, device, "profile-reply", ident),
                                     reply, qos=1)
