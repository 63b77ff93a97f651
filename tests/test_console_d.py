"""Smaller things a nurse sees in the console (issue 21 item 9): the MQTT link as it is, and
events in bokmål that keep their content."""

from __future__ import annotations

import asyncio
import dataclasses

from textual.widgets import Static

from controller.app.console import StaffConsole
from controller.app.demo import run_demo
from controller.core import i18n
from controller.net.publisher import MqttSettings
from controller.service.config import load
from tests.test_console import wait_for
from tests.test_runtime import SHORT


def test_mqtt_connected_is_shown_as_connected_before_start(tmp_path, broker):
    """Was "MQTT av" (off) while the service was connected to the MQTT server: the state
    said the link only once a session ran."""
    sock = tmp_path / "control.sock"
    cfg = dataclasses.replace(load(None), plan=SHORT, mqtt_enabled=True,
                              mqtt=MqttSettings(port=broker.port))

    async def main() -> str:
        service = asyncio.create_task(run_demo(cfg, speedup=5, seed=2, category="typical",
                                               use_mqtt=True, control_socket=str(sock)))
        await wait_for(sock.exists)
        app = StaffConsole(str(sock))
        async with app.run_test(size=(80, 24)):
            await wait_for(lambda: app.state.get("mqtt") == "online", 20)
            shown = str(app.query_one("#links", Static).render())
        service.cancel()
        return shown

    i18n.set_language("nb")
    try:
        shown = asyncio.run(asyncio.wait_for(main(), 90))
    finally:
        i18n.set_language("en")
    assert "MQTT tilkoblet" in shown, shown
