"""``fourbyfour monitor``: the central monitor of every treadmill on the broker."""

from __future__ import annotations

import argparse
import sys

from controller.app.commands.language import _config_in_its_language
from controller.core.i18n import _
from controller.errors import EX_CONFIG


def monitor(args: argparse.Namespace) -> int:
    """The central monitor; a crash exits non-zero (Textual keeps the code in return_code)."""
    cfg = _config_in_its_language(args.config)
    if cfg is None:
        return EX_CONFIG
    from controller.app.monitor import CentralMonitor  # after the language is chosen
    from controller.net.tls import TlsConfigError, client_context

    try:  # a certificate or key that cannot be loaded: one line, not a traceback
        client_context(cfg.mqtt)
    except TlsConfigError as e:
        print(_("error: {reason}").format(reason=e), file=sys.stderr)
        return 2
    app = CentralMonitor(cfg.mqtt, command_key=cfg.monitor_key)
    app.run(headless=args.headless)
    return app.return_code or 0
