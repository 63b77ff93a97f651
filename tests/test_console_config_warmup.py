"""The clinic's warm-up (config ``[plan] warmup_s``) is the warm-up of every 4x4 staff set up
at the console. The console's setup names the plan (4x4) but no warm-up, and the service took
600 s whatever IT had configured (the s6mon helper saw a config's 180 s run as about 5 min)."""

from __future__ import annotations

from controller.core.plan import PhaseKind
from tests.console_rig import demo_console, run_console
from tests.test_console_nurse import _choose


def test_a_4x4_set_up_at_the_console_has_the_configured_warm_up(tmp_path):
    rts: list = []

    async def main():
        async with demo_console(tmp_path, str(tmp_path / "s.db"), choose_patient=True,
                                setup_warmup_s=420.0,
                                on_ready=lambda rt, emu: rts.append(rt)) as (app, pilot):
            await _choose(pilot, app, "P-64")
            plan = rts[0].session.plan
            assert plan.name == "4x4", plan.name
            first = plan.phases[0]
            assert first.kind is PhaseKind.WARMUP and first.duration_s == 420.0, first

    run_console(main(), 90, lang="nb")
