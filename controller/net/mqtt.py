"""How every MQTT client of ours connects: host, port, credentials, mutual TLS (``tls.py``),
a client id that cannot collide, keep-alive, connect timeout and the reconnect back-off.

One place, because each client that did it on its own got one piece wrong: the strap guard
connected without its certificate, client ids ran site and device together with ``-`` (site
``oslo-tm`` + device ``1`` was site ``oslo`` + device ``tm-1``), and a TLS refusal surfaced
as "Operation timed out".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import aiomqtt

from controller.net.tls import TlsConfigError, client_context

_log = logging.getLogger(__name__)

ID_SEPARATOR = "."
"""Site and device names are ``[A-Za-z0-9_-]`` (``telemetry.check_name``): a dot can occur in
neither, so the parts of a client id can always be told apart."""


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
    reconnect_max_s: float = 30.0
    """The longest wait between two reconnect attempts (the back-off doubles up to it)."""


def client_id(role: str, *parts: str) -> str:
    """``fourbyfour.<role>.<site>.<device>…``: unique per (role, parts) by construction."""
    for p in (role, *parts):
        if not p or ID_SEPARATOR in p:
            raise ValueError(f"a client id part must be non-empty and without "
                             f"{ID_SEPARATOR!r}: {p!r}")
    return ID_SEPARATOR.join(("fourbyfour", role, *parts))


class _ErrorCatcher(logging.LoggerAdapter):  # type: ignore[type-arg]
    """paho's logger for one client: passes everything on, keeps the last error line (the
    TLS alert that paho only logs, before aiomqtt reports a timeout)."""

    def __init__(self) -> None:
        super().__init__(logging.getLogger("mqtt"), {})
        self.last_error = ""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if level >= logging.ERROR:
            try:
                self.last_error = str(msg) % args if args else str(msg)
            except (TypeError, ValueError):
                self.last_error = str(msg)
            level = logging.WARNING  # reported once by our caller, not twice as an error
        super().log(level, msg, *args, **kwargs)


def connect(s: MqttSettings, identifier: str, *, timeout_s: float = 5.0,
            will: aiomqtt.Will | None = None, clean_session: bool | None = None,
            **kw: Any) -> aiomqtt.Client:
    """An ``aiomqtt.Client`` for ``s`` (use ``async with``); ``error_text(client, e)`` turns
    its failure into a sentence. Raises ``TlsConfigError`` for TLS files that cannot work."""
    catcher = _ErrorCatcher()
    client = aiomqtt.Client(s.host, s.port, username=s.username, password=s.password,
                            identifier=identifier, keepalive=s.keepalive_s, will=will,
                            clean_session=clean_session, tls_context=client_context(s),
                            timeout=timeout_s, logger=catcher, **kw)  # type: ignore[arg-type]
    client._fourbyfour_errors = catcher  # type: ignore[attr-defined]
    return client


def error_text(client: aiomqtt.Client | None, e: BaseException) -> str:
    """Why a connection failed, in one line: the TLS alert rather than "timed out"."""
    catcher = getattr(client, "_fourbyfour_errors", None)
    why = str(e) or type(e).__name__
    last = catcher.last_error if catcher is not None else ""
    if last and ("SSL" in last or "certificate" in last.lower()):
        detail = last.split(": ", 1)[-1]
        return f"TLS refused: {detail}"
    return why


class Backoff:
    """0.5 s, doubling to ``max_s``; ``reset()`` after a good connection."""

    def __init__(self, max_s: float = 30.0, first_s: float = 0.5) -> None:
        self.first_s, self.max_s = first_s, max_s
        self.next_s = first_s

    def reset(self) -> None:
        self.next_s = self.first_s

    def take(self) -> float:
        wait, self.next_s = self.next_s, min(self.next_s * 2, self.max_s)
        return wait


def _first(e: BaseException) -> BaseException:
    """The first exception in a (nested) group: the one a TaskGroup's body failed with."""
    while isinstance(e, BaseExceptionGroup):
        e = e.exceptions[0]
    return e


async def messages(client: aiomqtt.Client) -> AsyncIterator[aiomqtt.Message]:
    """``client.messages`` for our loops, ending with ``CancelledError`` once the task was
    asked to stop. Python 3.11's ``asyncio.wait_for`` drops a cancel that meets the
    completion it waits for, and aiomqtt's ``publish``/``subscribe`` wait so: a handler
    that published as the service stopped returned normally and the loop read on, for ever
    (the records server, 90 s in a test). Checked before the first message (a subscribe
    may have lost it) and before each next one."""
    raise_if_asked_to_stop()
    async for m in client.messages:
        yield m
        raise_if_asked_to_stop()


def raise_if_asked_to_stop() -> None:
    """Raise ``CancelledError`` when this task was cancelled, even if the cancel was lost
    on its way (see ``messages``)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def run_forever(settings: MqttSettings, identifier: str,
                      body: Callable[[aiomqtt.Client], Awaitable[object]], *,
                      who: str, log: logging.Logger,
                      on_down: Callable[[str], None] | None = None,
                      not_allowed: tuple[type[Exception], ...] = (),
                      also: tuple[type[Exception], ...] = (),
                      max_backoff_s: float | None = None, backoff: Backoff | None = None,
                      timeout_s: float = 5.0,
                      will: Callable[[], aiomqtt.Will] | None = None,
                      clean_session: bool | None = None) -> NoReturn:
    """Every long-running client's connect-and-retry loop: connect (``connect``), run
    ``body(client)`` while connected, and when the connection fails, is refused or is lost,
    wait the shared back-off (``Backoff``, up to ``settings.reconnect_max_s``) and connect
    again, for ever (until cancelled).

    Each failure is said in one sentence (``error_text``: a TLS refusal says so) to
    ``on_down`` (the client's own state: offline, the monitor's header, the strap guard's
    warning) and logged once as ``"<who>: cannot reach the broker host:port: why"`` — again
    only when it changes or after a connection that worked, so a broker down for a night
    leaves one line, not one per attempt.

    ``body`` raising one of ``not_allowed`` (connected, but the broker does not let the
    client do its job: an ACL) counts as a failure that does not reset the back-off; ``also``
    names further errors that mean "try again later" (besides aiomqtt's and the OS's).
    ``will`` is made anew for each connection (its payload carries the time); ``backoff``
    (a test's) replaces the shared one."""
    if backoff is None:
        backoff = Backoff(settings.reconnect_max_s if max_backoff_s is None else max_backoff_s)
    try_again: tuple[type[Exception], ...] = (aiomqtt.MqttError, OSError, *also)
    last_error = ""
    while True:
        client: aiomqtt.Client | None = None
        up = refused = False
        why = "the broker closed the connection"
        try:
            client = connect(settings, identifier, timeout_s=timeout_s,
                             will=will() if will is not None else None,
                             clean_session=clean_session)
            async with client:
                up = True
                await body(client)
        except* not_allowed as eg:
            why = str(_first(eg)) or type(_first(eg)).__name__
            up, refused = False, True  # connected but of no use: the back-off goes on growing
        except* try_again as eg:
            why = error_text(client, _first(eg))
        # asked to stop while the client's clean-up failed: stop, do not reconnect
        raise_if_asked_to_stop()
        if up or why != last_error:
            log.warning("%s: %s the broker %s:%s: %s", who,
                        "not allowed by" if refused else "cannot reach", settings.host,
                        settings.port, why)
        last_error = why
        if up:
            backoff.reset()  # the connection worked: start again from the shortest wait
        if on_down is not None:
            on_down(why)
        await asyncio.sleep(backoff.take())


__all__ = ["Backoff", "MqttSettings", "TlsConfigError", "client_id", "connect", "error_text",
           "messages", "raise_if_asked_to_stop", "run_forever"]
