"""Device certificates: the SAN URIs Intune puts in them, and real X.509 on demand.

Intune-issued device certificates name the device in a SAN URI, ``IntuneDeviceId://{id}`` or
``ID:Microsoft Endpoint Manager:GUID:{id}``, optionally beside the strong-mapping SID tag
``tag:microsoft.com,2022-09-14:sid:S-1-5-21-…`` (KB5014754). The simulation only needs the URI
values (:func:`san_uris`); a wire test needs a real certificate, which :class:`DeviceCertificates`
issues lazily from a harness CA (:class:`mock_intune.pki.CertificateAuthority`) and caches.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

from mock_intune.pki import CertificateAuthority, IssuedCertificate

if TYPE_CHECKING:
    from .population import DeviceProfile, SanForm

INTUNE_DEVICE_ID_PREFIX = "IntuneDeviceId://"
MEM_GUID_PREFIX = "ID:Microsoft Endpoint Manager:GUID:"
SID_TAG_PREFIX = "tag:microsoft.com,2022-09-14:sid:"


def san_uris(intune_id: str, form: SanForm, sid: str | None = None) -> tuple[str, ...]:
    """The SAN URI values of a device certificate of ``form`` (empty for no certificate)."""
    from .population import SanForm

    if form is SanForm.NONE:
        return ()
    uri = (INTUNE_DEVICE_ID_PREFIX if form is SanForm.INTUNE_DEVICE_ID else MEM_GUID_PREFIX) + intune_id
    return (uri, SID_TAG_PREFIX + sid) if sid else (uri,)


class DeviceCertificates:
    """Issues (and keeps the most recent ``cache_size``) real device certificates from one CA."""

    def __init__(self, ca: CertificateAuthority | None = None, *, cache_size: int = 256) -> None:
        self.ca = ca or CertificateAuthority.create("Harness Device CA")
        self.cache_size = cache_size
        self._cache: OrderedDict[str, IssuedCertificate] = OrderedDict()

    def for_device(self, device: DeviceProfile) -> IssuedCertificate:
        """The client certificate of ``device`` (CN = device name, SAN URIs as Intune issues them)."""
        if not device.has_certificate:
            raise ValueError(f"device {device.intune_id} has no certificate (it authenticates by MAC)")
        cached = self._cache.get(device.intune_id)
        if cached is not None:
            self._cache.move_to_end(device.intune_id)
            return cached
        issued = self.ca.issue(device.intune_id, san_uris=device.san_uris, client=True)
        self._cache[device.intune_id] = issued
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return issued
