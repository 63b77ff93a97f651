"""``fourbyfour run``: the control service on real hardware (systemd's unit runs it)."""

from __future__ import annotations

import argparse
import sys

from controller.errors import EX_CONFIG, exit_code


def _service_error(e: BaseException) -> None:
    """The one line a service ends with; under systemd, journald files it as an error."""
    from controller.service.journal import under_journal

    print(f"{'<3>' if under_journal() else ''}error: {e}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from controller.core.i18n import set_language
    from controller.service.config import ConfigError, load
    from controller.service.journal import setup_logging
    from controller.service.service import run_service
    from controller.treadmill import LinkDown

    setup_logging(logging.INFO)
    try:
        cfg = load(args.config)
        set_language(cfg.language)  # reports and refusals in the clinic's language
        asyncio.run(run_service(cfg))
    except ConfigError as e:  # a restart cannot mend it: RestartPreventExitStatus=78
        _service_error(e)
        return EX_CONFIG
    except LinkDown as e:  # the port may come back: systemd restarts the service
        _service_error(e)
        return exit_code(e)
    except KeyboardInterrupt:
        return 0
    return 0
