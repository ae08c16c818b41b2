"""The mock's CA: persistence, server / client / device certificates, thumbprints."""

from __future__ import annotations

import base64
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from mock_intune.errors import ConfigError
from mock_intune.pki import (
    CertificateAuthority,
    intune_device_id_uri,
    load_certificates,
    san_uris,
    sid_tag_uri,
)


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.create("Test CA")


def test_ca_is_a_ca(ca: CertificateAuthority) -> None:
    bc = ca.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert bc.ca is True
    assert ca.certificate.subject == ca.certificate.issuer
    assert isinstance(ca.key, ec.EllipticCurvePrivateKey)


def test_save_and_load_round_trip(ca: CertificateAuthority, tmp_path) -> None:
    ca.save(tmp_path)
    assert (tmp_path / "ca-key.pem").stat().st_mode & 0o077 == 0
    again = CertificateAuthority.load(tmp_path)
    assert again.cert_pem == ca.cert_pem
    assert again.key_pem == ca.key_pem
    assert CertificateAuthority.load_or_create(tmp_path).cert_pem == ca.cert_pem


def test_load_names_the_missing_or_broken_file(tmp_path) -> None:
    with pytest.raises(ConfigError, match="ca.pem"):
        CertificateAuthority.load(tmp_path)
    (tmp_path / "ca.pem").write_text("not a pem")
    (tmp_path / "ca-key.pem").write_text("nope")
    with pytest.raises(ConfigError):
        CertificateAuthority.load(tmp_path)


def test_server_certificate_sans_and_chain(ca: CertificateAuthority) -> None:
    leaf = ca.issue(
        "localhost",
        san_dns=("localhost", "login.microsoftonline.com"),
        san_ips=("127.0.0.1",),
        server=True,
    )
    san = leaf.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "login.microsoftonline.com"]
    assert [str(i) for i in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    eku = leaf.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    leaf.certificate.verify_directly_issued_by(ca.certificate)
    # The standard library accepts the pair for a TLS server context.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_verify_locations(cadata=ca.cert_pem)


def test_rsa_client_certificate_thumbprints(ca: CertificateAuthority) -> None:
    leaf = ca.issue("nac-app", client=True, key_type="rsa")
    assert isinstance(leaf.key, rsa.RSAPrivateKey)
    assert leaf.key.key_size == 2048
    assert len(leaf.thumbprint_sha1) == 20
    assert base64.urlsafe_b64decode(leaf.x5t + "=") == leaf.thumbprint_sha1
    assert leaf.thumbprint_hex == leaf.thumbprint_sha1.hex().upper()
    assert load_certificates(leaf.cert_pem)[0] == leaf.certificate


def test_device_certificate_keeps_several_san_uris(ca: CertificateAuthority) -> None:
    guid = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
    sid = "S-1-5-21-1004336348-1177238915-682003330-512"
    leaf = ca.issue("DESKTOP-1", san_uris=(sid_tag_uri(sid), intune_device_id_uri(guid)), client=True)
    assert san_uris(leaf.certificate) == [
        f"tag:microsoft.com,2022-09-14:sid:{sid}",
        f"IntuneDeviceId://{guid}",
    ]


def test_reuses_a_given_key(ca: CertificateAuthority) -> None:
    first = ca.issue("a", key_type="rsa")
    second = ca.issue("b", key=first.key)
    assert second.key_pem == first.key_pem
    assert second.thumbprint_sha1 != first.thumbprint_sha1


def test_bad_ip_san_is_a_config_error(ca: CertificateAuthority) -> None:
    with pytest.raises(ConfigError, match="san_ips"):
        ca.issue("x", san_ips=("not-an-ip",))
