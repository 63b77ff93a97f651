"""A cancel lost inside aiomqtt must not keep a client of ours running (issue 25.7).

Under Python 3.11 ``asyncio.wait_for`` returns the result and drops a cancel that arrives in
the same loop step as the awaited thing completes; aiomqtt's ``publish`` (qos 1) waits for
its acknowledgement with it. The records server's message loop published an ack as the
test's cancel came, the cancel was lost, and the server read messages on for 90 s
(``test_records_hostile``, a full run). Our loops read messages through
``net.mqtt.messages``, which ends the loop once the task was asked to stop."""

from __future__ import annotations

import asyncio

import aiomqtt
import pytest

from controller.net.mqtt import MqttSettings, messages, run_forever


async def swallow_a_cancel() -> None:
    """What Python 3.11's ``wait_for`` does when the cancel and the completion meet."""
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    loop.call_soon(fut.set_result, None)
    task = asyncio.current_task()
    assert task is not None
    task.cancel()
    await asyncio.wait_for(fut, 5)  # returns: the cancel is gone, cancelling() stays 1


def test_the_wait_for_of_this_python_drops_a_cancel_as_described():
    async def main() -> bool:
        await swallow_a_cancel()
        task = asyncio.current_task()
        return task is not None and task.cancelling() > 0

    try:
        still_asked = asyncio.run(main())
    except asyncio.CancelledError:
        pytest.skip("this Python's wait_for keeps the cancel (3.12+)")
    assert still_asked


def test_a_loop_whose_cancel_was_lost_in_a_handler_stops_at_the_next_message(broker):
    settings = MqttSettings(port=broker.port)
    handled: list[bytes] = []

    async def body(client: aiomqtt.Client) -> None:
        await client.subscribe("t/lost-cancel", qos=1)
        for payload in (b"1", b"2", b"3"):
            await client.publish("t/lost-cancel", payload, qos=1)
        async for m in messages(client):
            handled.append(bytes(m.payload))
            if len(handled) == 1:
                await swallow_a_cancel()  # aiomqtt's publish ack meeting the cancel

    async def main() -> None:
        task = asyncio.create_task(run_forever(settings, "lost-cancel", body, who="test",
                                               log=__import__("logging").getLogger("t")))
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 20)

    asyncio.run(main())
    assert handled == [b"1"], handled


def test_every_message_loop_of_ours_reads_through_messages():
    """A loop over ``client.messages`` written anew would lose the guard."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "controller"
    bare = []
    for path in root.rglob("*.py"):
        if path.name == "mqtt.py" and path.parent.name == "net":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.AsyncFor) and isinstance(node.iter, ast.Attribute)
                    and node.iter.attr == "messages"):
                bare.append(f"{path.relative_to(root.parent)}:{node.lineno}")
    assert bare == [], bare
