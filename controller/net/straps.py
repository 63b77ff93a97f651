"""Which straps the site's other treadmills have paired, from their retained ``meta``.

A strap is marked "in use" on the strap screen when another treadmill of the same site names
it in its retained ``meta`` document (``strap``). ``SiteStraps`` is the pure model (messages
in, device numbers out); ``watch`` feeds it from the broker and never stops on bad input.
"""

from __future__ import annotations

import asyncio
import logging
import ssl

import aiomqtt

from controller.hr import check_strap, strap_key
from controller.net import telemetry as tm
from controller.net.publisher import MqttSettings

_log = logging.getLogger(__name__)


class SiteStraps:
    """Straps paired on the site's other treadmills: ``in_use()`` → ``{key: treadmill}``,
    the key an ANT+ device number (int) or a BLE address (str, upper case)."""

    def __init__(self, site: str, device: str) -> None:
        self.site = site
        self.device = device
        self._by_device: dict[str, int | str] = {}

    def apply(self, topic: str, payload: bytes) -> None:
        try:
            site, device, kind, doc = tm.parse(topic, payload) if payload else \
                (*tm.split_topic(topic), {})
        except tm.PayloadError as e:
            _log.warning("ignored message: %s", e)
            return
        if site != self.site or device == self.device or kind not in ("meta", "status"):
            return
        strap = doc.get("strap") if kind == "meta" else None
        if kind == "status" and doc.get("state") != "offline":
            return
        try:
            self._by_device[device] = strap_key(check_strap(strap))
        except ValueError:  # no strap, an empty retained message, or the treadmill went offline
            self._by_device.pop(device, None)

    def in_use(self) -> dict[int | str, str]:
        return {n: d for d, n in self._by_device.items()}


async def watch(settings: MqttSettings, model: SiteStraps) -> None:
    """Subscribe to the site's ``meta`` and ``status`` documents; reconnect with back-off."""
    tls = ssl.create_default_context(cafile=settings.tls_ca_file) if settings.tls_ca_file \
        else None
    prefix = f"{tm.TOPIC_PREFIX}/{settings.site}/+"
    backoff = 0.5
    while True:
        try:
            async with aiomqtt.Client(settings.host, settings.port, username=settings.username,
                                      password=settings.password, tls_context=tls,
                                      identifier=f"fourbyfour-straps-{settings.device}") as c:
                backoff = 0.5
                await c.subscribe(f"{prefix}/meta", qos=1)
                await c.subscribe(f"{prefix}/status", qos=1)
                async for m in c.messages:
                    model.apply(str(m.topic), bytes(m.payload))
        except aiomqtt.MqttError:
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)
