"""A small certificate authority: the served mock's TLS chain, client-assertion and device certificates.

The served mock trusts nothing from the machine: it generates its own CA into its state directory,
issues the HTTPS server certificate (covering the Microsoft host names NACs call), the RSA
certificate an app registration authenticates with, and the simulation's device certificates
(SAN URIs ``IntuneDeviceId://<guid>`` and the strong-mapping ``tag:microsoft.com,2022-09-14:sid:…``).

EC P-256 keys are the default because they are quick to make; ``key_type="rsa"`` gives RSA 2048
where a peer needs it (client assertions are RS256).
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .errors import ConfigError

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

CA_CERT_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"


class KeyType(StrEnum):
    """The kinds of key the CA makes."""

    EC = "ec"
    RSA = "rsa"


def new_key(key_type: KeyType | str = KeyType.EC) -> PrivateKey:
    """A fresh private key: EC P-256 (default) or RSA 2048."""
    kind = KeyType(key_type)
    if kind is KeyType.RSA:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def key_to_pem(key: PrivateKey) -> str:
    """Unencrypted PKCS#8 PEM of ``key``."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def cert_to_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def thumbprint_sha1(cert: x509.Certificate) -> bytes:
    """SHA-1 of the DER certificate: what Entra calls the certificate's thumbprint."""
    return cert.fingerprint(hashes.SHA1())  # noqa: S303 - Entra's x5t is SHA-1 by definition


def b64url(data: bytes) -> str:
    """Base64url without padding (JOSE encoding)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def x5t(cert: x509.Certificate) -> str:
    """JOSE ``x5t``: base64url SHA-1 thumbprint."""
    return b64url(thumbprint_sha1(cert))


def x5t_s256(cert: x509.Certificate) -> str:
    """JOSE ``x5t#S256``: base64url SHA-256 thumbprint."""
    return b64url(cert.fingerprint(hashes.SHA256()))


def load_certificates(pem: str) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle; ConfigError when there is none or the PEM is broken."""
    try:
        certs = x509.load_pem_x509_certificates(pem.encode())
    except ValueError as exc:
        raise ConfigError(f"not a PEM certificate: {exc}", field="certificate") from exc
    return certs


def load_private_key(pem: str, *, where: str = "private key") -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"not an unencrypted PEM private key: {exc}", field=where) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ConfigError(f"unsupported key type {type(key).__name__}", field=where)
    return key


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate the CA issued, with its key and the thumbprints peers identify it by."""

    certificate: x509.Certificate
    key: PrivateKey
    cert_pem: str
    key_pem: str
    thumbprint_sha1: bytes
    x5t: str
    x5t_s256: str

    @property
    def thumbprint_hex(self) -> str:
        """Upper-case hex SHA-1 thumbprint (what MSAL's ``thumbprint`` and the Azure portal show)."""
        return self.thumbprint_sha1.hex().upper()

    def write(self, cert_path: Path | str, key_path: Path | str) -> None:
        """Write the certificate and its key as PEM files (the key readable by the owner only)."""
        Path(cert_path).write_text(self.cert_pem)
        kp = Path(key_path)
        kp.write_text(self.key_pem)
        kp.chmod(0o600)


class CertificateAuthority:
    """A self-signed CA that issues server, client and device certificates."""

    def __init__(self, certificate: x509.Certificate, key: PrivateKey) -> None:
        self.certificate = certificate
        self.key = key

    @classmethod
    def create(
        cls,
        common_name: str = "Mock Intune Test CA",
        *,
        key_type: KeyType | str = KeyType.EC,
        days: int = 3650,
    ) -> CertificateAuthority:
        """Make a new CA (basic constraints CA:TRUE, key cert sign)."""
        key = new_key(key_type)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "intune-nac-harness"),
            ]
        )
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    # -- persistence -------------------------------------------------------------------------
    @classmethod
    def load(cls, directory: Path | str) -> CertificateAuthority:
        """Load ``ca.pem`` and ``ca-key.pem`` from ``directory``; ConfigError naming the file if bad."""
        d = Path(directory)
        cert_file, key_file = d / CA_CERT_FILE, d / CA_KEY_FILE
        for f in (cert_file, key_file):
            if not f.is_file():
                raise ConfigError("missing CA file", file=str(f))
        try:
            certs = load_certificates(cert_file.read_text())
        except ConfigError as exc:
            raise ConfigError(exc.message, file=str(cert_file)) from exc
        if not certs:
            raise ConfigError("no certificate in file", file=str(cert_file))
        try:
            key = load_private_key(key_file.read_text())
        except ConfigError as exc:
            raise ConfigError(exc.message, file=str(key_file)) from exc
        return cls(certs[0], key)

    def save(self, directory: Path | str) -> None:
        """Write ``ca.pem`` and ``ca-key.pem`` (mode 0600) into ``directory`` (created if needed)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        (d / CA_CERT_FILE).write_text(self.cert_pem)
        key_file = d / CA_KEY_FILE
        key_file.write_text(self.key_pem)
        key_file.chmod(0o600)

    @classmethod
    def load_or_create(
        cls, directory: Path | str, common_name: str = "Mock Intune Test CA"
    ) -> CertificateAuthority:
        """The CA in ``directory``, made and saved there on first use."""
        if (Path(directory) / CA_CERT_FILE).exists():
            return cls.load(directory)
        ca = cls.create(common_name)
        ca.save(directory)
        return ca

    @property
    def cert_pem(self) -> str:
        return cert_to_pem(self.certificate)

    @property
    def key_pem(self) -> str:
        return key_to_pem(self.key)

    # -- issuing -----------------------------------------------------------------------------
    def issue(
        self,
        common_name: str,
        *,
        san_dns: Iterable[str] = (),
        san_ips: Iterable[str] = (),
        san_uris: Iterable[str] = (),
        server: bool = False,
        client: bool = False,
        key: PrivateKey | None = None,
        key_type: KeyType | str = KeyType.EC,
        days: int = 365,
        not_before: datetime | None = None,
    ) -> IssuedCertificate:
        """Issue a leaf certificate for ``common_name``.

        ``server`` / ``client`` set the TLS server / client extended key usages; SANs of every kind
        may repeat (a device certificate carries several URIs). ``key`` reuses an existing key,
        otherwise one of ``key_type`` is made.
        """
        leaf_key = key if key is not None else new_key(key_type)
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in san_dns]
        try:
            sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in san_ips]
        except ValueError as exc:
            raise ConfigError(str(exc), field="san_ips") from exc
        sans += [x509.UniformResourceIdentifier(u) for u in san_uris]
        start = not_before or datetime.now(UTC) - timedelta(minutes=5)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.certificate.subject)
            .public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=isinstance(leaf_key, rsa.RSAPrivateKey),
                    data_encipherment=False,
                    key_agreement=isinstance(leaf_key, ec.EllipticCurvePrivateKey),
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        usages = []
        if server:
            usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
        if client:
            usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
        if usages:
            builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return IssuedCertificate(
            certificate=cert,
            key=leaf_key,
            cert_pem=cert_to_pem(cert),
            key_pem=key_to_pem(leaf_key),
            thumbprint_sha1=thumbprint_sha1(cert),
            x5t=x5t(cert),
            x5t_s256=x5t_s256(cert),
        )


def san_uris(cert: x509.Certificate) -> list[str]:
    """The SAN URIs of ``cert`` (empty when it has none)."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return list(ext.value.get_values_for_type(x509.UniformResourceIdentifier))


def intune_device_id_uri(guid: str) -> str:
    """The SAN URI Intune puts in device certificates: ``IntuneDeviceId://<guid>``."""
    return f"IntuneDeviceId://{guid}"


def sid_tag_uri(sid: str) -> str:
    """The strong-mapping SID SAN URI (KB5014754): ``tag:microsoft.com,2022-09-14:sid:<sid>``."""
    return f"tag:microsoft.com,2022-09-14:sid:{sid}"
