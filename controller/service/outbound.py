"""Outbound publishing to the central monitor (MQTT): the retained ``meta`` naming the paired
strap, events, telemetry and the retained ``session`` document. A collaborator of
``Runtime``; the publisher never blocks the control loop."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from controller.net import telemetry as tm
from controller.net.publisher import MqttPublisher
from controller.protocol import Setpoint

if TYPE_CHECKING:
    from controller.service.runtime import Runtime

_log = logging.getLogger("controller.service.runtime")  # the runtime's, as before the split

VERSION = "0.1.0"


class Outbound:
    def __init__(self, rt: Runtime, publisher: MqttPublisher | None) -> None:
        self.rt = rt
        self.publisher = publisher
        self._event_seq = 0
        self._telemetry_seq = 0

    def _publish_meta(self) -> None:
        """The retained ``meta`` names the paired strap, so the site's other treadmills can
        mark it as in use."""
        rt = self.rt
        if self.publisher is not None:
            plan = rt.session.plan if rt.session else None
            self.publisher.set_retained("meta", tm.meta_payload(
                self.publisher.s.site, self.publisher.s.device, VERSION,
                plan.name if plan else "", rt.strap,
                intervals=sum(1 for p in plan.phases if p.kind == "interval") if plan else None))

    def _publish(self, sp: Setpoint, speed: float, incline: float) -> None:
        rt = self.rt
        pub = self.publisher
        if pub is None:
            return
        for e in sp.events:
            pub.offer_event(tm.event_payload(rt.session_id, self._event_seq, e))
            self._event_seq += 1
        self._telemetry_seq += 1
        pub.set_activity("idle" if sp.state == "done" else "running")
        pub.offer_telemetry(tm.telemetry_payload(rt.session_id, self._telemetry_seq, sp,
                                                 speed, incline))
        if sp.events or self._telemetry_seq % 10 == 1:
            pub.set_retained("session", tm.session_payload(
                rt.session_id, rt.profile.pseudonym if rt.profile else "", sp,
                rt.summary, late_ticks=rt.late_ticks))
