"""Every MQTT client of ours is made by ``controller/net/mqtt.py`` (issue 25 item 2): no other
module under ``controller/`` constructs an MQTT client, builds a TLS context or writes its own
reconnect back-off, so an eighth hand-written connect-and-retry loop cannot come back.

Read from the source with ``ast``: a client made through an alias (``from aiomqtt import
Client as C``, ``import paho.mqtt.client as mqtt``) is caught as well as ``aiomqtt.Client(``.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import logging
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "controller"
DOOR = ROOT / "net" / "mqtt.py"
TLS = ROOT / "net" / "tls.py"

CLIENT_MODULES = ("aiomqtt", "paho.mqtt.client", "paho.mqtt", "gmqtt", "asyncio_mqtt")
CLIENT_NAMES = ("Client",)
TLS_CALLS = {("ssl", "create_default_context"), ("ssl", "SSLContext")}


def _aliases(tree: ast.Module) -> tuple[set[str], set[str], set[str]]:
    """(names bound to an MQTT client module, names bound to a Client class itself, names
    bound to the ssl module)."""
    modules: set[str] = set()
    classes: set[str] = set()
    ssl_names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name in CLIENT_MODULES or a.name.startswith("paho"):
                    modules.add(a.asname or a.name.split(".")[0])
                if a.name == "ssl":
                    ssl_names.add(a.asname or "ssl")
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                if (node.module in CLIENT_MODULES or node.module.startswith("paho")) and \
                        a.name in CLIENT_NAMES:
                    classes.add(a.asname or a.name)
                if node.module == "paho.mqtt" and a.name == "client":
                    modules.add(a.asname or a.name)
                if node.module == "ssl" and a.name in ("create_default_context", "SSLContext"):
                    classes.add(a.asname or a.name)  # a TLS context made by hand
    return modules, classes, ssl_names


def _dotted(node: ast.expr) -> list[str]:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return parts[::-1]


def offences(path: Path) -> list[str]:
    src = path.read_text(encoding="utf-8")
    tree = ast.parse(src, str(path))
    modules, classes, ssl_names = _aliases(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        if not name:
            continue
        where = f"{path.name if ROOT not in path.parents else path.relative_to(ROOT.parent)}" \
            f":{node.lineno}"
        if len(name) == 1 and name[0] in classes:
            found.append(f"{where}: {name[0]}(...)")
        elif len(name) >= 2 and name[0] in modules and name[-1] in CLIENT_NAMES:
            found.append(f"{where}: {'.'.join(name)}(...)")
        elif path != TLS and len(name) == 2 and name[0] in ssl_names and \
                ("ssl", name[1]) in TLS_CALLS:
            found.append(f"{where}: {'.'.join(name)}(...) (TLS belongs in net/tls.py)")
        # a hand-written back-off in an MQTT module: ``backoff = min(backoff * 2, ...)``
        # (the serial link and the straps' radios have their own, not ours to judge here)
        first = node.args[0] if node.args else None
        if (modules or classes) and name == ["min"] and isinstance(first, ast.BinOp) and \
                isinstance(first.op, ast.Mult) and "backoff" in ast.unparse(first).lower():
            found.append(f"{where}: {ast.unparse(node)} (use mqtt.Backoff)")
    return found


def test_only_net_mqtt_makes_an_mqtt_client():
    found = [o for p in sorted(ROOT.rglob("*.py")) if p != DOOR for o in offences(p)]
    assert found == [], "MQTT clients, TLS contexts or back-offs made outside " \
        "controller/net/mqtt.py:\n" + "\n".join(found)


def test_the_guard_itself_sees_each_way_of_making_a_client(tmp_path):
    """The scan is not blind: each spelling below is caught (the test that cannot fail is
    a defect)."""
    spellings = {
        "import aiomqtt\naiomqtt.Client('h')\n": 1,
        "from aiomqtt import Client as C\nC('h')\n": 1,
        "import paho.mqtt.client as mqtt\nmqtt.Client()\n": 1,
        "from paho.mqtt import client\nclient.Client()\n": 1,
        "import ssl\nssl.create_default_context()\n": 1,
        "import aiomqtt\nb = 0.5\nb = min(b * 2, 30.0)\n": 0,  # not named backoff
        "import aiomqtt\nbackoff = 0.5\nbackoff = min(backoff * 2, 30.0)\n": 1,
        "backoff = 0.5\nbackoff = min(backoff * 2, 30.0)\n": 0,  # no MQTT here: not ours
        "import aiomqtt\naiomqtt.Will('t', b'')\n": 0,
    }
    probe = tmp_path / "probe.py"
    for src, n in spellings.items():
        probe.write_text(src)
        assert len(offences(probe)) == n, src


# -- one connect-and-retry loop: ``mqtt.run_forever`` ---------------------------------------

DOOR_MODULE = "controller.net.mqtt"


def _door_names(tree: ast.Module) -> tuple[dict[str, str], set[str], bool]:
    """(local name → the door's function it is bound to, names bound to the door module,
    whether the module speaks MQTT at all)."""
    names: dict[str, str] = {}
    modules: set[str] = set()
    speaks = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == DOOR_MODULE:
                    modules.add(a.asname or a.name)
                    speaks = True
                if a.name in CLIENT_MODULES:
                    speaks = True
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == DOOR_MODULE:
                speaks = True
                for a in node.names:
                    names[a.asname or a.name] = a.name
            elif node.module == "controller.net":
                for a in node.names:
                    if a.name == "mqtt":
                        modules.add(a.asname or "mqtt")
                        speaks = True
            elif node.module in CLIENT_MODULES:
                speaks = True
    return names, modules, speaks


def _door_call(node: ast.AST, names: dict[str, str], modules: set[str]) -> str | None:
    """The door's function a call goes to (``connect``, ``Backoff`` …), else None."""
    if not isinstance(node, ast.Call):
        return None
    name = _dotted(node.func)
    if len(name) == 1 and name[0] in names:
        return names[name[0]]
    if len(name) >= 2 and ".".join(name[:-1]) in modules:
        return name[-1]
    return None


def retry_loops(path: Path) -> list[str]:
    """A connect-and-retry loop written outside ``net/mqtt.py``: the door's back-off made
    by hand, the door's ``connect`` called in a loop, or a loop that catches an MQTT error
    and sleeps (a retry on a client however it was made)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names, modules, speaks = _door_names(tree)
    if not speaks:
        return []
    found = []
    for node in ast.walk(tree):
        where = f"{path.name}:{getattr(node, 'lineno', 0)}"
        if _door_call(node, names, modules) == "Backoff":
            found.append(f"{where}: Backoff(...) (the back-off is run_forever's)")
        if not isinstance(node, (ast.While, ast.For, ast.AsyncFor)):
            continue
        inside = [n for stmt in node.body for n in ast.walk(stmt)]
        if any(_door_call(n, names, modules) == "connect" for n in inside):
            found.append(f"{where}: connect(...) in a loop (use mqtt.run_forever)")
        catches = any(isinstance(n, ast.ExceptHandler) and n.type is not None and
                      "MqttError" in ast.unparse(n.type) for n in inside)
        sleeps = any(isinstance(n, ast.Call) and _dotted(n.func)[-1:] == ["sleep"]
                     for n in inside)
        if catches and sleeps:
            found.append(f"{where}: a loop that catches MqttError and sleeps "
                         "(use mqtt.run_forever)")
    return found


def test_only_net_mqtt_writes_a_connect_and_retry_loop():
    found = [o for p in sorted(ROOT.rglob("*.py")) if p != DOOR for o in retry_loops(p)]
    assert found == [], "connect-and-retry loops written outside controller/net/mqtt.py " \
        "(use mqtt.run_forever):\n" + "\n".join(found)


def test_the_retry_loop_guard_sees_each_way_of_writing_one(tmp_path):
    spellings = {
        # the door's connect in a loop
        "from controller.net.mqtt import connect\nasync def f(s):\n    while True:\n"
        "        async with connect(s, 'x'):\n            pass\n": 1,
        "from controller.net import mqtt\nasync def f(s):\n    while True:\n"
        "        async with mqtt.connect(s, 'x'):\n            pass\n": 1,
        # a hand-made back-off
        "from controller.net.mqtt import Backoff as B\nb = B(30.0)\n": 1,
        # a retry on a client made elsewhere: catches the MQTT error and sleeps
        "import asyncio\nimport aiomqtt\nasync def f(make):\n    while True:\n        try:\n"
        "            async with make():\n                pass\n"
        "        except aiomqtt.MqttError:\n            pass\n"
        "        await asyncio.sleep(1)\n": 1,
        # one connection, no retry (the command tool): fine
        "from controller.net.mqtt import connect\nasync def f(s):\n"
        "    async with connect(s, 'x'):\n        pass\n": 0,
        # the one loop, used
        "from controller.net.mqtt import run_forever\nasync def f(s, body):\n"
        "    await run_forever(s, 'x', body, who='w', log=None)\n": 0,
        # a loop that is no MQTT module's (the serial link's own back-off)
        "import asyncio\nasync def f():\n    while True:\n        try:\n            pass\n"
        "        except OSError:\n            await asyncio.sleep(1)\n": 0,
    }
    probe = tmp_path / "probe.py"
    for src, n in spellings.items():
        probe.write_text(src)
        assert len(retry_loops(probe)) == n, (src, retry_loops(probe))


def test_run_forever_logs_a_refusal_once_and_backs_off_growing():
    """No broker on the port: every attempt fails the same way; ``on_down`` hears each one,
    the log says it once, and the waits grow (the shared back-off, never reset)."""
    from controller.net.mqtt import Backoff, MqttSettings, run_forever
    from tests.conftest import free_port

    s = MqttSettings(port=free_port())
    backoff = Backoff(max_s=0.2, first_s=0.02)
    downs: list[tuple[str, float]] = []
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    log = logging.getLogger("test.run_forever.refused")
    log.addHandler(Keep())

    async def body(client):  # pragma: no cover - never connected
        raise AssertionError("connected to nothing")

    async def main():
        task = asyncio.create_task(run_forever(
            s, "fourbyfour.test.refused", body, who="probe", log=log, backoff=backoff,
            timeout_s=1.0, on_down=lambda why: downs.append((why, backoff.next_s))))
        async with asyncio.timeout(20):
            while len(downs) < 5:
                await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert len(lines) == 1 and lines[0].startswith(f"probe: cannot reach the broker "
                                                   f"localhost:{s.port}: "), lines
    assert len({why for why, _ in downs}) == 1, downs
    assert [n for _, n in downs[:4]] == [0.02, 0.04, 0.08, 0.16], downs


def test_run_forever_starts_again_from_the_shortest_wait_after_a_good_connection(broker):
    """A connection that worked and was lost: logged every time, the back-off reset; a
    connection the broker lets do nothing (``not_allowed``): the back-off grows."""
    import aiomqtt

    from controller.net.mqtt import Backoff, MqttSettings, run_forever

    class Blind(Exception):
        pass

    async def run(raise_: BaseException) -> tuple[list[float], int]:
        backoff = Backoff(max_s=0.2, first_s=0.02)
        waits: list[float] = []
        lines: list[str] = []

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                lines.append(record.getMessage())

        log = logging.getLogger(f"test.run_forever.{type(raise_).__name__}")
        log.addHandler(Keep())

        async def body(client: aiomqtt.Client) -> None:
            await client.subscribe("fourbyfour/test", qos=0)  # really connected
            raise raise_

        task = asyncio.create_task(run_forever(
            MqttSettings(port=broker.port), f"fourbyfour.test.{type(raise_).__name__}", body,
            who="probe", log=log, backoff=backoff, not_allowed=(Blind,),
            on_down=lambda why: waits.append(backoff.next_s)))
        async with asyncio.timeout(20):
            while len(waits) < 4:
                await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return waits[:4], len(lines)

    lost, lost_lines = asyncio.run(run(aiomqtt.MqttError("lost")))
    blind, blind_lines = asyncio.run(run(Blind("the ACL says no")))
    assert lost == [0.02] * 4 and lost_lines >= 4, (lost, lost_lines)
    assert blind == [0.02, 0.04, 0.08, 0.16] and blind_lines == 1, (blind, blind_lines)
