"""The Pi's own safety inputs and the patient's cues, with gpiozero.

Wiring (BCM numbers from the config): the e-stop's monitor contact and the safety key are
normally-closed loops to ground with the Pi's pull-up, so *healthy* reads low. A pressed
e-stop, a pulled key **or a cut wire** reads high: tripped. (The hardware chain also cuts the
motor and incline power on its own; this is the Pi's second, independent stop path.)

    inputs = SafetyInputs(estop_pin=17, key_pin=27)          # pin_factory= for tests
    await inputs.wait_tripped(loop)                          # returns when either trips

Patient cues (the patient cannot read a screen while running): a buzzer and an RGB LED.
``cues_for`` is pure — set-point in, cues out — and ``PatientCues`` plays them: countdown beeps
in the last 10 s before a phase change (one a second for the last 3), a pattern per event
(interval starts: two long; recovery: one long; finished: three long; stopped: rapid), and the
LED's colour says below (blue), in (green) or above (red) the zone.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from controller.protocol import Setpoint

PATTERNS: dict[str, tuple[float, float, int]] = {
    # (on s, off s, times)
    "countdown": (0.08, 0.0, 1),
    "interval": (0.6, 0.25, 2),
    "recovery": (0.6, 0.0, 1),
    "finished": (0.6, 0.25, 3),
    "stopped": (0.1, 0.1, 6),
}
COLOURS = {"below": (0.0, 0.0, 1.0), "in": (0.0, 1.0, 0.0), "above": (1.0, 0.0, 0.0),
           "none": (0.0, 0.0, 0.0)}


@dataclass(frozen=True)
class Cues:
    beep: str | None
    led: str


def cues_for(sp: Setpoint, prev: Setpoint | None) -> Cues:
    """What the patient should hear and see for this tick (pure)."""
    beep = None
    kinds = {e.kind for e in sp.events}
    if "stop" in kinds:
        beep = "stopped"
    elif "stopping" in kinds:  # the plan ran out after the cool-down, or a fail-safe stop
        beep = "finished" if prev is not None and prev.phase == "cooldown" else "stopped"
    elif prev is not None and sp.phase != prev.phase and sp.phase in ("interval", "recovery"):
        beep = sp.phase
    elif prev is not None and sp.phase in ("warmup", "interval", "recovery") \
            and sp.state == "running" and int(sp.phase_remaining_s) != \
            int(prev.phase_remaining_s) and 0 < sp.phase_remaining_s <= 3.0:
        beep = "countdown"
    led = "none"
    if sp.hr_bpm is not None and sp.zone_low_bpm is not None and sp.zone_high_bpm is not None:
        led = "below" if sp.hr_bpm < sp.zone_low_bpm else \
            "above" if sp.hr_bpm > sp.zone_high_bpm else "in"
    return Cues(beep, led)


class SafetyInputs:
    """E-stop and safety key (see the module docstring for the wiring)."""

    def __init__(self, estop_pin: int, key_pin: int, *, pin_factory: Any = None) -> None:
        from gpiozero import Button

        self.estop = Button(estop_pin, pull_up=True, bounce_time=None, pin_factory=pin_factory)
        self.key = Button(key_pin, pull_up=True, bounce_time=None, pin_factory=pin_factory)

    @property
    def estop_healthy(self) -> bool:
        return bool(self.estop.is_pressed)

    @property
    def key_present(self) -> bool:
        return bool(self.key.is_pressed)

    def tripped(self) -> str | None:
        if not self.estop_healthy:
            return "e-stop pressed (or its wire is cut)"
        if not self.key_present:
            return "safety key pulled (or its wire is cut)"
        return None

    async def wait_tripped(self, poll_s: float = 0.05) -> str:
        """Return the reason as soon as either input trips. gpiozero's callbacks come from
        its own thread and cross only with ``call_soon_threadsafe``; a periodic poll backs
        them up in case an edge is missed."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()

        def fire() -> None:
            loop.call_soon_threadsafe(event.set)

        self.estop.when_released = fire
        self.key.when_released = fire
        try:
            while True:
                why = self.tripped()
                if why:
                    return why
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), poll_s)
                event.clear()
        finally:
            self.estop.when_released = None
            self.key.when_released = None

    def close(self) -> None:
        self.estop.close()
        self.key.close()


class PatientCues:
    """Buzzer and RGB LED, played from the set-points (best effort, never blocking)."""

    def __init__(self, buzzer_pin: int, led_pins: tuple[int, int, int], *,
                 pin_factory: Any = None) -> None:
        from gpiozero import RGBLED, Buzzer

        self.buzzer = Buzzer(buzzer_pin, pin_factory=pin_factory)
        self.led = RGBLED(*led_pins, pin_factory=pin_factory)
        self._prev: Setpoint | None = None
        self.played: list[str] = []

    def show(self, sp: Setpoint) -> Cues:
        cues = cues_for(sp, self._prev)
        self._prev = sp
        if cues.beep:
            on, off, n = PATTERNS[cues.beep]
            self.buzzer.beep(on_time=on, off_time=max(off, 0.01), n=n, background=True)
            self.played.append(cues.beep)
        self.led.color = COLOURS[cues.led]
        return cues

    def close(self) -> None:
        self.buzzer.close()
        self.led.close()
