"""``frozen_init`` (issue 23): the quicker ``__init__`` makes the object the dataclass's own
``__init__`` makes, for every way of calling it, and the object stays frozen."""

import dataclasses
import math

import pytest

from controller.core.control import ControlDecision, ControlInput
from controller.core.fastinit import frozen_init
from controller.core.hrgate import GateState, GateVerdict, HrReading
from controller.core.plan import PhaseKind
from controller.core.workload import WorkloadPath
from controller.protocol import Setpoint


def _plain(cls):
    """The same class as ``@dataclass(frozen=True)`` alone made it (its generated init)."""
    return dataclasses.dataclass(frozen=True)(
        type(cls.__name__, (), {"__annotations__": dict(cls.__annotations__),
                                **{f.name: f.default for f in dataclasses.fields(cls)
                                   if f.default is not dataclasses.MISSING}}))


def _same(a, b):
    assert list(vars(a).items()) == list(vars(b).items())


@pytest.mark.parametrize("cls,args,kwargs", [
    (HrReading, (3.0, 71.0), {}),
    (HrReading, (3.0,), {"hr_bpm": None, "beat_count": 4, "rr_ms": (800.0,), "contact": True}),
    (GateVerdict, (1.0, 70.0, "ok", GateState.TRACKING), {"beats_bpm": 71.0}),
    (ControlDecision, (5.0, 2.0), {}),
    (ControlDecision, (), {"speed_kmh": 5.0, "incline_pct": 2.0, "reachable_bpm": 150.0}),
    (ControlInput, (), {"now_s": 1.0, "dt_s": 1.0, "hr_bpm": None, "speed_kmh": 3.0,
                        "incline_pct": 0.0, "phase": PhaseKind.WARMUP, "phase_elapsed_s": 1.0,
                        "target_bpm": 100.0, "zone_low_bpm": 90.0, "zone_high_bpm": 110.0,
                        "path": WorkloadPath(1.5, 5.0, 6.0, 0.0, 8.0, 15.0),
                        "speed_sp_kmh": 3.0, "incline_sp_pct": 0.0, "new_phase": True}),
    (Setpoint, (1.0, 3.0, 0.0, "warmup", 0, 90.0, 110.0, 100.0, "running", 1.0, 599.0,
                72.0, "ok"), {"alarms": ("hr_lost",)}),
])
def test_the_quick_init_makes_what_the_dataclass_init_makes(cls, args, kwargs):
    got = cls(*args, **kwargs)
    want = _plain(cls)(*args, **kwargs)
    _same(got, want)
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.speed_kmh = 1.0  # every one of them refuses any attribute
    with pytest.raises(TypeError):
        cls(*args, **kwargs, no_such_field=1)


def test_defaults_factories_and_post_init():
    @frozen_init
    @dataclasses.dataclass(frozen=True)
    class Thing:
        a: float
        b: tuple[int, ...] = ()
        c: dict = dataclasses.field(default_factory=dict)

        def __post_init__(self):
            object.__setattr__(self, "a", math.floor(self.a))

    one, two = Thing(1.5), Thing(a=2.5, b=(1,))
    assert (one.a, one.b, one.c, two.a, two.b) == (1, (), {}, 2, (1,))
    assert one.c is not Thing(1.0).c  # a fresh dict each time, as the factory's
    assert Thing(1.0, c={"x": 1}) == Thing(1.0, (), {"x": 1})
    with pytest.raises(TypeError):
        Thing()

    @dataclasses.dataclass
    class Loose:
        a: float

    with pytest.raises(TypeError):
        frozen_init(Loose)  # only for frozen dataclasses
