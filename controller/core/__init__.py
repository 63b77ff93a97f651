"""Pure rules: the control law, plans, HRmax, safety gates, workload, metrics and summaries.

Deterministic code with the clock passed in: no sleeping, sockets, threads or files. Nothing
here imports from any other layer of the package. The one file read is at import: which build
of the hot modules runs (``compiled``).
"""

from pathlib import Path as _Path

from controller.core import compiled as _compiled

# the compiled control law, gate and workload model only where built from these very sources
_compiled.choose(_Path(__file__).parent)
