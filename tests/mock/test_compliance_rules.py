"""Intune's compliance state rules (STA-01, 02, 04, 05, 06; RED-02) in virtual time, no sleeps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from nac_world import START, guid, make_world

from mock_intune import compliance
from mock_intune.errors import IllegalTransition, StateError
from mock_intune.model import ComplianceState, Device, NoPolicyMark, TenantSettings

DAY = 86_400.0


def fresh(**fields: object) -> Device:
    return Device(intune_id=guid(1), azure_ad_device_id="aad", **fields)  # type: ignore[arg-type]


def test_unknown_only_before_first_evaluation() -> None:
    enrolled = compliance.enroll(fresh(), START)
    assert enrolled.compliance_state is ComplianceState.UNKNOWN
    assert enrolled.evaluated_at is None
    evaluated = compliance.evaluate(enrolled, TenantSettings(), START)
    assert evaluated.compliance_state is ComplianceState.COMPLIANT
    assert evaluated.evaluated_at == START
    # Check-ins with any posture never bring the state back to Unknown.
    device = evaluated
    for i, posture in enumerate([False, True, False, False, True]):
        device = compliance.check_in(
            device.copy(posture_compliant=posture), TenantSettings(), START + timedelta(hours=i)
        )
        assert device.compliance_state is not ComplianceState.UNKNOWN


@pytest.mark.parametrize("evaluated_state", [ComplianceState.COMPLIANT, ComplianceState.NONCOMPLIANT])
def test_no_return_to_unknown_raises(evaluated_state: ComplianceState) -> None:
    device = compliance.set_state(compliance.enroll(fresh(), START), evaluated_state, START)
    with pytest.raises(IllegalTransition) as err:
        compliance.set_state(device, ComplianceState.UNKNOWN, START)
    assert "STA-01" in str(err.value)
    assert err.value.old == evaluated_state.value and err.value.new == "unknown"


def test_service_enforces_the_rules_on_every_path() -> None:
    w = make_world()
    w.add(1)
    with pytest.raises(IllegalTransition):
        w.svc.set_state(guid(1), ComplianceState.UNKNOWN)
    stored = w.svc.device(guid(1))
    with pytest.raises(IllegalTransition):
        w.svc.update_device(stored.copy(compliance_state=ComplianceState.UNKNOWN))
    assert w.svc.device(guid(1)).compliance_state is ComplianceState.COMPLIANT


def test_unenrolled_device_has_no_compliance_state() -> None:
    retired = compliance.retire(
        compliance.set_state(compliance.enroll(fresh(), START), ComplianceState.COMPLIANT, START)
    )
    assert retired.compliance_state is ComplianceState.UNKNOWN and not retired.managed
    with pytest.raises(IllegalTransition):
        compliance.set_state(retired, ComplianceState.COMPLIANT, START)
    with pytest.raises(StateError):
        compliance.evaluate(retired, TenantSettings(), START)
    # Re-enrolling makes it a newly enrolled device again: Unknown until evaluated.
    again = compliance.enroll(retired, START + timedelta(days=1))
    assert again.compliance_state is ComplianceState.UNKNOWN and again.managed


def test_validity_period_turns_a_silent_device_noncompliant() -> None:
    w = make_world()
    w.svc.update_settings(TenantSettings(validity_days=30))
    w.add(1)
    assert w.svc.status(w.svc.device(guid(1))).compliant
    w.clock.advance(30 * DAY)
    status = w.svc.status(w.svc.device(guid(1)))
    assert status.compliant and status.state is ComplianceState.COMPLIANT  # exactly 30 days: still valid
    w.clock.advance(1)
    status = w.svc.status(w.svc.device(guid(1)))
    assert not status.compliant and status.state is ComplianceState.NONCOMPLIANT
    assert [d.intune_id for d in w.svc.noncompliant()] == [guid(1)]
    # A check-in restores it.
    w.svc.check_in(guid(1))
    assert w.svc.status(w.svc.device(guid(1))).compliant


def test_validity_period_is_a_tenant_setting() -> None:
    w = make_world()
    w.svc.update_settings(TenantSettings(validity_days=1))
    w.add(1)
    w.clock.advance(1 * DAY + 1)
    assert not w.svc.status(w.svc.device(guid(1))).compliant


def test_grace_period_keeps_access_until_it_expires() -> None:
    settings = TenantSettings(grace_period_hours=24)
    device = compliance.evaluate(compliance.enroll(fresh(posture_compliant=False), START), settings, START)
    assert device.compliance_state is ComplianceState.IN_GRACE_PERIOD
    assert device.grace_expires_at == START + timedelta(hours=24)
    assert compliance.is_compliant(device, settings, START + timedelta(hours=23))
    later = START + timedelta(hours=24)
    assert compliance.effective_state(device, settings, later) is ComplianceState.NONCOMPLIANT
    assert not compliance.is_compliant(device, settings, later)
    # Re-evaluation after expiry records noncompliant; the grace deadline does not restart.
    reevaluated = compliance.evaluate(device, settings, later)
    assert reevaluated.compliance_state is ComplianceState.NONCOMPLIANT
    assert reevaluated.grace_expires_at == START + timedelta(hours=24)
    # Fixing the device clears the grace period.
    fixed = compliance.evaluate(reevaluated.copy(posture_compliant=True), settings, later)
    assert fixed.compliance_state is ComplianceState.COMPLIANT and fixed.grace_expires_at is None


def test_no_grace_period_means_noncompliant_at_once() -> None:
    device = compliance.evaluate(
        compliance.enroll(fresh(posture_compliant=False), START), TenantSettings(), START
    )
    assert device.compliance_state is ComplianceState.NONCOMPLIANT
    assert not compliance.is_compliant(device, TenantSettings(), START)


@pytest.mark.parametrize(
    ("mark", "expected"),
    [
        (NoPolicyMark.COMPLIANT, ComplianceState.COMPLIANT),
        (NoPolicyMark.NONCOMPLIANT, ComplianceState.NONCOMPLIANT),
    ],
)
def test_no_policy_setting_both_ways(mark: NoPolicyMark, expected: ComplianceState) -> None:
    settings = TenantSettings(no_policy_mark=mark)
    # The device's posture does not matter when no policy applies.
    for posture in (True, False):
        device = compliance.evaluate(
            compliance.enroll(fresh(has_policy=False, posture_compliant=posture), START), settings, START
        )
        assert device.compliance_state is expected


def test_no_policy_setting_flip_applies_at_next_evaluation() -> None:
    w = make_world()
    w.add(1, has_policy=False)
    assert w.svc.status(w.svc.device(guid(1))).compliant
    w.svc.update_settings(TenantSettings(no_policy_mark=NoPolicyMark.NONCOMPLIANT))
    w.svc.check_in(guid(1))
    assert w.svc.device(guid(1)).compliance_state is ComplianceState.NONCOMPLIANT


def test_portal_visit_reevaluates_synchronously() -> None:
    w = make_world()
    w.add(1, posture_compliant=False)
    assert w.svc.device(guid(1)).compliance_state is ComplianceState.NONCOMPLIANT
    w.svc.set_posture(guid(1), True)
    # Intune does not know yet: the posture change waits for a check-in or a portal visit.
    assert w.svc.device(guid(1)).compliance_state is ComplianceState.NONCOMPLIANT
    w.clock.advance(60)
    visited = w.svc.portal_visit(guid(1))
    assert visited.compliance_state is ComplianceState.COMPLIANT
    assert visited.evaluated_at == START + timedelta(seconds=60)


def test_portal_visit_evaluates_a_new_device_out_of_unknown() -> None:
    w = make_world()
    w.add(1, evaluate=False)
    assert w.svc.device(guid(1)).compliance_state is ComplianceState.UNKNOWN
    assert not w.svc.status(w.svc.device(guid(1))).compliant  # ACC-04: Unknown is not compliant
    assert w.svc.portal_visit(guid(1)).compliance_state is ComplianceState.COMPLIANT


def test_checkin_cadence() -> None:
    device = compliance.enroll(fresh(), START)
    assert compliance.next_checkin(device, START + timedelta(minutes=10)) == START + timedelta(minutes=25)
    assert compliance.next_checkin(device, START + timedelta(hours=2)) == START + timedelta(hours=10)


def test_settings_validation() -> None:
    with pytest.raises(ValueError, match="validity_days"):
        TenantSettings(validity_days=0)
    with pytest.raises(ValueError, match="validity_days"):
        TenantSettings(validity_days=121)
    with pytest.raises(ValueError, match="grace_period_hours"):
        TenantSettings(grace_period_hours=-1)
