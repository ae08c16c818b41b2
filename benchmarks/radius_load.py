"""RADIUS load benchmark: the harness's RADIUS driver beside radclient, same requests, same in flight.

Two targets, both real FreeRADIUS 3.2 on loopback:

* ``baseline``: FreeRADIUS accepts every MAB request itself, so the client is the bottleneck;
  this is where the driver's own rate is compared with radclient's.
* ``reference-nac``: the FreeRADIUS reference NAC (decision service + reference NAC, cache off)
  asking a served mock Intune over HTTPS for every request; verdict accuracy is judged against
  each device's true state.

Run: ``.venv/bin/python benchmarks/radius_load.py [--requests N] [--in-flight 32] [--devices M]``.
Prints a JSON summary and rewrites the RADIUS section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine_info import cpu_model  # noqa: E402

from harness.model import AccessRequest, AccessType, Decision  # noqa: E402
from harness.radius.freeradius import FreeRadius, FreeRadiusConfig, free_udp_port  # noqa: E402
from harness.radius.load import LoadTarget, expected_decisions, run_load  # noqa: E402
from harness.radius.nas import NasConfig, dashed_mac  # noqa: E402
from harness.radius.reference_nac import ReferenceRadiusNac, ReferenceRadiusSettings  # noqa: E402
from mock_intune.model import ComplianceState, Device  # noqa: E402
from mock_intune.pki import CertificateAuthority  # noqa: E402
from mock_intune.serve import ServedMock  # noqa: E402

SECRET = "testing123"
MARK_START = "<!-- radius_load:start -->"
MARK_END = "<!-- radius_load:end -->"


def machine() -> str:
    return (
        f"{os.cpu_count()} cores, {cpu_model()}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def radclient_version() -> str:
    out = subprocess.run(["radclient", "-v"], capture_output=True, text=True, check=False)
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0] if first else "unknown version"


def requests_for(macs: list[str]) -> list[AccessRequest]:
    return [
        AccessRequest(f"dev-{i}", f"load-{i}", AccessType.WIFI, mac, "ap-1", "corp")
        for i, mac in enumerate(macs)
    ]


def radclient_file(path: Path, requests: list[AccessRequest]) -> None:
    with path.open("w") as f:
        for r in requests:
            mac = dashed_mac(r.mac)
            user = mac.replace("-", "").lower()
            f.write(
                f'User-Name = "{user}"\nUser-Password = "{user}"\nService-Type = Call-Check\n'
                f'NAS-Port-Type = Wireless-802.11\nCalling-Station-Id = "{mac}"\n'
                f'Called-Station-Id = "02-00-00-00-00-01:{r.ssid}"\nNAS-Identifier = "{r.nas_id}"\n'
                f'Acct-Session-Id = "{r.session_id}"\nMessage-Authenticator = 0x00\n\n'
            )


def run_radclient(
    port: int, requests: list[AccessRequest], in_flight: int, workdir: Path
) -> dict[str, float]:
    binary = shutil.which("radclient")
    if binary is None:
        raise SystemExit("radclient is missing: apt-get install freeradius-utils")
    file = workdir / "radclient.txt"
    radclient_file(file, requests)
    started = time.perf_counter()
    out = subprocess.run(
        [binary, "-q", "-s", "-t", "5", "-r", "3", "-p", str(in_flight), "-f", str(file),
         f"127.0.0.1:{port}", "auth", SECRET],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    duration = time.perf_counter() - started
    stats = out.stdout + out.stderr
    accepted = int(m.group(1)) if (m := re.search(r"Accepted\s*:\s*(\d+)", stats)) else 0
    rejected = int(m.group(1)) if (m := re.search(r"Rejected\s*:\s*(\d+)", stats)) else 0
    lost = int(m.group(1)) if (m := re.search(r"Lost\s*:\s*(\d+)", stats)) else 0
    answered = accepted + rejected
    return {
        "requests": len(requests),
        "answered": answered,
        "lost": lost,
        "duration_s": round(duration, 3),
        "auth_per_s": round(answered / duration, 1) if duration else 0.0,
    }


def baseline(n: int, in_flight: int, workdir: Path) -> dict[str, object]:
    ca = CertificateAuthority.create("bench CA")
    server = ca.issue("radius.bench", san_dns=("localhost",), server=True)
    cfg = FreeRadiusConfig(None, ca.cert_pem, server.cert_pem, server.key_pem, secret=SECRET, threads=4)
    rng = random.Random(1)
    macs = [f"{rng.getrandbits(46) << 2 & 0xFCFFFFFFFFFF:012X}" for _ in range(n)]
    requests = requests_for(macs)
    targets = [LoadTarget(r, frozenset({Decision.ALLOW})) for r in requests]
    with FreeRadius(workdir / "baseline", cfg) as fr:
        nas = NasConfig(auth_port=fr.config.auth_port, secret=SECRET.encode(), timeout_s=5.0)
        run_load(targets[: min(2000, n)], nas, in_flight=in_flight)  # warm-up
        harness = run_load(targets, nas, in_flight=in_flight)
        radclient = run_radclient(fr.config.auth_port, requests, in_flight, workdir)
    h = harness.to_json()
    return {
        "harness": {k: h[k] for k in ("sent", "answered", "duration_s", "auth_per_s", "latency_ms")},
        "radclient": radclient,
        "ratio": round(harness.auth_per_s / radclient["auth_per_s"], 3) if radclient["auth_per_s"] else None,
    }


def seed_devices(count: int) -> tuple[list[Device], list[str]]:
    rng = random.Random(7)
    devices: list[Device] = []
    macs: list[str] = []
    for i in range(count):
        mac = f"00{i:010X}"  # universally administered (a randomised MAC would be redirected by rule)
        macs.append(mac)
        roll = rng.random()
        if roll < 0.1:
            continue  # not enrolled: the mock does not know it
        state = (
            ComplianceState.COMPLIANT if roll < 0.7
            else ComplianceState.NONCOMPLIANT if roll < 0.9
            else ComplianceState.UNKNOWN
        )  # fmt: skip
        devices.append(
            Device(intune_id=str(uuid.UUID(int=i + 1)), azure_ad_device_id=str(uuid.UUID(int=10**9 + i)),
                   wifi_mac=mac, compliance_state=state, posture_compliant=state is ComplianceState.COMPLIANT)
        )  # fmt: skip
    return devices, macs


def reference(n_devices: int, in_flight: int, workdir: Path) -> dict[str, object]:
    from mock_intune.store import device_to_json

    devices, macs = seed_devices(n_devices)
    by_mac = {d.wifi_mac: d for d in devices}
    with ServedMock(workdir / "mock", workers=2) as mock:
        keep = ("intune_id", "azure_ad_device_id", "wifi_mac", "compliance_state", "posture_compliant")
        docs = [{k: v for k, v in device_to_json(d).items() if k in keep} for d in devices]
        with httpx.Client(verify=mock.ca_file) as client:
            for start in range(0, len(docs), 500):  # the admin API takes bodies up to 1 MiB
                r = client.post(
                    f"{mock.base_url}/admin/devices",
                    json={"devices": docs[start : start + 500]},
                    headers={"Authorization": f"Bearer {mock.admin_token}"},
                    timeout=60,
                )
                r.raise_for_status()
        settings = ReferenceRadiusSettings(
            mock_url=mock.base_url, mock_ca_file=mock.ca_file, tenant_id=mock.tenant_id,
            client_id=mock.client_id, client_secret=mock.client_secret, state_dir=str(workdir / "ref"),
            coa_port=free_udp_port(), cache_ttl_s=0.0, polling_interval_s=0.0, threads=8,
        )  # fmt: skip
        with ReferenceRadiusNac(settings) as ref:
            info = ref.info()
            nas = NasConfig(
                auth_port=info["auth_port"], acct_port=info["acct_port"], secret=SECRET.encode(), timeout_s=10
            )
            requests = requests_for(macs)
            targets = [LoadTarget(r, expected_decisions(by_mac.get(r.mac), r.mac)) for r in requests]
            harness = run_load(targets, nas, in_flight=in_flight)
            radclient = run_radclient(info["auth_port"], requests, in_flight, workdir)
    h = harness.to_json()
    return {
        "harness": h,
        "radclient": radclient,
        "ratio": round(harness.auth_per_s / radclient["auth_per_s"], 3) if radclient["auth_per_s"] else None,
    }


def write_doc(summary: dict[str, object]) -> None:
    doc = ROOT / "docs" / "benchmarks.md"
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    b = summary["baseline"]
    r = summary["reference_nac"]
    assert isinstance(b, dict) and isinstance(r, dict)
    section = f"""{MARK_START}
## RADIUS load (`benchmarks/radius_load.py`)

{summary["date"]} on {summary["machine"]}; {summary["in_flight"]} requests in flight, MAB Access-Requests.

| target | client | requests | auth/s | p50 ms | p99 ms | accuracy |
|---|---|---|---|---|---|---|
| FreeRADIUS accepts itself (driver-bound) | harness `AsyncNas` | {b["harness"]["sent"]} | {b["harness"]["auth_per_s"]} | {b["harness"]["latency_ms"]["p50"]} | {b["harness"]["latency_ms"]["p99"]} | n/a |
| FreeRADIUS accepts itself (driver-bound) | `radclient` | {b["radclient"]["requests"]} | {b["radclient"]["auth_per_s"]} | — | — | n/a |
| FreeRADIUS reference NAC → mock Intune (HTTPS, no cache) | harness `AsyncNas` | {r["harness"]["sent"]} | {r["harness"]["auth_per_s"]} | {r["harness"]["latency_ms"]["p50"]} | {r["harness"]["latency_ms"]["p99"]} | {r["harness"]["accuracy"]:.2%} |
| FreeRADIUS reference NAC → mock Intune (HTTPS, no cache) | `radclient` | {r["radclient"]["requests"]} | {r["radclient"]["auth_per_s"]} | — | — | — |

Ratio harness / radclient: driver-bound **{b["ratio"]}**, end to end **{r["ratio"]}** (target ≥ 0.5 with 100 % accuracy).

`radclient` is Debian's ({summary["radclient_version"]}), run as `radclient -q -s -p N -f FILE`, timed from
start to exit. It did not reach the ~40,000 requests/s quoted in the issue on this machine; both
clients sent the same requests with the same number in flight, in the same run. End to end, every
decision crosses FreeRADIUS → rlm_rest → the decision service → HTTPS to the served mock (two
gunicorn workers) with the NAC's cache off, so the mock and the decision service bound the rate.
{MARK_END}"""
    if MARK_START in text:
        text = re.sub(re.escape(MARK_START) + ".*?" + re.escape(MARK_END), section, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    doc.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20000, help="requests in the driver-bound run")
    parser.add_argument("--devices", type=int, default=2000, help="devices in the end-to-end run")
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="radius-bench-") as tmp:
        work = Path(tmp)
        summary = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d"),
            "machine": machine(),
            "in_flight": args.in_flight,
            "radclient_version": radclient_version(),
            "baseline": baseline(args.requests, args.in_flight, work),
            "reference_nac": reference(args.devices, args.in_flight, work),
        }
    print(json.dumps(summary, indent=2))
    if not args.no_doc:
        write_doc(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
