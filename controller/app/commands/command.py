"""``fourbyfour command``: a signed stop or alarm acknowledgement to a treadmill."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from controller.core.i18n import _
from controller.errors import exit_code


def command(args: argparse.Namespace) -> int:
    """Send one signed stop or acknowledgement to a treadmill's running session."""
    import asyncio
    import dataclasses

    from controller.core.text import clean
    from controller.net.remote import CommandError, send
    from controller.net.tls import TlsConfigError
    from controller.service.config import ConfigError, load

    try:
        cfg = load(args.config)
        secret = Path(args.key_file).read_bytes().strip()
        if len(secret) < 16:
            raise ConfigError(f"{args.key_file}: the key must be at least 16 bytes")
        settings = dataclasses.replace(cfg.mqtt, **{k: v for k, v in (
            ("host", args.host), ("port", args.port)) if v is not None})
        if args.action == "ack" and not args.alarm:
            raise ConfigError("ack needs --alarm KIND")
        session_id, done = asyncio.run(send(settings, args.site, args.device, secret,
                                            args.action, args.alarm, args.timeout))
    except CommandError as e:  # refused by the treadmill, or no answer: not carried out
        print(_("error: {reason}").format(reason=clean(e)), file=sys.stderr)
        return 1
    except (ConfigError, TlsConfigError, OSError) as e:
        print(_("error: {reason}").format(reason=e), file=sys.stderr)
        return exit_code(e, default=2)
    except Exception as e:  # aiomqtt.MqttError and friends: the broker said no
        print(_("error: {reason}").format(reason=f"{type(e).__name__}: {e}"), file=sys.stderr)
        return 1
    print(f"{args.site}/{args.device}, session {session_id}: {done}")
    return 0
