"""Which straps the site's other treadmills have paired, from their retained ``meta``.

A strap is marked "in use" on the strap screen when another treadmill of the same site names
it in its retained ``meta`` document (``strap``). ``SiteStraps`` is the pure model (messages
in, device numbers out); ``watch`` feeds it from the broker and never stops on bad input.
"""

from __future__ import annotations

import asyncio
import logging

import aiomqtt

from controller.core.i18n import _
from controller.core.text import clean
from controller.hr import check_strap, strap_key
from controller.net import telemetry as tm
from controller.net.mqtt import MqttSettings, client_id, messages, run_forever
from controller.net.tls import TlsConfigError

_log = logging.getLogger(__name__)


class SiteStraps:
    """Straps paired on the site's other treadmills: ``in_use()`` → ``{key: treadmill}``,
    the key an ANT+ device number (int) or a BLE address (str, upper case)."""

    def __init__(self, site: str, device: str) -> None:
        self.site = site
        self.device = device
        self._by_device: dict[str, int | str] = {}
        self.problem: str | None = _(
            "Straps in use on other treadmills cannot be seen: {why}").format(
            why=_("not connected to the broker yet"))
        """Why the guard cannot see the other treadmills' straps now (None: it can)."""
        self.subscribed = False
        """Connected and subscribed; the guard counts as seeing once this treadmill's own
        retained status comes back through the subscription (proof the ACL lets it read the
        site's documents — mosquitto grants a subscription the ACL then filters silently)."""

    def blind(self, why: str | None, *, logged: bool = False) -> None:
        """The guard cannot (``why``) or can again (None) see the site's straps; ``logged``:
        the MQTT loop has logged the reason already (``mqtt.run_forever``)."""
        if why is not None:
            why = _("Straps in use on other treadmills cannot be seen: {why}").format(why=why)
            if why != self.problem and not logged:
                _log.warning("strap guard: %s", why)
        elif self.problem is not None:
            _log.info("strap guard: sees the site's other treadmills")
        self.problem = why

    def apply(self, topic: str, payload: bytes) -> None:
        try:
            site, device, kind, doc = tm.parse(topic, payload) if payload else \
                (*tm.split_topic(topic), {})
        except tm.PayloadError as e:
            _log.warning("ignored message: %s", clean(e, 300))
            return
        if site == self.site and device == self.device and kind == "status" and \
                self.subscribed and self.problem is not None:
            self.blind(None)  # our own retained status came back: the broker lets us read
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


async def watch(settings: MqttSettings, model: SiteStraps, *,
                connect_timeout_s: float = 5.0, proof_s: float = 15.0) -> None:
    """Subscribe to the site's ``meta`` and ``status`` documents with this treadmill's own
    credentials and certificate (``mqtt.connect``); reconnect with back-off. While it cannot
    see them (no connection, a refused subscription) ``model.problem`` says so and a warning
    is logged: a blind guard must never look like "no strap in use"."""
    prefix = f"{tm.TOPIC_PREFIX}/{settings.site}/+"

    async def see(c: aiomqtt.Client) -> None:
        granted = await c.subscribe([(f"{prefix}/meta", 1), (f"{prefix}/status", 1)])
        if any(_refused(g) for g in granted):
            raise GuardBlind("the broker refused the subscription to the site's "
                             "meta/status (its ACL)")
        model.subscribed = True
        model.blind(_("connected, waiting for this treadmill's own status"))

        async def no_proof() -> None:
            await asyncio.sleep(proof_s)
            if model.problem is not None:
                model.blind(_("the broker passes on no status of this site, not even "
                              "this treadmill's own (its ACL must let treadmills read "
                              "clinic/v1/+/+/meta and status)"))

        proof = asyncio.create_task(no_proof())
        try:
            async for m in messages(c):
                model.apply(str(m.topic), bytes(m.payload))
        finally:
            proof.cancel()
            model.subscribed = False

    await run_forever(settings, client_id("straps", settings.site, settings.device), see,
                      who="strap guard", log=_log,
                      on_down=lambda why: model.blind(why, logged=True),
                      not_allowed=(GuardBlind,), also=(TlsConfigError,),
                      timeout_s=connect_timeout_s)


class GuardBlind(Exception):
    """The guard is connected but may not read what it needs."""


def _refused(granted: object) -> bool:
    code = getattr(granted, "value", granted)
    return isinstance(code, int) and code >= 0x80
