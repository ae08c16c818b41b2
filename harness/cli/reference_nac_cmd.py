"""``nac-harness reference-nac start|stop|status``: the FreeRADIUS reference NAC on loopback."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mock_intune.serve import DEFAULT_STATE_DIR as MOCK_STATE_DIR
from mock_intune.serve import StateFiles

from ..errors import ConfigError
from ..model import Profile
from ..radius.freeradius import freeradius_binary
from ..radius.reference_nac import (
    STATE_FILE,
    ReferenceRadiusSettings,
    start_detached,
    stop_detached,
)

DEFAULT_STATE_DIR = ".state/reference-nac"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "reference-nac",
        help="start or stop the FreeRADIUS reference NAC (RADIUS on loopback, wired to a served mock Intune)",
        description=__doc__,
    )
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    start = verbs.add_parser("start", help="configure and start FreeRADIUS + the reference NAC")
    start.add_argument(
        "--mock-url", required=True, help="base URL of the served mock (https://127.0.0.1:PORT)"
    )
    start.add_argument(
        "--mock-state-dir",
        default=MOCK_STATE_DIR,
        help="the mock's state dir (for its CA file and credentials)",
    )
    start.add_argument(
        "--mock-ca-file", default=None, help="CA to trust for the mock (default: its state dir's)"
    )
    start.add_argument("--tenant-id", default="")
    start.add_argument("--client-id", default="")
    start.add_argument("--client-secret", default=None)
    start.add_argument("--profile", default=Profile.CR_CISCO.value, choices=[p.value for p in Profile])
    start.add_argument("--secret", default="testing123", help="RADIUS shared secret")
    start.add_argument("--auth-port", type=_port, default=0, help="RADIUS auth port (0: a free port)")
    start.add_argument("--acct-port", type=_port, default=0, help="RADIUS accounting port (0: a free port)")
    start.add_argument("--coa-host", default="127.0.0.1", help="where the NAS listens for CoA")
    start.add_argument("--coa-port", type=_port, default=3799)
    start.add_argument("--time-scale", type=float, default=1.0, help="declared speed-up of the NAC's clock")
    start.add_argument("--polling-interval", type=float, default=4 * 3600.0, dest="polling_interval_s")
    start.add_argument("--cache-ttl", type=float, default=300.0, dest="cache_ttl_s")
    start.add_argument(
        "--fail-open", action="store_true", help="misconfigure it to fail open (a declared deviation)"
    )
    start.add_argument("--mutant", default=None, help="run a faulty NAC from harness.nac.mutants instead")
    start.add_argument("--state-dir", default=DEFAULT_STATE_DIR)
    start.set_defaults(func=_start)
    stop = verbs.add_parser("stop", help="stop the reference NAC")
    stop.add_argument("--state-dir", default=DEFAULT_STATE_DIR)
    stop.set_defaults(func=_stop)
    status = verbs.add_parser("status", help="show whether the reference NAC runs, and where")
    status.add_argument("--state-dir", default=DEFAULT_STATE_DIR)
    status.set_defaults(func=_status)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0..65535, got {value}")
    return value


def _start(args: argparse.Namespace) -> int:
    freeradius_binary()  # a clear error naming the Debian packages when FreeRADIUS is missing
    ca_file = args.mock_ca_file or str(StateFiles(Path(args.mock_state_dir).resolve()).ca_file)
    if not Path(ca_file).is_file():
        raise ConfigError(
            f"no CA file at {ca_file}; pass --mock-ca-file or --mock-state-dir", field="--mock-ca-file"
        )
    settings = ReferenceRadiusSettings(
        mock_url=args.mock_url,
        mock_ca_file=ca_file,
        state_dir=args.state_dir,
        tenant_id=args.tenant_id,
        client_id=args.client_id,
        client_secret=args.client_secret,
        profile=Profile(args.profile),
        secret=args.secret,
        auth_port=args.auth_port,
        acct_port=args.acct_port,
        coa_host=args.coa_host,
        coa_port=args.coa_port,
        time_scale=args.time_scale,
        polling_interval_s=args.polling_interval_s,
        cache_ttl_s=args.cache_ttl_s,
        fail_open=args.fail_open,
        mutant=args.mutant,
    )
    info = start_detached(settings)
    print(f"reference NAC running (pid {info['pid']}), FreeRADIUS on {info['host']}")
    print(f"  auth port    {info['auth_port']}")
    print(f"  acct port    {info['acct_port']}")
    print(f"  secret       {info['secret']}")
    print(f"  CoA to       {info['coa_target']}")
    print(f"  device CA    {info['device_ca_dir']} (issue EAP-TLS client certificates from it)")
    print(f"  mock Intune  {info['mock_url']} (profile {info['profile']})")
    print(f"  log          {info['log']}")
    print("nac.yaml adapter:")
    print(
        f"  adapter: {{type: radius, host: {info['host']}, auth_port: {info['auth_port']}, "
        f"acct_port: {info['acct_port']}, coa_port: {args.coa_port}, secret: {info['secret']}, "
        f"device_ca_dir: {info['device_ca_dir']}}}"
    )
    print(f"  speedup: {args.time_scale:g}   # and mock: {{host, port}} of --mock-url (docs/certify.md)")
    return 0


def _stop(args: argparse.Namespace) -> int:
    if stop_detached(args.state_dir):
        print("reference NAC stopped")
    else:
        print("no reference NAC was running")
    return 0


def _status(args: argparse.Namespace) -> int:
    state = Path(args.state_dir).resolve() / STATE_FILE
    if not state.exists():
        print("not running")
        return 1
    print(json.dumps(json.loads(state.read_text()), indent=2))
    return 0
