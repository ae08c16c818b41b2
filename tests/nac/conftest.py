"""Fixtures for the reference NAC's tests: a SimPy environment and a NAC over the scripted fake."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import simpy
from fake_intune import ORIGIN, TENANT, FakeIntune
from nac_rig import Rig

from harness.model import Profile
from harness.nac.reference import ReferenceNac


@pytest.fixture
def make_rig() -> Callable[..., Rig]:
    def build(
        profile: Profile = Profile.CR_CISCO,
        *,
        intune: FakeIntune | None = None,
        start: bool = True,
        **cfg: Any,
    ) -> Rig:
        env = simpy.Environment()
        fake = intune or FakeIntune()
        cfg.setdefault("base_url", ORIGIN)
        cfg.setdefault("tenant_id", TENANT)
        nac = ReferenceNac(profile=profile, transport=fake.transport(), **cfg)
        rig = Rig(env, fake, nac)
        if start:
            nac.start(env, rig.coas.append)
        return rig

    return build


@pytest.fixture(scope="session")
def assertion_cert() -> tuple[str, str]:
    """A self-signed RSA certificate and key (PEM) for client assertions."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "reference-nac")])
    now = datetime(2026, 1, 1, tzinfo=UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM).decode(),
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
    )
