"""Pure rules: the control law, plans, HRmax, safety gates, workload, metrics and summaries.

Deterministic code with the clock passed in: no sleeping, sockets, threads or files. Nothing
here imports from any other layer of the package.
"""
