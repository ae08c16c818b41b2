"""Intune's compliance state machine, as pure functions over :class:`Device` and a time.

The rules it enforces (Microsoft's NAC doc, "Feature behaviors", and the compliance overview):

* Unknown is reserved for newly enrolled devices that have not been evaluated yet (STA-02);
* a device that is actively syncing never moves from an evaluated state back to Unknown (STA-01);
* a device that has not checked in within the validity period reads as noncompliant (STA-04);
* devices with no compliance policy assigned take the tenant's "mark as" setting (STA-05);
* a failing device with a grace period is ``inGracePeriod`` until it expires, then noncompliant (STA-06);
* a portal visit or a check-in re-evaluates the device synchronously (RED-02).

Nothing here reads the wall clock: every function takes ``now``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .errors import IllegalTransition, StateError
from .model import ComplianceState, Device, RegistrationState, TenantSettings

CHECKIN_FAST = timedelta(minutes=15)
CHECKIN_FAST_WINDOW = timedelta(hours=1)
CHECKIN_NORMAL = timedelta(hours=8)

_EVALUATED = frozenset(ComplianceState) - {ComplianceState.UNKNOWN}


def check_transition(device: Device, new: ComplianceState) -> None:
    """Raise :class:`IllegalTransition` unless ``device`` may move to ``new``."""
    old = device.compliance_state
    if new is ComplianceState.UNKNOWN and old in _EVALUATED:
        raise IllegalTransition(
            device.intune_id, old.value, new.value, "STA-01: an evaluated device never returns to Unknown"
        )
    if new is not ComplianceState.UNKNOWN and not device.managed:
        raise IllegalTransition(
            device.intune_id, old.value, new.value, "only enrolled devices have a compliance state"
        )


def set_state(device: Device, new: ComplianceState, now: datetime) -> Device:
    """Force ``device`` into ``new`` (an admin override) while keeping Intune's rules.

    Setting an evaluated state counts as an evaluation and a sync at ``now``.
    """
    check_transition(device, new)
    if new is ComplianceState.UNKNOWN:
        return device.copy(compliance_state=new)
    grace = device.grace_expires_at if new is ComplianceState.IN_GRACE_PERIOD else None
    return device.copy(compliance_state=new, evaluated_at=now, last_sync_at=now, grace_expires_at=grace)


def enroll(device: Device, now: datetime) -> Device:
    """Enroll (or re-enroll) a device: it is managed and Unknown until its first evaluation."""
    return device.copy(
        managed=True,
        registration_state=RegistrationState.REGISTERED,
        enrolled_at=now,
        last_sync_at=now,
        evaluated_at=None,
        compliance_state=ComplianceState.UNKNOWN,
        grace_expires_at=None,
    )


def retire(device: Device) -> Device:
    """Remove a device from management: Intune then shares only "not managed"."""
    return device.copy(
        managed=False,
        registration_state=RegistrationState.NOT_REGISTERED,
        compliance_state=ComplianceState.UNKNOWN,
        evaluated_at=None,
        grace_expires_at=None,
    )


def evaluate(device: Device, settings: TenantSettings, now: datetime) -> Device:
    """Evaluate the device's compliance now (a check-in or a portal visit) and record the sync."""
    if not device.managed:
        raise StateError(f"device {device.intune_id} is not enrolled; it cannot be evaluated")
    grace = device.grace_expires_at
    if not device.has_policy:
        state = (
            ComplianceState.COMPLIANT
            if settings.no_policy_mark.value == "compliant"
            else ComplianceState.NONCOMPLIANT
        )
        grace = None
    elif device.posture_compliant:
        state, grace = ComplianceState.COMPLIANT, None
    elif settings.grace_period_hours > 0:
        if grace is None:
            grace = now + timedelta(hours=settings.grace_period_hours)
        state = ComplianceState.IN_GRACE_PERIOD if now < grace else ComplianceState.NONCOMPLIANT
    else:
        state, grace = ComplianceState.NONCOMPLIANT, None
    check_transition(device, state)
    return device.copy(compliance_state=state, grace_expires_at=grace, evaluated_at=now, last_sync_at=now)


def check_in(device: Device, settings: TenantSettings, now: datetime) -> Device:
    """A device check-in: Intune syncs it and re-evaluates its policies."""
    return evaluate(device, settings, now)


def effective_state(device: Device, settings: TenantSettings, now: datetime) -> ComplianceState:
    """The state Intune reports at ``now``, after the validity period and grace expiry apply."""
    state = device.compliance_state
    if not device.managed or state is ComplianceState.UNKNOWN:
        return state
    if (
        state is ComplianceState.IN_GRACE_PERIOD
        and device.grace_expires_at
        and now >= device.grace_expires_at
    ):
        return ComplianceState.NONCOMPLIANT
    if device.last_sync_at is not None and now - device.last_sync_at > timedelta(days=settings.validity_days):
        return ComplianceState.NONCOMPLIANT
    return state


def is_compliant(device: Device, settings: TenantSettings, now: datetime) -> bool:
    """What the Cisco ``Compliance/status`` and the JSON ``complianceState`` boolean report.

    Only ``compliant`` and ``inGracePeriod`` (Graph: "non-compliant but still has access") are true.
    """
    return device.managed and effective_state(device, settings, now).grants_access


def next_checkin(device: Device, now: datetime) -> datetime:
    """When the device checks in next: every 15 min in the first hour after enrollment, then 8 h."""
    if device.enrolled_at is not None and now - device.enrolled_at < CHECKIN_FAST_WINDOW:
        return now + CHECKIN_FAST
    return now + CHECKIN_NORMAL
