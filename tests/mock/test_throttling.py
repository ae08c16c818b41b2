"""The broad-query limit (RES-02): one "all noncompliant" sweep per 4 hours per app; pages don't count."""

from __future__ import annotations

import pytest
from nac_world import CR, NAC, NS, World, guid, make_world, text, xml

from mock_intune.model import AppRegistration, Permission

HOURS = 3600.0


@pytest.fixture
def w() -> World:
    world = make_world()
    for n in range(1, 4):
        world.add(n, posture_compliant=False)
    return world


def broad(paging: str = "0", base: str = f"{CR}/cisco") -> str:
    return f"{base}/devices/?paging={paging}&querycriteria=compliance&value=false&deviceidentifier=guid&filter=all"


def test_second_broad_query_within_4h_is_503_with_retry_after(w: World) -> None:
    assert w.get(broad()).status_code == 200
    w.clock.advance(2 * HOURS)
    resp = w.get(broad())
    assert resp.status_code == 503
    assert xml(resp.data).tag == "error"
    retry = int(resp.headers["Retry-After"])
    assert 2 * HOURS - 5 <= retry <= 2 * HOURS + 5
    w.clock.advance(2 * HOURS - 1)
    assert w.get(broad()).status_code == 503
    w.clock.advance(1)
    assert w.get(broad()).status_code == 200  # 4 h after the first sweep
    assert [c.status for c in w.svc.calls()] == [200, 503, 503, 200]


def test_single_device_queries_are_unlimited(w: World) -> None:
    assert w.get(broad()).status_code == 200
    for _ in range(50):
        url = f"{CR}/cisco/devices/?paging=0&querycriteria=guid&value={guid(1)}&filter=all"
        assert w.get(url).status_code == 200


def test_later_pages_of_a_sweep_do_not_count() -> None:
    w = make_world(query_max_size=2)
    for n in range(1, 8):
        w.add(n, posture_compliant=False)
    first = xml(w.get(broad()).data)
    info = text(first, f"{NS}paging_info")
    pages = 1
    while info != "0":
        w.clock.advance(60)
        resp = w.get(broad(info or ""))
        assert resp.status_code == 200, resp.data
        info = text(xml(resp.data), f"{NS}paging_info")
        pages += 1
    assert pages == 4
    # Four pages over three minutes were one sweep; a new sweep is still refused inside the window.
    assert w.get(broad()).status_code == 503


def test_paging_tokens_are_bound_to_app_and_query() -> None:
    w = make_world(query_max_size=1)
    for n in range(1, 4):
        w.add(n, posture_compliant=False)
    info = text(xml(w.get(broad()).data), f"{NS}paging_info")
    assert info and info != "0"
    w.svc.register_app(
        AppRegistration(
            client_id="other-nac",
            tenant_id=w.svc.tenant_id,
            permissions=frozenset({Permission.GET_DEVICE_COMPLIANCE}),
        )
    )
    other = w.client.get(broad(info), headers=w.headers(client_id="other-nac"))
    assert other.status_code == 400 and b"paging" in other.data
    as_true = w.get(broad(info).replace("value=false", "value=true"))
    assert as_true.status_code == 400
    assert w.get(broad("123456789")).status_code == 400
    assert w.get(broad(info)).status_code == 200


def test_paging_token_expires_with_the_window() -> None:
    w = make_world(query_max_size=1)
    for n in range(1, 4):
        w.add(n, posture_compliant=False)
    info = text(xml(w.get(broad()).data), f"{NS}paging_info")
    w.clock.advance(4 * HOURS + 1)
    assert w.get(broad(info or "")).status_code == 400


def test_apps_have_their_own_allowance(w: World) -> None:
    w.svc.register_app(
        AppRegistration(
            client_id="nac-2",
            tenant_id=w.svc.tenant_id,
            permissions=frozenset({Permission.GET_DEVICE_COMPLIANCE}),
        )
    )
    assert w.get(broad()).status_code == 200
    assert w.client.get(broad(), headers=w.headers(client_id="nac-2")).status_code == 200
    assert w.get(broad()).status_code == 503


def test_legacy_and_cr_share_the_limit(w: World) -> None:
    assert w.get(broad()).status_code == 200
    legacy = w.get(broad(base=f"{NAC}/ciscodeviceinfo/mdm/api"))
    assert legacy.status_code == 503 and "Retry-After" in legacy.headers
