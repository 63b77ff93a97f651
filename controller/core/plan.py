"""Session plans as data: the clinic 4x4, the 6-minute test, and the rules a plan must obey.

A plan is a list of phases. Closed-loop phases name a target and a zone as fractions of
HRmax; open-loop phases (the 6-minute test) name a fixed speed and incline. Plans are
editable (``Plan.from_dict`` reads what a config file or the console produces) and are
validated as a whole: a plan that makes no sense is refused with a message that names the
phase and the field, never repaired behind the clinician's back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from controller.errors import DataError


class PhaseKind(StrEnum):
    WARMUP = "warmup"
    INTERVAL = "interval"
    RECOVERY = "recovery"
    COOLDOWN = "cooldown"
    TEST = "test"


class PlanError(DataError):
    """A plan that cannot be run; the message says which phase and why (English, for logs
    and config files); ``code`` and ``params`` say it as data for a console."""

    def __init__(self, message: str, code: str = "invalid", **params: Any) -> None:
        super().__init__(message)
        self.code = code
        self.params: dict[str, Any] = params


@dataclass(frozen=True)
class PhaseSpec:
    """One phase. Fractions are of the patient's HRmax.

    ``target_frac`` is what the controller aims for; ``zone_low_frac``/``zone_high_frac`` the
    band shown to staff and scored. For open-loop phases ``target_frac`` is None and
    ``fixed_speed_kmh``/``fixed_incline_pct`` are used instead.
    """

    kind: PhaseKind
    duration_s: float
    target_frac: float | None = None
    zone_low_frac: float | None = None
    zone_high_frac: float | None = None
    min_incline_pct: float = 0.0
    fixed_speed_kmh: float | None = None
    fixed_incline_pct: float | None = None

    @property
    def closed_loop(self) -> bool:
        return self.target_frac is not None


@dataclass(frozen=True)
class Plan:
    name: str
    phases: tuple[PhaseSpec, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        validate(self)

    @property
    def total_s(self) -> float:
        return sum(p.duration_s for p in self.phases)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "phases": [
                {k: (str(v) if k == "kind" else v) for k, v in asdict(p).items() if v is not None}
                for p in self.phases
            ],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Plan:
        """Build a plan from plain data (TOML/JSON), with errors that name the bad field."""
        if not isinstance(data, dict):
            raise PlanError(f"a plan must be a table/object, got {type(data).__name__}")
        name = data.get("name", "custom")
        if not isinstance(name, str) or not name:
            raise PlanError("plan 'name' must be a non-empty string")
        raw = data.get("phases")
        if not isinstance(raw, list) or not raw:
            raise PlanError("plan 'phases' must be a non-empty list")
        known = set(PhaseSpec.__dataclass_fields__)
        phases = []
        for i, item in enumerate(raw, 1):
            if not isinstance(item, dict):
                raise PlanError(f"phase {i}: must be a table/object")
            unknown = set(item) - known
            if unknown:
                raise PlanError(f"phase {i}: unknown field(s) {', '.join(sorted(unknown))}")
            try:
                kind = PhaseKind(str(item.get("kind")))
            except ValueError:
                kinds = ", ".join(k.value for k in PhaseKind)
                raise PlanError(f"phase {i}: kind must be one of {kinds}") from None
            values: dict[str, Any] = {"kind": kind}
            for key in known - {"kind"}:
                if key in item:
                    v = item[key]
                    if isinstance(v, bool) or not isinstance(v, int | float):
                        raise PlanError(f"phase {i}: {key} must be a number, got {v!r}")
                    values[key] = float(v)
            if "duration_s" not in values:
                raise PlanError(f"phase {i}: duration_s is required")
            phases.append(PhaseSpec(**values))
        return cls(name=name, phases=tuple(phases))

    def with_phase(self, index: int, **changes: Any) -> Plan:
        """A copy with one phase edited (validated again)."""
        phases = list(self.phases)
        phases[index] = replace(phases[index], **changes)
        return Plan(self.name, tuple(phases))


MIN_INTERVAL_INCLINE_PCT = 5.0
"""The clinics' rule: intervals are done uphill, at least 5 %."""


def validate(plan: Plan) -> None:
    """Raise PlanError if ``plan`` cannot be run safely and sensibly."""
    if not plan.phases:
        raise PlanError(f"plan {plan.name!r} has no phases")
    if plan.total_s > 3 * 3600:
        raise PlanError(f"plan {plan.name!r} lasts {plan.total_s / 60:.0f} min; the limit is 180")
    has_interval = False
    for i, p in enumerate(plan.phases, 1):
        where = f"phase {i} ({p.kind})"
        if not 30 <= p.duration_s <= 3600:
            raise PlanError(f"{where}: duration_s must be 30–3600 s, got {p.duration_s:g}",
                            "plan_duration", phase=str(p.kind), low=30, high=3600,
                            seconds=p.duration_s)
        if not 0 <= p.min_incline_pct <= 25:
            raise PlanError(f"{where}: min_incline_pct must be 0–25 %, got {p.min_incline_pct:g}")
        if p.closed_loop:
            _validate_zone(where, p)
            if p.fixed_speed_kmh is not None or p.fixed_incline_pct is not None:
                raise PlanError(f"{where}: give either a target or a fixed speed, not both")
        else:
            if p.kind in (PhaseKind.INTERVAL, PhaseKind.RECOVERY):
                raise PlanError(f"{where}: intervals and recoveries need a target_frac")
            if p.fixed_speed_kmh is None:
                raise PlanError(f"{where}: an open-loop phase needs fixed_speed_kmh")
            if not 0.5 <= p.fixed_speed_kmh <= 20:
                raise PlanError(f"{where}: fixed_speed_kmh must be 0.5–20, got {p.fixed_speed_kmh}",
                                "plan_fixed_speed", phase=str(p.kind), low=0.5, high=20,
                                speed_kmh=p.fixed_speed_kmh)
            inc = p.fixed_incline_pct or 0.0
            if not 0 <= inc <= 25:
                raise PlanError(f"{where}: fixed_incline_pct must be 0–25 %, got {inc:g}",
                                "plan_fixed_incline", phase=str(p.kind), low=0, high=25,
                                incline_pct=inc)
        if p.kind is PhaseKind.INTERVAL:
            if not has_interval and not any(
                q.kind is PhaseKind.WARMUP for q in plan.phases[: i - 1]
            ):
                raise PlanError(f"{where}: the first interval must follow a warm-up")
            has_interval = True
            if p.min_incline_pct < MIN_INTERVAL_INCLINE_PCT:
                raise PlanError(
                    f"{where}: intervals are walked uphill, min_incline_pct must be ≥ "
                    f"{MIN_INTERVAL_INCLINE_PCT:g} %, got {p.min_incline_pct:g}"
                )
            if p.zone_low_frac is not None and p.zone_low_frac < 0.75:
                raise PlanError(f"{where}: an interval zone below 75 % HRmax is not an interval")
        after_interval = i > 1 and plan.phases[i - 2].kind is PhaseKind.INTERVAL
        if p.kind is PhaseKind.RECOVERY and not after_interval:
            raise PlanError(f"{where}: a recovery must follow an interval")
        if p.kind is PhaseKind.WARMUP and has_interval:
            raise PlanError(f"{where}: a warm-up cannot come after an interval")
    if has_interval and plan.phases[-1].kind is not PhaseKind.COOLDOWN:
        raise PlanError(f"plan {plan.name!r}: a plan with intervals must end with a cool-down")
    for i, p in enumerate(plan.phases, 1):
        if p.kind is PhaseKind.WARMUP and p.closed_loop and p.duration_s < 180 and has_interval:
            raise PlanError(f"phase {i} (warmup): warm up at least 3 min before intervals",
                            "plan_warmup_short")


def _validate_zone(where: str, p: PhaseSpec) -> None:
    t, lo, hi = p.target_frac, p.zone_low_frac, p.zone_high_frac
    assert t is not None
    if lo is None or hi is None:
        raise PlanError(f"{where}: a closed-loop phase needs zone_low_frac and zone_high_frac")
    if not 0.40 <= lo < t < hi <= 1.0:
        raise PlanError(
            f"{where}: need 0.40 ≤ zone_low_frac < target_frac < zone_high_frac ≤ 1.0, "
            f"got {lo:g} < {t:g} < {hi:g}"
        )


def warmup_s(plan: Plan, default_s: float = 600.0) -> float:
    """The plan's warm-up in seconds (a configured 4x4's, the clinic's choice), else
    ``default_s``."""
    first = plan.phases[0] if plan.phases else None
    return first.duration_s if first is not None and first.kind is PhaseKind.WARMUP \
        else default_s


def default_4x4(warmup_s: float = 600.0) -> Plan:
    """The clinic 4x4: warm-up, 4 × 4 min at 85–95 % with 3 min active pauses, cool-down.

    The intervals are walked uphill (at least 5 %, the clinics' rule); the active pauses may
    come down to the flat, so a walk at the floor is light enough for the heart to recover.
    """
    phases = [PhaseSpec(PhaseKind.WARMUP, warmup_s, 0.65, 0.60, 0.72)]
    for k in range(4):
        phases.append(PhaseSpec(PhaseKind.INTERVAL, 240.0, 0.90, 0.85, 0.95,
                                min_incline_pct=MIN_INTERVAL_INCLINE_PCT))
        if k < 3:
            # the pause walks on the flat when the heart asks for it: its load comes down by
            # the incline first, the speed stays a walk (issue 21, PAUSE_WALK_FLOOR_KMH)
            phases.append(PhaseSpec(PhaseKind.RECOVERY, 180.0, 0.70, 0.62, 0.77))
    phases.append(PhaseSpec(PhaseKind.COOLDOWN, 300.0, 0.60, 0.45, 0.70))
    return Plan("4x4", tuple(phases))


def six_minute_test(speed_kmh: float, incline_pct: float = 0.0) -> Plan:
    """Bergen's informal HRmax test: 6 min at a staff-chosen pace, then an easy cool-down."""
    return Plan(
        "6-minute test",
        (
            PhaseSpec(PhaseKind.WARMUP, 120.0, fixed_speed_kmh=min(speed_kmh, 3.5)),
            PhaseSpec(PhaseKind.TEST, 360.0, fixed_speed_kmh=speed_kmh,
                      fixed_incline_pct=incline_pct),
            PhaseSpec(PhaseKind.COOLDOWN, 180.0, 0.55, 0.40, 0.70),
        ),
    )
