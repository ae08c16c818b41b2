"""``nac-harness mock …``: serve the mock Intune and talk to its admin API."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("mock", help="serve the mock Intune and use its admin API")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    serve = verbs.add_parser("serve", help="serve the mock over HTTPS with gunicorn")
    serve.set_defaults(func=_not_yet)


def _not_yet(args: argparse.Namespace) -> int:
    raise NotImplementedError
