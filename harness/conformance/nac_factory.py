"""Building the NAC under test from the capability statement, and the client-assertion certificate it uses."""

from __future__ import annotations

import functools
import importlib
import re
from typing import TYPE_CHECKING, Any

from mock_intune.errors import NacHarnessError

from ..errors import HarnessFailure
from ..nac.base import NacUnderTest

BASE_URL = "http://mock-intune.test"
"""The origin the NAC is configured with; the transport routes it to the in-process mock."""

if TYPE_CHECKING:
    from .bench import Bench


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
    else:
        raise HarnessFailure(
            f"the in-process conformance bench cannot drive a {kind!r} adapter; "
            "use the reference, mutant or python adapters"
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
