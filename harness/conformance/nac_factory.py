"""Building the NAC under test from the capability statement, and the client-assertion certificate it uses."""

from __future__ import annotations

import functools
import importlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mock_intune.errors import NacHarnessError

from ..errors import HarnessFailure
from ..nac.base import NacUnderTest

BASE_URL = "http://mock-intune.test"
"""The origin the NAC is configured with; the transport routes it to the in-process mock."""

if TYPE_CHECKING:
    from .bench import Bench
    from .external import MockFront


@functools.lru_cache(maxsize=1)
def assertion_certificate() -> tuple[str, str]:
    """(cert PEM, key PEM) of an RSA certificate for client assertions (made once per process)."""
    from mock_intune.pki import CertificateAuthority, KeyType

    ca = CertificateAuthority.create("Conformance bench CA")
    issued = ca.issue("nac-under-test", client=True, key_type=KeyType.RSA)
    return issued.cert_pem, issued.key_pem


def _cap(capability: Any, name: str, default: Any) -> Any:
    if capability is None:
        return default
    if isinstance(capability, dict):
        return capability.get(name, default)
    value = getattr(capability, name, default)
    if isinstance(value, list):
        return [str(v) for v in value]
    return value


def _cap_json(capability: Any) -> dict[str, Any]:
    if capability is None:
        return {}
    if isinstance(capability, dict):
        return dict(capability)
    to_yaml = getattr(capability, "to_yaml_dict", None)
    return dict(to_yaml()) if callable(to_yaml) else {}


def adapter_spec(capability: Any) -> tuple[str, dict[str, Any]]:
    """(adapter type, its fields) from a capability statement (model or mapping)."""
    spec = _cap(capability, "adapter", {"type": "reference"})
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, dict):
        return str(spec.get("type", "reference")), {k: v for k, v in spec.items() if k != "type"}
    data = spec.model_dump() if hasattr(spec, "model_dump") else dict(vars(spec))
    return str(data.pop("type", "reference")), data


def build_nac(bench: Bench) -> NacUnderTest:
    """The NAC under test the capability statement names, wired to the bench's transport."""
    from ..nac.reference import ReferenceNac

    kind, spec = adapter_spec(bench.capability)
    if kind == "reference":
        cls: type[Any] = ReferenceNac
        kwargs: dict[str, Any] = {}
    elif kind == "mutant":
        from ..nac.mutants import mutant_class

        cls, kwargs = mutant_class(str(spec.get("mutant", ""))), {}
    elif kind == "python":
        cls, kwargs = import_target(str(spec.get("target", ""))), dict(spec.get("kwargs") or {})
    elif kind in ("radius", "http") and bench.external:
        return external_nac(bench, kind, spec)
    else:
        raise HarnessFailure(
            f"the conformance bench cannot drive a {kind!r} adapter; "
            "use the reference, mutant, python, radius or http adapters"
        )
    if isinstance(cls, type) and issubclass(cls, ReferenceNac):
        values = bench.reference_config()
        values.update(kwargs)
        try:
            return cls(transport=bench.tap, **values)
        except NacHarnessError as exc:
            raise HarnessFailure(f"cannot build the NAC under test {cls.__name__}: {exc}") from exc
    nac = cls(**kwargs)
    attach = getattr(nac, "attach_bench", None)
    if callable(attach):
        attach(transport=bench.tap, settings=bench.reference_config())
    if not isinstance(nac, NacUnderTest):
        raise HarnessFailure(f"{cls!r} is not a NacUnderTest")
    return nac


def _capability_path(capability: Any, path: str) -> Path:
    resolve = getattr(capability, "resolve", None)
    return Path(resolve(path)) if callable(resolve) else Path(path).resolve()


def external_front(capability: Any) -> MockFront:
    """The served mock Intune an external NAC is configured with (one per suite process)."""
    from .external import FrontKey, mock_front

    mock = _cap(capability, "mock", None)
    fields = dict(mock) if isinstance(mock, dict) else dict(vars(mock)) if mock is not None else {}
    host = str(fields.get("host", "127.0.0.1"))
    port = int(fields.get("port", 8443))
    state_dir = str(_capability_path(capability, str(fields.get("state_dir", ".state/mock-intune"))))
    speedup = float(_cap(capability, "speedup", 1.0))
    return mock_front(FrontKey(host=host, port=port, state_dir=state_dir, speedup=speedup))


def external_nac(bench: Bench, kind: str, spec: dict[str, Any]) -> NacUnderTest:
    """The access points' side of an external NAC: RADIUS (with a CoA listener) or the JSON webhook."""
    if kind == "http":
        from ..nac.http_adapter import HttpNac

        return HttpNac(url=str(spec["url"]), timeout_s=float(spec.get("timeout_s", 5.0)))
    from ..nac.radius_adapter import RadiusNac

    assert bench.front is not None
    ca_dir = spec.get("device_ca_dir")
    ca_path = (
        _capability_path(bench.capability, str(ca_dir))
        if ca_dir
        else Path(bench.front.key.state_dir) / "device-ca"
    )
    try:
        ca = _device_ca(str(ca_path))
    except (OSError, NacHarnessError) as exc:
        raise HarnessFailure(f"adapter.device_ca_dir: cannot load the device CA at {ca_path}: {exc}") from exc
    try:
        return RadiusNac(
            host=str(spec["host"]),
            secret=str(spec["secret"]),
            auth_port=int(spec.get("auth_port", 1812)),
            acct_port=int(spec.get("acct_port", 1813)),
            coa_port=int(spec.get("coa_port", 3799)),
            eap_method=str(spec.get("eap_method", "eap-tls")),
            ca=ca,
            timeout_s=float(spec.get("timeout_s", 5.0)),
            direct_coa=True,
        )
    except OSError as exc:
        raise HarnessFailure(
            f"adapter.coa_port: cannot listen for CoA on port {spec.get('coa_port')}: {exc.strerror or exc}"
        ) from None


@functools.lru_cache(maxsize=4)
def _device_ca(path: str) -> Any:
    from mock_intune.pki import CertificateAuthority

    return CertificateAuthority.load_or_create(Path(path), "Harness Device CA")


_TARGET = re.compile(r"^(?P<module>[A-Za-z_][\w.]*):(?P<attr>[A-Za-z_]\w*)$")


def import_target(target: str) -> Any:
    """``module:Class`` → the class; :class:`HarnessFailure` naming what could not be imported."""
    m = _TARGET.match(target)
    if not m:
        raise HarnessFailure(f"not an import path module:Class: {target!r}")
    try:
        module = importlib.import_module(m["module"])
    except ImportError as exc:
        raise HarnessFailure(f"cannot import {m['module']!r} for adapter target {target!r}: {exc}") from exc
    try:
        return getattr(module, m["attr"])
    except AttributeError:
        raise HarnessFailure(
            f"module {m['module']!r} has no {m['attr']!r} (adapter target {target!r})"
        ) from None
