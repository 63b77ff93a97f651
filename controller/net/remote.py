"""Commands from the network: off by default; when enabled, only "stop" and "acknowledge
alarm", each signed — never a remote start, resume or anything that moves the belt.

Topic ``clinic/v1/<site>/<device>/command``; payload::

    {"schema": "fourbyfour.command/2", "cmd": "stop" | "ack", "alarm": "...",
     "site": "oslo", "device": "tm-1", "session_id": "…",
     "time_unix_s": 1790000000.0, "nonce": "random-16+", "hmac": "<hex>"}

``hmac`` is HMAC-SHA256 over the canonical JSON (sorted keys, no spaces) of the other fields,
so the signature names its target: a stop signed for tm-1 (or for the patient before) does
nothing on tm-2 (or to the next patient), even where one clinic key is used for every
treadmill. Keys may be one per treadmill (``[mqtt] command_secret_file`` on each Pi, the same
file under ``<keys_dir>/<site>/<device>.key`` on the monitor) or one per monitor.

Refused, with a log line, and nothing reaches the session: a bad signature, another site,
device or session, no session running, a timestamp that is not a finite number or more than
30 s off, a nonce seen before in any correctly signed command, accepted or refused
(remembered in a file across restarts when ``replay_file`` is given), a retained message,
any other command.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import math
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiomqtt
import jsonschema

from controller.core.text import clean
from controller.errors import DataError
from controller.net import telemetry as tm
from controller.net.mqtt import MqttSettings, client_id, connect, messages, run_forever

_log = logging.getLogger(__name__)

SCHEMA = "fourbyfour.command/2"
ALLOWED = ("stop", "ack")
MAX_AGE_S = 30.0
NONCES_KEPT = 1000


def command_topic(site: str, device: str) -> str:
    return f"{tm.TOPIC_PREFIX}/{tm.check_name('site', site)}/" \
           f"{tm.check_name('device', device)}/command"


def _canonical(doc: dict[str, Any]) -> bytes:
    body = {k: v for k, v in doc.items() if k != "hmac"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: bytes, cmd: str, *, site: str, device: str, session_id: str,
         alarm: str | None = None, now_s: float | None = None, nonce: str) -> bytes:
    """A signed command for one session on one treadmill (what a central monitor sends)."""
    doc: dict[str, Any] = {"schema": SCHEMA, "cmd": cmd, "site": site, "device": device,
                           "session_id": session_id,
                           "time_unix_s": time.time() if now_s is None else now_s,
                           "nonce": nonce}
    if alarm is not None:
        doc["alarm"] = alarm
    doc["hmac"] = hmac.new(secret, _canonical(doc), hashlib.sha256).hexdigest()
    return json.dumps(doc).encode()


class CommandError(DataError):
    pass


class Verifier:
    """Pure but for the optional replay file: payload in, (cmd, alarm) out, or CommandError.

    ``session_id`` is asked at the moment of checking: None while no session runs (before
    Start, after the end), and then every command is refused."""

    def __init__(self, secret: bytes, *, site: str, device: str,
                 session_id: Callable[[], str | None],
                 clock: Callable[[], float] = time.time,
                 replay_file: str | Path | None = None) -> None:
        if len(secret) < 16:
            raise ValueError("the command secret must be at least 16 bytes")
        self.secret = secret
        self.site, self.device = site, device
        self.session_id = session_id
        self.clock = clock
        self.replay_file = Path(replay_file) if replay_file else None
        self._nonces: OrderedDict[str, float] = OrderedDict()
        if self.replay_file and self.replay_file.exists():
            for line in self.replay_file.read_text().splitlines()[-NONCES_KEPT:]:
                nonce, _, ts = line.partition(" ")
                if nonce:
                    self._nonces[nonce] = float(ts or 0)

    def _remember(self, nonce: str, ts: float) -> None:
        self._nonces[nonce] = ts
        while len(self._nonces) > NONCES_KEPT:
            self._nonces.popitem(last=False)
        if self.replay_file is not None:
            self.replay_file.parent.mkdir(parents=True, exist_ok=True)
            with self.replay_file.open("a") as f:
                f.write(f"{nonce} {ts}\n")
                f.flush()
                os.fsync(f.fileno())
            if len(self._nonces) == NONCES_KEPT and \
                    self.replay_file.stat().st_size > 4 * NONCES_KEPT * 60:
                tmp = self.replay_file.with_suffix(".tmp")
                tmp.write_text("".join(f"{n} {t}\n" for n, t in self._nonces.items()))
                tmp.replace(self.replay_file)

    def check(self, payload: bytes, retained: bool = False) -> tuple[str, str | None]:
        if retained:
            raise CommandError("a retained command is never acted on")
        if len(payload) > 2048:
            raise CommandError("command payload too large")
        try:
            doc = tm.loads_strict(payload)
        except (ValueError, UnicodeDecodeError):
            raise CommandError("command is not JSON") from None
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            raise CommandError(f"not a {SCHEMA} document")
        mac = doc.get("hmac")
        want = hmac.new(self.secret, _canonical(doc), hashlib.sha256).hexdigest()
        if not isinstance(mac, str) or not hmac.compare_digest(mac, want):
            raise CommandError("bad signature")
        ts, nonce = doc.get("time_unix_s"), doc.get("nonce")
        if not isinstance(nonce, str) or not 16 <= len(nonce) <= 128 or nonce in self._nonces:
            raise CommandError("replayed or missing nonce")
        # every correctly signed nonce is spent, refused or not: a stop refused before Start
        # (or for another session) must not stop the session when the same bytes come again
        self._remember(nonce, float(ts) if isinstance(ts, int | float) and
                       not isinstance(ts, bool) and math.isfinite(ts) else self.clock())
        if doc.get("site") != self.site or doc.get("device") != self.device:
            raise CommandError(f"command is for {doc.get('site')}/{doc.get('device')}, "
                               f"not this treadmill ({self.site}/{self.device})")
        if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts) \
                or abs(self.clock() - ts) > MAX_AGE_S:
            raise CommandError("command too old, from the future or without a valid time")
        cmd = doc.get("cmd")
        if cmd not in ALLOWED:
            raise CommandError(f"command {cmd!r} is not allowed from the network "
                               f"(only {', '.join(ALLOWED)})")
        alarm = doc.get("alarm")
        if cmd == "ack" and not isinstance(alarm, str):
            raise CommandError("ack needs the alarm to acknowledge")
        if not tm.validator("command").is_valid(doc):  # schemas/command.schema.json
            err = jsonschema.exceptions.best_match(tm.validator("command").iter_errors(doc))
            where = err.json_path.removeprefix("$.") if err is not None else "document"
            raise CommandError(f"not a valid command: {where}: "
                               f"{clean(err.message if err else '', 160)}")
        running = self.session_id()
        if running is None:
            raise CommandError("no session is running: nothing to stop or acknowledge")
        if doc.get("session_id") != running:
            raise CommandError(f"command is for session {doc.get('session_id')!r}, not the "
                               f"running one")
        return cmd, alarm


REPLY_SCHEMA = "fourbyfour.command-reply/1"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


def reply_topic(site: str, device: str) -> str:
    """Where a treadmill answers every command that names a nonce: done, or refused and why
    (written only by the treadmill itself under the example ACL)."""
    return command_topic(site, device) + "-reply"


def reply_payload(nonce: str, cmd: str | None, ok: bool, reason: str = "") -> bytes:
    return json.dumps({"schema": REPLY_SCHEMA, "nonce": nonce, "cmd": cmd, "ok": ok,
                       "reason": clean(reason, 300), "time_unix_s": round(time.time(), 3)},
                      separators=(",", ":")).encode()


def parse_reply(payload: bytes) -> dict[str, Any]:
    """A command reply, checked (``CommandError`` otherwise); ``reason`` is clean text."""
    try:
        doc = tm.loads_strict(payload)
    except (ValueError, UnicodeDecodeError):
        raise CommandError("command reply is not JSON") from None
    if not isinstance(doc, dict) or doc.get("schema") != REPLY_SCHEMA or \
            not isinstance(doc.get("nonce"), str) or not isinstance(doc.get("ok"), bool):
        raise CommandError(f"not a {REPLY_SCHEMA} document")
    doc["reason"] = clean(doc.get("reason") or "", 300)
    return doc


def _nonce_of(payload: bytes) -> str | None:
    """The nonce a command names, if it names a well-formed one (to address the reply)."""
    try:
        doc = tm.loads_strict(payload) if len(payload) <= 2048 else None
    except (ValueError, UnicodeDecodeError):
        return None
    nonce = doc.get("nonce") if isinstance(doc, dict) else None
    return nonce if isinstance(nonce, str) and _NONCE.match(nonce) else None


async def listen(settings: MqttSettings, verifier: Verifier,
                 handle: Callable[[str, str | None], None]) -> None:
    """Subscribe to this treadmill's command topic, hand verified commands to ``handle`` and
    answer each one on ``reply_topic``: done, or refused with the reason."""
    topic = command_topic(settings.site, settings.device)
    answer_on = reply_topic(settings.site, settings.device)

    async def serve(c: aiomqtt.Client) -> None:
        await c.subscribe(topic, qos=1)
        _log.info("listening for network commands on %s", topic)
        async for m in messages(c):
            payload = bytes(m.payload)
            nonce = _nonce_of(payload)
            cmd: str | None = None
            try:
                cmd, alarm = verifier.check(payload, bool(m.retain))
                handle(cmd, alarm)
                ok, why = True, ""
            except CommandError as e:
                ok, why = False, clean(e, 300)
                _log.warning("refused network command: %s", why)
            except Exception as e:  # the session said no (e.g. no such alarm)
                ok, why = False, clean(e, 300)
                _log.warning("network command %s failed: %s", cmd, why)
            if nonce is not None and not m.retain:
                await c.publish(answer_on, reply_payload(nonce, cmd, ok, why), qos=1)

    await run_forever(settings, client_id("cmd", settings.site, settings.device), serve,
                      who="command listener", log=_log)


async def send(settings: MqttSettings, site: str, device: str, secret: bytes, cmd: str,
               alarm: str | None = None, timeout_s: float = 10.0) -> tuple[str, str]:
    """Sign and send one command to the running session of ``site/device`` and wait for the
    treadmill's answer; the session id is read from the treadmill's retained session
    document. Returns (session id, what the treadmill did); raises ``CommandError`` when it
    refused (with its reason) or did not answer within ``timeout_s``."""
    import secrets

    async with connect(settings, client_id("cmdtool", secrets.token_hex(4))) as c:
        await c.subscribe(tm.topic(site, device, "session"), qos=1)
        await c.subscribe(reply_topic(site, device), qos=1)
        session_id = None
        try:
            async with asyncio.timeout(timeout_s):
                session_id = await _first_session(c, site, device)
        except TimeoutError:
            raise CommandError(f"no session document from {site}/{device} within "
                               f"{timeout_s:g} s") from None
        nonce = secrets.token_hex(16)
        await c.publish(command_topic(site, device),
                        sign(secret, cmd, site=site, device=device, session_id=session_id,
                             alarm=alarm, nonce=nonce), qos=1)
        try:
            async with asyncio.timeout(timeout_s):
                reply = await _reply(c, nonce)
        except TimeoutError:
            raise CommandError(f"no answer from {site}/{device} within {timeout_s:g} s: the "
                               f"{cmd} may not have been carried out (commands off on the "
                               "treadmill, or it is offline)") from None
        if not reply["ok"]:
            raise CommandError(f"{site}/{device} refused the {cmd}: {reply['reason']}")
        return session_id, f"{cmd} done"


async def _reply(c: aiomqtt.Client, nonce: str) -> dict[str, Any]:
    async for m in messages(c):
        if not str(m.topic).endswith("/command-reply"):
            continue
        try:
            doc = parse_reply(bytes(m.payload))
        except CommandError:
            continue
        if doc["nonce"] == nonce:
            return doc
    raise CommandError("the broker closed the connection")


async def _first_session(c: aiomqtt.Client, site: str, device: str) -> str:
    async for m in messages(c):
        if not str(m.topic).endswith("/session"):
            continue
        try:
            _s, _d, _k, doc = tm.parse(str(m.topic), bytes(m.payload))
        except tm.PayloadError as e:
            raise CommandError(f"the treadmill's session document is bad: {e}") from None
        if doc["state"] == "done":
            raise CommandError(f"{site}/{device} runs no session (the last one is done)")
        return str(doc["session_id"])
    raise CommandError(f"no session document from {site}/{device}")
