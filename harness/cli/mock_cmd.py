"""``nac-harness mock …``: serve the mock Intune and talk to its admin API."""

from __future__ import annotations

import argparse
import importlib
import importlib.util

from mock_intune import serve as serving

ADMIN_VERBS_MODULE = "harness.cli.mock_admin_cmd"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("mock", help="serve the mock Intune and use its admin API")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    serve = verbs.add_parser(
        "serve",
        help="serve the mock over HTTPS with gunicorn",
        description="Serve the mock Intune over HTTPS (gunicorn, several workers). The CA, server and "
        "client certificates and the SQLite state live in --state-dir and survive a restart.",
    )
    serving.add_arguments(serve)
    serve.set_defaults(func=serving.run)
    if importlib.util.find_spec(ADMIN_VERBS_MODULE) is not None:
        importlib.import_module(ADMIN_VERBS_MODULE).register_verbs(verbs)
