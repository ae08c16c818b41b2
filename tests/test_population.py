"""Populations: deterministic from the seed, shares as declared, real OUIs, invertible ids, SAN forms."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from harness.oui import OUIS, REGISTRANTS, oui_text
from harness.pki import DeviceCertificates, san_uris
from harness.population import InitialState, Population, SanForm, to_mock_device
from harness.scenario import PopulationSpec
from mock_intune.model import ComplianceState, OperatingSystem, TenantSettings, is_locally_administered

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
N = 20_000


def spec(**over: object) -> PopulationSpec:
    return PopulationSpec.model_validate({"size": N, **over})


def test_same_seed_same_population_other_seed_other_population() -> None:
    a, b, c = Population(spec(), 3), Population(spec(), 3), Population(spec(), 4)
    assert [a[i] for i in range(200)] == [b[i] for i in range(200)]
    assert [a[i].intune_id for i in range(200)] != [c[i].intune_id for i in range(200)]


def test_a_device_does_not_depend_on_the_population_size() -> None:
    small, big = Population(spec(size=100), 9), Population(spec(size=100_000), 9)
    assert small[42].intune_id == big[42].intune_id
    assert small[42].wifi_mac == big[42].wifi_mac


def test_shares_follow_the_spec() -> None:
    s = spec(
        os_mix={"windows": 0.4, "macos": 0.1, "ios": 0.3, "android": 0.15, "linux": 0.05},
        enrollment={"enrolled": 0.7, "unenrolled": 0.3},
        randomized_mac_share=0.25,
        certificate_share=0.6,
    )
    pop = Population(s, 1)
    os_counts = Counter(pop.os_of(i) for i in range(N))
    assert os_counts[OperatingSystem.WINDOWS] / N == pytest.approx(0.4, abs=0.015)
    assert os_counts[OperatingSystem.IOS] / N == pytest.approx(0.3, abs=0.015)
    assert os_counts[OperatingSystem.LINUX] / N == pytest.approx(0.05, abs=0.01)
    unenrolled = sum(pop.initial_state(i) is InitialState.UNENROLLED for i in range(N))
    assert unenrolled / N == pytest.approx(0.3, abs=0.015)
    randomized = sum(pop.randomized_mac(i) is not None for i in range(N))
    assert randomized / N == pytest.approx(0.25, abs=0.015)
    certs = sum(pop.cert_form(i)[0] is not SanForm.NONE for i in range(N))
    assert certs / N == pytest.approx(0.6, abs=0.015)


def test_manufacturer_model_and_os_version_are_consistent() -> None:
    pop = Population(spec(size=2000), 2)
    for i in range(2000):
        d = pop[i]
        if d.os in (OperatingSystem.IOS, OperatingSystem.MACOS):
            assert d.manufacturer == "Apple"
        if d.os is OperatingSystem.WINDOWS:
            assert d.os_version.startswith("10.0.")
        if d.os is OperatingSystem.IOS:
            assert d.model.startswith(("iPhone", "iPad"))
        assert d.user_principal_name.endswith("@contoso.com")


def test_hardware_macs_use_real_vendor_ouis_and_randomised_macs_are_locally_administered() -> None:
    pop = Population(spec(size=5000, randomized_mac_share=0.5), 8)
    known = {oui_text(o).replace(":", "") for ouis in OUIS.values() for o in ouis}
    for i in range(5000):
        d = pop[i]
        assert re.fullmatch(r"[0-9A-F]{12}", d.wifi_mac)
        assert d.wifi_mac[:6] in known
        assert not is_locally_administered(d.wifi_mac)
        if d.randomized_mac is not None:
            assert is_locally_administered(d.randomized_mac)
            assert not int(d.randomized_mac[:2], 16) & 1  # unicast
    macs = [pop.hardware_mac(i) for i in range(5000)]
    assert len(set(macs)) == len(macs)


def test_every_oui_is_registered_to_its_vendor_in_the_ieee_registry() -> None:
    netaddr = pytest.importorskip("netaddr")
    registry = Path(netaddr.__file__).parent / "eui" / "oui.txt"
    if not registry.exists():
        pytest.skip("no IEEE oui.txt shipped with netaddr")
    owners: dict[str, str] = {}
    for line in registry.read_text(encoding="utf-8", errors="replace").splitlines():
        m = re.match(r"^([0-9A-F]{2}-[0-9A-F]{2}-[0-9A-F]{2})\s+\(hex\)\s+(.+?)\s*$", line)
        if m:
            owners[m.group(1).replace("-", ":")] = m.group(2)
    for vendor, ouis in OUIS.items():
        for oui in ouis:
            assert owners.get(oui_text(oui)) == REGISTRANTS[vendor], (vendor, oui_text(oui))


def test_intune_and_entra_ids_are_distinct_guids_and_invertible() -> None:
    pop = Population(spec(), 5)
    for i in (0, 1, 2, 777, N - 1):
        d = pop[i]
        assert GUID.match(d.intune_id) and GUID.match(d.entra_id)
        assert d.intune_id != d.entra_id
        assert pop.index_of_intune_id(d.intune_id) == i
        assert pop.index_of_intune_id(d.intune_id.upper()) == i
        assert pop.index_of_intune_id(d.entra_id) is None
        assert pop.index_of_mac(d.wifi_mac) == i
    ids = {pop.intune_id(i) for i in range(N)}
    assert len(ids) == N
    assert pop.index_of_intune_id("00000000-0000-4000-8000-000000000000") is None
    assert pop.index_of_mac("020000000000") is None


def test_san_forms_and_sid_tag() -> None:
    guid = "0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b"
    assert san_uris(guid, SanForm.NONE) == ()
    assert san_uris(guid, SanForm.INTUNE_DEVICE_ID) == (f"IntuneDeviceId://{guid}",)
    assert san_uris(guid, SanForm.MEM_GUID, "S-1-5-21-1-2-3-1001") == (
        f"ID:Microsoft Endpoint Manager:GUID:{guid}",
        "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-1001",
    )
    pop = Population(
        spec(
            size=4000,
            certificate_share=1.0,
            san_forms={"intune_device_id": 0.5, "mem_guid": 0.5},
            sid_tag_share=0.5,
        ),
        6,
    )
    forms = Counter(pop[i].san_form for i in range(4000))
    assert forms[SanForm.MEM_GUID] / 4000 == pytest.approx(0.5, abs=0.04)
    tagged = [pop[i] for i in range(4000) if pop[i].sid]
    assert len(tagged) / 4000 == pytest.approx(0.5, abs=0.04)
    d = tagged[0]
    assert d.san_uris[0].endswith(d.intune_id)
    assert d.san_uris[1].startswith("tag:microsoft.com,2022-09-14:sid:S-1-5-21-")


def test_device_certificate_is_real_x509_with_the_san_uris() -> None:
    from cryptography import x509

    pop = Population(spec(size=10, certificate_share=1.0, sid_tag_share=1.0), 1)
    certs = DeviceCertificates(cache_size=2)
    issued = certs.for_device(pop[3])
    cert = x509.load_pem_x509_certificate(issued.cert_pem.encode())
    uris = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.UniformResourceIdentifier
    )
    assert tuple(uris) == pop[3].san_uris
    assert certs.for_device(pop[3]) is issued  # cached
    no_cert = Population(spec(size=10, certificate_share=0.0), 1)[0]
    with pytest.raises(ValueError, match="no certificate"):
        certs.for_device(no_cert)


def test_to_mock_device_seeds_the_initial_intune_state() -> None:
    epoch = datetime(2026, 1, 5, tzinfo=UTC)
    settings = TenantSettings(validity_days=30)
    mix = {
        "compliant": 0.2,
        "noncompliant": 0.2,
        "in_grace": 0.1,
        "unknown": 0.2,
        "stale": 0.2,
        "no_policy": 0.1,
    }
    pop = Population(spec(size=2000, compliance=mix, enrollment={"enrolled": 0.8, "unenrolled": 0.2}), 4)
    seen = set()
    for i in range(2000):
        p = pop[i]
        d = to_mock_device(p, pop, epoch, settings)
        seen.add(p.initial)
        assert d.intune_id == p.intune_id and d.azure_ad_device_id == p.entra_id and d.wifi_mac == p.wifi_mac
        if p.initial is InitialState.UNENROLLED:
            assert not d.managed and d.enrolled_at is None
        elif p.initial is InitialState.STALE:
            assert d.compliance_state is ComplianceState.COMPLIANT
            assert d.last_sync_at is not None and (epoch - d.last_sync_at).days > 30
        elif p.initial is InitialState.UNKNOWN:
            assert d.compliance_state is ComplianceState.UNKNOWN and d.evaluated_at is None
        elif p.initial is InitialState.IN_GRACE:
            assert d.compliance_state is ComplianceState.IN_GRACE_PERIOD and d.grace_expires_at is not None
        elif p.initial is InitialState.NO_POLICY:
            assert not d.has_policy
    assert seen == set(InitialState)


def test_a_million_device_population_stores_nothing_per_device() -> None:
    """Devices are computed from (seed, index): a million of them cost no memory until asked for."""
    import sys
    import tracemalloc

    tracemalloc.start()
    try:
        pop = Population(spec(size=1_000_000), 1)
        pop[999_999]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000  # lookup tables and name pools; per-device records would be hundreds of MB
    assert sys.getsizeof(pop.__dict__) < 10_000


@pytest.mark.parametrize(
    ("seed", "devices", "validity"),
    [(7, range(0, 5000), 30), (2026, range(3, 20000, 4), 1), (99, range(0, 0), 30), (5, range(1, 2), 400)],
)
def test_the_shard_wide_initial_records_equal_the_per_device_derivation(
    seed: int, devices: range, validity: int
) -> None:
    import math

    from harness.population_arrays import initial_records

    spec = PopulationSpec.model_validate(
        {
            "size": max(devices.stop, 1),
            "enrollment": {"enrolled": 0.8, "unenrolled": 0.2},
            "compliance": {
                "compliant": 0.4,
                "noncompliant": 0.15,
                "in_grace": 0.15,
                "unknown": 0.1,
                "stale": 0.1,
                "no_policy": 0.1,
            },
        }
    )
    pop = Population(spec, seed)
    codes, enrolled, sync, grace = initial_records(pop, devices, validity)
    assert len(codes) == len(devices)
    seen = set()
    for n, i in enumerate(devices):
        init = pop.initial_state(i)
        seen.add(init)
        assert codes[n] == int(init)
        want = pop.initial_times(i, init, validity)
        for got, expected in zip((enrolled[n], sync[n], grace[n]), want, strict=True):
            if expected is None:
                assert math.isnan(got)
            else:
                assert got == expected  # the same double, not just close
    if len(devices) > 1000:
        assert len(seen) == len(InitialState)
