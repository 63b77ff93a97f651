"""Closed-loop 4x4 training: session core, control law, virtual patient."""

import sys as _sys

if _sys.argv[0].rsplit("/", 1)[-1] == "fourbyfour" or _sys.orig_argv[1:3] == ["-m",
                                                                            "controller"]:
    # the command line's process (the script ``fourbyfour``, ``python -m controller``): from
    # this first line of ours a Ctrl-C is noted, not raised mid-import (core/sigint.py)
    from controller.core.sigint import note_ctrl_c

    note_ctrl_c()
