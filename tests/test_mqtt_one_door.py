"""Every MQTT client of ours is made by ``controller/net/mqtt.py`` (issue 25 item 2): no other
module under ``controller/`` constructs an MQTT client, builds a TLS context or writes its own
reconnect back-off, so an eighth hand-written connect-and-retry loop cannot come back.

Read from the source with ``ast``: a client made through an alias (``from aiomqtt import
Client as C``, ``import paho.mqtt.client as mqtt``) is caught as well as ``aiomqtt.Client(``.
"""

from __future__ import annotations

import ast
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
