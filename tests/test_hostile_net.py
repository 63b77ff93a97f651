"""The clinic network is not friendly (issue 24): the guards work under mutual TLS and the
example ACL, client ids cannot collide, replayed and refused commands stay refused, text from
the network never reaches a screen raw — each against a real mosquitto."""

import asyncio

import pytest

from controller.net import telemetry as tm
from controller.net.publisher import MqttPublisher, MqttSettings
from controller.net.remote import CommandError, Verifier, sign
from controller.net.straps import SiteStraps, watch

SECRET = b"0123456789abcdef0123"


async def until(pred, timeout_s=15.0):
    async with asyncio.timeout(timeout_s):
        while not pred():
            await asyncio.sleep(0.05)


def tls_settings(broker, cn, **kw):
    crt, key = broker.pki.cert(cn)
    return MqttSettings(host="localhost", port=broker.port, tls_ca_file=str(broker.pki.ca),
                        tls_cert_file=str(crt), tls_key_file=str(key), **kw)


# -- 1. the "strap in use on another treadmill" guard -----------------------------------------

def test_the_strap_guard_sees_a_neighbours_strap_under_mtls_and_the_example_acl(mtls_broker):
    """tm-1 publishes its meta naming strap 4242; tm-2's guard (its own certificate, the ACL
    as shipped) must see it in use."""
    async def main():
        tm1 = tls_settings(mtls_broker, "oslo/tm-1", site="oslo", device="tm-1")
        pub = MqttPublisher(tm1)
        pt = asyncio.create_task(pub.run())
        pub.set_retained("meta", tm.meta_payload("oslo", "tm-1", "0.1.0", "4x4",
                                                 {"kind": "ant", "device_number": 4242}))
        tm2 = tls_settings(mtls_broker, "oslo/tm-2", site="oslo", device="tm-2")
        pub2 = MqttPublisher(tm2)
        pt2 = asyncio.create_task(pub2.run())
        model = SiteStraps("oslo", "tm-2")
        assert model.problem is not None  # nothing seen yet: not "no strap in use"
        wt = asyncio.create_task(watch(tm2, model, proof_s=5.0))
        try:
            await until(lambda: model.in_use() and model.problem is None, 15)
            assert model.in_use() == {4242: "tm-1"}
        finally:
            for t in (wt, pt, pt2):
                t.cancel()

    asyncio.run(asyncio.wait_for(main(), 40))


def test_a_blind_strap_guard_says_so(mtls_broker):
    """Without its certificate the guard cannot connect: it says so (for the strap screen)
    instead of reporting "no strap in use"."""
    async def main():
        no_cert = MqttSettings(host="localhost", port=mtls_broker.port, site="oslo",
                               device="tm-2", tls_ca_file=str(mtls_broker.pki.ca))
        model = SiteStraps("oslo", "tm-2")
        wt = asyncio.create_task(watch(no_cert, model, connect_timeout_s=1.0))
        try:
            await until(lambda: model.problem is not None, 15)
        finally:
            wt.cancel()
        return model.problem

    problem = asyncio.run(asyncio.wait_for(main(), 30))
    assert "in use" in problem


def test_client_ids_are_unique_by_construction():
    from controller.net.mqtt import client_id

    assert client_id("straps", "oslo-tm", "1") != client_id("straps", "oslo", "tm-1")
    assert client_id("pub", "a", "b-c") != client_id("pub", "a-b", "c")
    ids = {client_id(role, s, d) for role in ("pub", "cmd", "straps", "records")
           for s, d in (("oslo-tm", "1"), ("oslo", "tm-1"), ("oslo_tm", "1"))}
    assert len(ids) == 12


def test_two_sites_whose_names_run_together_do_not_knock_each_other_off(broker):
    """site oslo-tm + device 1 and site oslo + device tm-1 publish at once for 3 s: neither
    connection is taken over by the other."""
    async def main():
        a = MqttPublisher(MqttSettings(port=broker.port, site="oslo-tm", device="1"))
        b = MqttPublisher(MqttSettings(port=broker.port, site="oslo", device="tm-1"))
        tasks = [asyncio.create_task(p.run()) for p in (a, b)]
        await asyncio.sleep(3.0)
        for t in tasks:
            t.cancel()

    asyncio.run(main())
    assert "already connected" not in broker.log.read_text()


# -- 7. a refused stop can end the next session -----------------------------------------------

def test_a_refused_signed_stop_cannot_be_replayed_after_start():
    running: list[str | None] = [None]
    v = Verifier(SECRET, site="oslo", device="tm-1", session_id=lambda: running[0],
                 clock=lambda: 1_000_000.0)
    early = sign(SECRET, "stop", site="oslo", device="tm-1", session_id="S1",
                 now_s=1_000_000.0, nonce="f" * 16)
    with pytest.raises(CommandError, match="no session is running"):
        v.check(early)
    running[0] = "S1"  # the session the stop names starts 5 s later: the same bytes again
    with pytest.raises(CommandError, match="replayed"):
        v.check(early)


def test_the_strap_screen_tells_staff_when_the_guard_is_blind(tmp_path):
    """The console's strap list (Pilot, real service on the control socket) says that straps in
    use elsewhere cannot be seen while the guard has no view of the site."""
    from textual.widgets import Static

    from controller.app.screens import StrapScreen
    from controller.devices.antstick import Strap
    from tests.strap_rig import console_on, press, sim_hub, strap_runtime
    from tests.test_console import wait_for
    from tests.test_runtime import reset_link

    hub = sim_hub([Strap(2000, lambda t: 100.0, rssi_dbm=-44)])
    site = SiteStraps("oslo", "tm-2")
    site.blind("TLS refused: tlsv13 alert certificate required")

    async def main():
        async with reset_link() as (_emu, tmc):
            rt = strap_runtime(hub, tmc, straps_in_use=site.in_use)
            rt.straps_guard = lambda: site.problem
            async with console_on(rt, str(tmp_path / "control.sock")) as (app, _pilot):
                await wait_for(lambda: app.state.get("session_id"))
                press(app, "b")
                await wait_for(lambda: isinstance(app.screen, StrapScreen))
                screen = app.screen

                def shown():
                    return " ".join(str(w.render()) for w in screen.query(Static))

                await wait_for(lambda: "cannot be seen" in shown())
                assert "certificate required" in shown()

    asyncio.run(asyncio.wait_for(main(), 90))
