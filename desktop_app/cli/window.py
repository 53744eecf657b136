"""``desktop-app window``: the counter's window, started from the command line."""

from __future__ import annotations

import argparse


def cmd_window(args: argparse.Namespace) -> int:
    from ..ui.app import main as window_main

    return window_main(
        (["--db", args.db] if args.db else [])
        + (["--demo"] if args.demo else [])
        + (["--self-test"] if args.self_test else [])
    )
