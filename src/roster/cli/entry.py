"""The ``roster`` script's entry point.

It imports nothing beyond the standard library until it has checked that the
server extra is installed, so that an SDK-only install gets a clear message
instead of a traceback.
"""

from __future__ import annotations

import importlib.util
import sys


def main() -> None:
    missing = [
        name
        for name in ("click", "rich", "sqlalchemy", "fastapi")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        sys.stderr.write(
            "roster: error: the command-line tool needs the server extra, which "
            f"is not installed (missing: {', '.join(missing)}); install it with "
            "pip install 'orgroster[server]'\n"
        )
        sys.exit(1)

    from roster.cli.main import main as run

    run()
