"""Hardware and its emulations: the emulated ANT stick, the firmware emulator, GPIO."""
