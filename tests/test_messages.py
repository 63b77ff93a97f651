"""The typed contract between the staff console and the service: commands parsed into
dataclasses, replies with the request's id, refusals as codes the console renders in its
own language — never an English sentence recognised by its first words."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from controller.app import texts
from controller.core import i18n, interlock
from controller.core.refusals import REFUSALS, refusal_text
from controller.protocol import SessionError
from controller.service import messages as m
from tests.console_rig import demo_console, run_console, start_session, wait_for

ROOT = Path(__file__).resolve().parents[1] / "controller"


def _sample(field: str) -> object:
    return {"state": "paused", "alarm": "hr_lost", "board": "running", "command": "extend",
            "field": "seconds", "strap": "#3131", "treadmill": "tm-2",
            "pseudonym": "P-17", "fault": "estop", "detail": "x"}.get(field, 2.5)


def test_every_refusal_code_has_a_bokmal_rendering_with_its_parameters():
    for code, template in REFUSALS.items():
        names = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        params = {n: _sample(n) for n in names}
        nb, en = refusal_text(code, params, "nb"), refusal_text(code, params, "en")
        assert nb and "{" not in nb, (code, nb)
        if code != "invalid":  # its text is the check's own
            assert nb != en, f"{code}: no bokmål for {template!r}"
    assert refusal_text("adjust_speed_step", {"step_kmh": 0.5}, "nb") == \
        "Farten kan endres med høyst 0,5 km/t per trykk."  # numbers in the language
    assert "venter på puls" in refusal_text("not_now", {"state": "hr_hold"}, "nb")


def _codes_raised() -> set[str]:
    """Every literal code the package refuses with: ``refused("…")`` calls, and the start
    checks' codes (returned as strings or kept in tables)."""
    found: set[str] = set()
    for path in ROOT.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and \
                    getattr(node.func, "id", "") in ("refused", "Refusal") \
                    and node.args and isinstance(node.args[0], ast.Constant):
                found.add(node.args[0].value)
            if isinstance(node, ast.Return) and node.value is not None:  # start checks
                value = node.value.elts[0] if isinstance(node.value, ast.Tuple) else \
                    node.value
                if isinstance(value, ast.Constant) and str(value.value).startswith("start_"):
                    found.add(value.value)
    return found | set(interlock._REFUSALS.values())


def test_every_code_the_service_refuses_with_is_in_the_table():
    raised = _codes_raised()
    assert len(raised) > 30, raised
    assert raised <= set(REFUSALS), sorted(raised - set(REFUSALS))


def test_commands_are_parsed_into_their_types_or_refused_with_a_code():
    cmd = m.parse({"cmd": "extend", "id": 7, "seconds": 90})
    assert cmd == m.Extend(id=7, seconds=90.0) and isinstance(cmd, m.Command)
    assert m.parse({"cmd": "pair", "strap": {"kind": "ant"}, "confirm_in_use": "yes"}) == \
        m.Pair(strap={"kind": "ant"}, confirm_in_use=False)  # only an explicit true
    for doc, code in (({"cmd": "extend", "seconds": True}, "bad_field"),
                      ({"cmd": "extend", "seconds": float("nan")}, "bad_field"),
                      ({"cmd": "borg", "interval": 1}, "bad_field"),
                      ({"cmd": "note", "text": 3}, "bad_field"),
                      ({"cmd": "patient"}, "bad_field"),
                      ({"cmd": "patient", "pseudonym": 17}, "bad_field"),
                      ({"cmd": "dance"}, "unknown_command"), ([1, 2], "bad_command"),
                      ({"cmd": "stop", "id": [1]}, "bad_field")):
        with pytest.raises(SessionError) as e:
            m.parse(doc)
        assert e.value.code == code, (doc, e.value.code)
    assert set(m.COMMANDS) == {"start", "pause", "resume", "skip", "stop", "extend", "ack",
                               "setup", "scan", "pair", "borg", "note", "adjust", "rpe",
                               "hrmax", "history", "profile", "patient", "export",
                               "sessions", "demo_reset"}
    assert m.parse({"cmd": "patient", "id": 3, "pseudonym": "P-17"}) == \
        m.Patient(id=3, pseudonym="P-17")  # the register's profile for the form (h21form)


def test_a_reply_carries_the_request_id_and_the_refusal_as_data():
    r = m.Reply.refusal("extend", 4, SessionError("x", "extend_limit"))
    assert r.to_wire() == {"reply": "extend", "ok": False, "id": 4, "error": "x",
                           "code": "extend_limit", "params": {}}
    assert m.Reply.done(m.Scan(id=5), straps=[]).to_wire() == \
        {"reply": "scan", "ok": True, "id": 5, "straps": []}


@pytest.mark.realtime
def test_a_refusal_reaches_a_bokmal_console_in_bokmal(tmp_path):
    """`+` (the 6-minute test's speed key) in a 4x4 session: the service refuses; the bokmål
    console showed the English sentence ("speed and incline can be adjusted only …")."""
    async def main() -> tuple[str, dict]:
        async with demo_console(tmp_path) as (app, pilot):
            await start_session(pilot, 60)
            await pilot.press("plus")
            # the refusal as one bokmål sentence (h21foot: no "justering avvist:" label)
            await wait_for(lambda: "Fart og stigning kan bare endres" in app.message)
            shown = app.message
            reply = await app.client.command("extend", seconds=900)
            await pilot.press("x", "j")
        return shown, reply

    shown, reply = run_console(main(), 120, "nb")
    assert "Fart og stigning kan bare endres i testdelen" in shown, shown
    assert "adjust" not in shown and "speed" not in shown, shown  # no English, no raw key
    assert reply["code"] == "extend_limit" and isinstance(reply["id"], int)
    i18n.set_language("nb")
    try:
        assert texts.reply_text(reply).startswith("En del kan forlenges")
    finally:
        i18n.set_language("en")
