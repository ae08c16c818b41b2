"""``nac-harness mock devices|device|calls|settings|faults|reset``: the admin API at a terminal.

Talks HTTPS to a served mock (``--url``, ``--admin-token``, ``--ca-file``; defaults from
``MOCK_INTUNE_URL`` / ``MOCK_INTUNE_ADMIN_TOKEN`` / ``MOCK_INTUNE_CA_FILE``, else the state
directory of ``nac-harness mock serve``). Tables are drawn with rich; ``--format json`` prints the
admin API's JSON instead. Every failure is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from mock_intune.errors import ConfigError, HarnessFailure, InputError
from mock_intune.model import ComplianceState, Surface
from mock_intune.seed import load_document, parse_devices

from .mock_admin_client import DEFAULT_STATE_DIR, DEFAULT_URL, AdminClient, client_for

ACTIONS = ("enroll", "retire", "check-in", "evaluate", "portal-visit")
SEED_BATCH = 1000
"""Devices per request when ``devices add`` seeds a large document."""


# -- wiring ------------------------------------------------------------------------------------------
def _connection_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("connection")
    group.add_argument("--url", help=f"the served mock (env MOCK_INTUNE_URL; default {DEFAULT_URL})")
    group.add_argument(
        "--admin-token", help="admin token (env MOCK_INTUNE_ADMIN_TOKEN; default the mock's default)"
    )
    group.add_argument("--ca-file", help="CA to trust (env MOCK_INTUNE_CA_FILE; default STATE_DIR/ca.pem)")
    group.add_argument(
        "--state-dir", default=None, help=f"state directory of 'mock serve' (default {DEFAULT_STATE_DIR})"
    )
    group.add_argument(
        "--format", choices=["table", "json"], default="table", help="print tables (default) or JSON"
    )
    return common


def register_verbs(verbs: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the admin verbs to the ``nac-harness mock`` sub-parsers."""
    common = _connection_options()

    devices = verbs.add_parser("devices", help="list or add devices")
    dsub = devices.add_subparsers(dest="devices_verb", required=True, metavar="VERB")
    p = dsub.add_parser("list", parents=[common], help="list devices with their effective state")
    p.add_argument("--state", choices=[s.value for s in ComplianceState], help="only this effective state")
    p.add_argument("--managed", choices=["true", "false"], help="only enrolled / unenrolled devices")
    p.set_defaults(func=_devices_list)
    p = dsub.add_parser("add", parents=[common], help="seed devices from a JSON or YAML file (or --json)")
    p.add_argument("file", nargs="?", help="seed document (.json, .yaml); '-' reads stdin")
    p.add_argument("--json", dest="doc", metavar="DOC", help="the seed document inline, as JSON")
    p.set_defaults(func=_devices_add)

    device = verbs.add_parser("device", help="show or change one device")
    ssub = device.add_subparsers(dest="device_verb", required=True, metavar="VERB")
    p = ssub.add_parser("show", parents=[common], help="one device")
    p.add_argument("id")
    p.set_defaults(func=_device_show)
    p = ssub.add_parser("set-state", parents=[common], help="override Intune's evaluated compliance state")
    p.add_argument("id")
    p.add_argument("state", choices=[s.value for s in ComplianceState])
    p.set_defaults(func=_device_set_state)
    p = ssub.add_parser("posture", parents=[common], help="what the device really is (seen at next check-in)")
    p.add_argument("id")
    p.add_argument("posture", choices=["compliant", "noncompliant"])
    p.add_argument("--check-in", action="store_true", help="check the device in right away")
    p.set_defaults(func=_device_posture)
    for action in ACTIONS:
        p = ssub.add_parser(action, parents=[common], help=f"{action} the device")
        p.add_argument("id")
        p.set_defaults(func=_device_action, action=action)

    p = verbs.add_parser("calls", parents=[common], help="print (or tail) the NAC call log")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing new calls until Ctrl-C")
    p.add_argument("--surface", choices=[s.value for s in Surface if s is not Surface.ADMIN])
    p.add_argument("--after", type=int, default=0, help="only calls after this sequence number")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between polls with --follow")
    p.add_argument("--max-calls", type=int, default=None, help="stop after printing this many calls")
    p.set_defaults(func=_calls)

    surfaces = [s.value for s in Surface if s is not Surface.ADMIN]
    faults = verbs.add_parser("faults", help="show, set or clear fault injection per surface")
    fsub = faults.add_subparsers(dest="faults_verb", required=True, metavar="VERB")
    p = fsub.add_parser("show", parents=[common], help="the faults in force")
    p.set_defaults(func=_faults_show)
    p = fsub.add_parser("set", parents=[common], help="set the faults of one surface")
    p.add_argument("surface", choices=surfaces)
    p.add_argument(
        "spec", metavar="SPEC", help='fault spec as JSON, e.g. \'{"error_rate": 0.2, "error_status": 503}\''
    )
    p.set_defaults(func=_faults_set)
    p = fsub.add_parser("clear", parents=[common], help="clear the faults of one surface")
    p.add_argument("surface", choices=surfaces)
    p.set_defaults(func=_faults_clear)

    p = verbs.add_parser("reset", parents=[common], help="forget devices, calls, faults and throttling")
    p.add_argument("--yes", action="store_true", help="really reset (required)")
    p.set_defaults(func=_reset)

    settings = verbs.add_parser("settings", help="show or change the tenant's compliance settings")
    tsub = settings.add_subparsers(dest="settings_verb", required=True, metavar="VERB")
    p = tsub.add_parser("show", parents=[common], help="the tenant settings")
    p.set_defaults(func=_settings_show)
    p = tsub.add_parser("set", parents=[common], help="change tenant settings")
    p.add_argument("--no-policy-mark", choices=["compliant", "noncompliant"])
    p.add_argument("--validity-days", type=int, help="compliance status validity period, 1..120")
    p.add_argument("--grace-period-hours", type=float)
    p.set_defaults(func=_settings_set)


def _run(args: argparse.Namespace, body: Callable[[AdminClient, Console], int]) -> int:
    client = client_for(args)
    try:
        return body(client, Console(highlight=False, soft_wrap=False))
    except (KeyError, TypeError, IndexError) as exc:
        raise HarnessFailure(
            f"{client.url} answered something that is not the mock's admin API ({type(exc).__name__}: {exc})"
        ) from None
    finally:
        client.close()


def _print_json(console: Console, data: Any) -> None:
    console.print_json(json.dumps(data))


# -- devices --------------------------------------------------------------------------------------
def _device_table(devices: list[dict[str, Any]]) -> Table:
    table = Table("intune id", "name", "OS", "wi-fi MAC", "managed", "state", "posture", "last sync")
    for d in devices:
        state = d["effective_state"]
        colour = "green" if d["compliant"] else "red" if d["managed"] else "dim"
        table.add_row(
            d["intune_id"],
            d["device_name"] or "-",
            d["operating_system"],
            d["wifi_mac"] or "-",
            "yes" if d["managed"] else "no",
            f"[{colour}]{state}[/{colour}]",
            "compliant" if d["posture_compliant"] else "noncompliant",
            (d["last_sync_at"] or "-")[:19],
        )
    return table


def _devices_list(args: argparse.Namespace) -> int:
    params = {k: v for k, v in (("state", args.state), ("managed", args.managed)) if v}

    def body(client: AdminClient, console: Console) -> int:
        data = client.request("GET", "/admin/devices", params={**params, "limit": "100000"})
        if args.format == "json":
            _print_json(console, data)
        else:
            console.print(_device_table(data["devices"]))
            console.print(f"{data['count']} device(s)")
        return 0

    return _run(args, body)


def _devices_add(args: argparse.Namespace) -> int:
    if (args.file is None) == (args.doc is None):
        raise InputError("give a seed FILE or --json DOC (one of them)", where="devices add")
    if args.doc is not None:
        source, text, fmt = "--json", args.doc, "json"
    elif args.file == "-":
        source, text, fmt = "stdin", sys.stdin.read(), None
    else:
        path = Path(args.file)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError("no such file", where=args.file) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read: {exc}", where=args.file) from None
        source = args.file
        fmt = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}.get(path.suffix.lower())
    doc = load_document(text, fmt=fmt, source=source)
    # Validate here first, so an error names the file (and the item and field) the person typed.
    parse_devices(doc, now=datetime.now(UTC), source=source)

    items = doc["devices"] if isinstance(doc, dict) and "devices" in doc else doc
    items = items if isinstance(items, list) else [items]
    batches = [items[i : i + SEED_BATCH] for i in range(0, len(items), SEED_BATCH)] or [[]]

    def body(client: AdminClient, console: Console) -> int:
        # Batches keep each request under the admin API's 1 MiB body limit.
        seeded, ids = 0, []
        for batch in batches:
            data = client.request("POST", "/admin/devices", json={"devices": batch})
            seeded += data["seeded"]
            ids += data["ids"]
        if args.format == "json":
            _print_json(console, {"seeded": seeded, "ids": ids})
        else:
            console.print(f"seeded {seeded} device(s)")
        return 0

    return _run(args, body)


def _show_device(args: argparse.Namespace, console: Console, device: dict[str, Any]) -> None:
    if args.format == "json":
        _print_json(console, device)
    else:
        console.print(_device_table([device]))


def _device_show(args: argparse.Namespace) -> int:
    def body(client: AdminClient, console: Console) -> int:
        _show_device(args, console, client.request("GET", f"/admin/devices/{args.id}"))
        return 0

    return _run(args, body)


def _device_set_state(args: argparse.Namespace) -> int:
    def body(client: AdminClient, console: Console) -> int:
        device = client.request("PATCH", f"/admin/devices/{args.id}", json={"compliance_state": args.state})
        _show_device(args, console, device)
        return 0

    return _run(args, body)


def _device_posture(args: argparse.Namespace) -> int:
    def body(client: AdminClient, console: Console) -> int:
        device = client.request("PATCH", f"/admin/devices/{args.id}", json={"posture": args.posture})
        if args.check_in:
            device = client.request("POST", f"/admin/devices/{args.id}/check-in")
        _show_device(args, console, device)
        return 0

    return _run(args, body)


def _device_action(args: argparse.Namespace) -> int:
    def body(client: AdminClient, console: Console) -> int:
        _show_device(args, console, client.request("POST", f"/admin/devices/{args.id}/{args.action}"))
        return 0

    return _run(args, body)


# -- call log -------------------------------------------------------------------------------------
def _calls_table(calls: list[dict[str, Any]]) -> Table:
    table = Table("seq", "at", "surface", "app", "request", "status", "ms", "detail")
    for c in calls:
        detail = {k: v for k, v in c["detail"].items() if k != "devices"}
        status = c["status"]
        colour = "green" if status < 400 else "yellow" if status < 500 else "red"
        table.add_row(
            str(c["seq"]),
            c["at"][11:23],
            c["surface"],
            c["app"][:8] or "-",
            f"{c['method']} {c['path']}" + (f"?{c['query']}" if c["query"] else ""),
            f"[{colour}]{status}[/{colour}]",
            f"{c['latency_ms']:.1f}",
            json.dumps(detail, separators=(",", ":"))[:80],
        )
    return table


def _calls(args: argparse.Namespace) -> int:
    if args.interval <= 0:
        raise InputError("must be > 0", where="--interval")
    if args.max_calls is not None and args.max_calls < 1:
        raise InputError("must be >= 1", where="--max-calls")

    def body(client: AdminClient, console: Console) -> int:
        after, printed = args.after, 0
        while True:
            params: dict[str, str] = {"after": str(after)}
            if args.surface:
                params["surface"] = args.surface
            data = client.request("GET", "/admin/calls", params=params)
            calls = data["calls"]
            if args.max_calls is not None:
                calls = calls[: args.max_calls - printed]
            if calls:
                if args.format == "json":
                    for c in calls:
                        console.print(json.dumps(c), soft_wrap=True)
                else:
                    console.print(_calls_table(calls))
                printed += len(calls)
                after = calls[-1]["seq"]
            if args.max_calls is not None and printed >= args.max_calls:
                return 0
            if not args.follow:
                if not calls and args.format != "json":
                    console.print("no calls")
                return 0
            time.sleep(args.interval)

    try:
        return _run(args, body)
    except KeyboardInterrupt:
        return 0


# -- settings -------------------------------------------------------------------------------------
def _print_settings(args: argparse.Namespace, console: Console, settings: dict[str, Any]) -> None:
    if args.format == "json":
        _print_json(console, settings)
        return
    table = Table("setting", "value")
    table.add_row("mark devices with no compliance policy as", settings["no_policy_mark"])
    table.add_row("compliance status validity period (days)", str(settings["validity_days"]))
    table.add_row("grace period (hours)", f"{settings['grace_period_hours']:g}")
    console.print(table)


def _settings_show(args: argparse.Namespace) -> int:
    def body(client: AdminClient, console: Console) -> int:
        _print_settings(args, console, client.request("GET", "/admin/settings"))
        return 0

    return _run(args, body)


def _settings_set(args: argparse.Namespace) -> int:
    changes: dict[str, Any] = {}
    if args.no_policy_mark is not None:
        changes["no_policy_mark"] = args.no_policy_mark
    if args.validity_days is not None:
        if not 1 <= args.validity_days <= 120:
            raise ConfigError("must be 1..120", field="--validity-days")
        changes["validity_days"] = args.validity_days
    if args.grace_period_hours is not None:
        if not 0 <= args.grace_period_hours <= 8760:
            raise ConfigError("must be 0..8760", field="--grace-period-hours")
        changes["grace_period_hours"] = args.grace_period_hours
    if not changes:
        raise InputError(
            "nothing to change: give --no-policy-mark, --validity-days or --grace-period-hours",
            where="settings set",
        )

    def body(client: AdminClient, console: Console) -> int:
        _print_settings(args, console, client.request("PUT", "/admin/settings", json=changes))
        return 0

    return _run(args, body)


# -- faults, reset ------------------------------------------------------------------------------
def _faults_show(args: argparse.Namespace) -> int:
    def body(client: AdminClient, console: Console) -> int:
        data = client.request("GET", "/admin/faults")
        if args.format == "json":
            _print_json(console, data)
            return 0
        if not data["faults"]:
            console.print("no faults")
            return 0
        table = Table("surface", "fault spec")
        for surface, spec in sorted(data["faults"].items()):
            table.add_row(surface, json.dumps(spec, separators=(",", ":")))
        console.print(table)
        return 0

    return _run(args, body)


def _faults_set(args: argparse.Namespace) -> int:
    try:
        spec = json.loads(args.spec)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", where="SPEC") from None
    if not isinstance(spec, dict):
        raise InputError("want a JSON object", where="SPEC")

    def body(client: AdminClient, console: Console) -> int:
        data = client.request("PUT", f"/admin/faults/{args.surface}", json=spec)
        if args.format == "json":
            _print_json(console, data)
        else:
            console.print(f"{args.surface}: {json.dumps(data['fault'], separators=(',', ':'))}")
        return 0

    return _run(args, body)


def _faults_clear(args: argparse.Namespace) -> int:
    def body(client: AdminClient, console: Console) -> int:
        client.request("DELETE", f"/admin/faults/{args.surface}")
        console.print(f"{args.surface}: no faults")
        return 0

    return _run(args, body)


def _reset(args: argparse.Namespace) -> int:
    if not args.yes:
        raise InputError("this forgets every device, call and fault; add --yes to do it", where="reset")

    def body(client: AdminClient, console: Console) -> int:
        client.request("POST", "/admin/reset")
        console.print("reset: devices, calls, faults and throttling forgotten")
        return 0

    return _run(args, body)
