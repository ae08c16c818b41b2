"""``nac-harness``: one console script, thin over the library.

Each sub-command lives in its own module under ``harness.cli`` and exposes
``register(subparsers)``; the module list below is the registry.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from mock_intune.errors import HarnessFailure, InputError, NacHarnessError

COMMAND_MODULES: tuple[str, ...] = (
    "mock_cmd",
    "simulate_cmd",
    "certify_cmd",
    "demo_cmd",
    "reference_nac_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nac-harness", description="Simulation and conformance harness for NAC integrations with Intune."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"nac-harness: error: {exc}", file=sys.stderr)
        return 2
    except HarnessFailure as exc:
        print(f"nac-harness: harness error: {exc}", file=sys.stderr)
        return 2
    except NacHarnessError as exc:
        print(f"nac-harness: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
