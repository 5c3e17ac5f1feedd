"""``koarena serve``: serve a site written by ``koarena report`` on 127.0.0.1."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from koarena.cli.commands import command_help
from koarena.errors import DataError
from koarena.report.serve import make_server

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve",
        help=command_help("serve"),
        description="Serve a directory written by 'koarena report' on 127.0.0.1 until Ctrl-C.",
    )
    p.add_argument("directory", type=Path, help="the site directory")
    p.add_argument(
        "--port", "-p", type=int, default=8000, help="port (default: 8000; 0 = any free)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not (args.directory / "index.html").is_file():
        raise DataError(f"{args.directory} has no index.html: write it with 'koarena report'")
    server = make_server(args.directory, args.port)
    host, port = server.server_address[:2]
    log.info("serving %s at http://%s:%d/ (Ctrl-C stops)", args.directory, host, port)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
