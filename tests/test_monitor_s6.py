"""Issue 21, the last trial's monitor findings: the monitor as rendered (Pilot), a real
mosquitto where MQTT is involved."""

import asyncio

from controller.core import i18n
from tests.test_monitor import T0, Offline, rendered_row, running, settle


def test_no_pulse_number_beside_a_held_lost_pulse_on_the_monitor():
    """The trial: the monitor showed the telemetry's 150 beside «finner ikke pulsen …» while the
    console and the belt page showed none (core.pulse: no number while the session holds or
    slows for a lost heart rate). Once the session runs again the number is back."""
    now = [T0]

    async def main():
        app = Offline(lambda: now[0])
        async with app.run_test(size=(140, 24)) as pilot:
            for dev, state in (("tm-3", "hr_hold"), ("tm-4", "hr_slow"), ("tm-5", "running")):
                running(app, "oslo", dev, now=now[0], session=dev, state=state,
                        hr_bpm=150.0, zone_low_bpm=140.0, zone_high_bpm=160.0,
                        alarms=("hr_lost",))
            await settle(pilot, app)
            return [rendered_row(app, d) for d in ("tm-3", "tm-4", "tm-5")]

    i18n.set_language("nb")
    try:
        hold, slow, runs = asyncio.run(asyncio.wait_for(main(), 60))
    finally:
        i18n.set_language("en")
    for row in (hold, slow):
        assert "finner ikke pulsen" in row, row
        assert "150" not in row, row
    assert "150 ✓" in runs, runs


def _console_links_of_the_demo_service(tmp_path, config: str | None) -> str:
    """The console demo's way: the headless demo service as a subprocess (the command the
    console demo runs, ``demo_service_command``), the staff console on its socket (Pilot);
    the console's status line once the service has said its MQTT state."""
    import argparse
    import os
    import subprocess

    from textual.widgets import Static

    from controller.app.commands.demo_console import demo_service_command
    from controller.app.console import StaffConsole
    from tests.console_rig import wait_for

    sock = str(tmp_path / "control.sock")
    args = argparse.Namespace(speed=5.0, seed=2, category="typical", config=config,
                              lang="nb", patient=None)
    cmd = demo_service_command(args, sock, str(tmp_path / "sessions.db"))
    with open(tmp_path / "service.log", "wb") as out:
        service = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        async def main() -> str:
            await wait_for(lambda: os.path.exists(sock), 60)
            app = StaffConsole(sock)
            async with app.run_test(size=(80, 24)) as pilot:
                await wait_for(lambda: app.state.get("session_id"), 30)
                await asyncio.sleep(2.0)  # the publisher has tried (and failed) by now
                await pilot.pause()
                return str(app.query_one("#links", Static).render())

        i18n.set_language("nb")
        try:
            return asyncio.run(asyncio.wait_for(main(), 120))
        finally:
            i18n.set_language("en")
    finally:
        service.terminate()
        service.wait(30)


def test_the_demo_without_a_broker_says_nothing_alarming_about_mqtt(tmp_path):
    """The trial: «MQTT frakoblet» in every demo, which has no broker unless one is asked for.
    No broker configured: the console says central monitoring is not in use."""
    shown = _console_links_of_the_demo_service(tmp_path, None)
    assert "frakoblet" not in shown and "offline" not in shown, shown
    assert "sentral overvåking: ikke i bruk" in " ".join(shown.split()), shown


def test_a_configured_broker_out_of_reach_is_said_in_glossary_words(tmp_path):
    """A broker configured and out of reach: still said, in the glossary's words
    («MQTT-serveren», «mistet kontakt»/«ingen kontakt»), not «MQTT frakoblet»."""
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = tmp_path / "clinic.toml"
    cfg.write_text(f'language = "nb"\n\n[mqtt]\nhost = "127.0.0.1"\nport = {port}\n\n'
                   '[belt_view]\nport = 0\n')
    shown = " ".join(_console_links_of_the_demo_service(tmp_path, str(cfg)).split())
    assert "frakoblet" not in shown, shown
    assert "ingen kontakt med MQTT-serveren" in shown, shown
