"""Closed-loop 4x4 treadmill training: session core, control law, virtual patient."""
