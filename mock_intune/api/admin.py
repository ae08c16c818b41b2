"""Surface ``admin``: the operator's API under ``/admin`` (seed, state, settings, apps, faults, calls).

Every route needs ``Authorization: Bearer <config.admin_token>`` (401 otherwise). Bodies are JSON
(device seeds also YAML); errors are ``{"error": {"code", "message"}}`` with a 4xx status, never a
500. State changes go through :class:`~mock_intune.service.MockIntune`, so Intune's rules hold here
too: an illegal compliance transition is a 409 naming the rule. Admin calls are not written to the
NAC call log.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Response, jsonify, request

from .. import compliance, faults
from ..errors import InputError, NotFound, RequestError
from ..model import (
    AppRegistration,
    ComplianceState,
    Device,
    Permission,
    Surface,
    TenantSettings,
    normalize_guid,
)
from ..seed import GRAPH_ALIASES, convert_field, load_document, parse_devices
from ..service import MockIntune
from ..store import device_to_json
from . import service_of

SURFACE = Surface.ADMIN
bp = Blueprint("admin", __name__, url_prefix="/admin")

YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})
JSON_TYPES = frozenset({"application/json", "text/json"})
PATCHABLE = frozenset(
    {
        "device_name",
        "wifi_mac",
        "ethernet_mac",
        "serial_number",
        "imei",
        "meid",
        "udid",
        "operating_system",
        "os_version",
        "model",
        "manufacturer",
        "owner_type",
        "user_principal_name",
        "registration_state",
        "enrolled_at",
        "last_sync_at",
        "grace_expires_at",
        "has_policy",
        "jail_broken",
        "is_encrypted",
    }
)
"""Device fields PATCH may set directly; state, posture and enrolment have their own rules."""
ACTIONS = ("enroll", "retire", "check-in", "evaluate", "portal-visit")
SETTINGS_FIELDS = frozenset({"no_policy_mark", "validity_days", "grace_period_hours"})
MAX_CALLS = 10_000


@bp.before_request
def _require_admin_token() -> None:
    svc = service_of()
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    expected = svc.config.admin_token
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise RequestError(
            401,
            "the admin API needs 'Authorization: Bearer <admin token>' (printed by 'nac-harness mock serve')",
            code="Unauthorized",
            headers={"WWW-Authenticate": 'Bearer realm="mock-intune-admin"'},
        )


# -- helpers ------------------------------------------------------------------------------------
def _json_object(where: str = "body") -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that says what is wrong with it."""
    if request.mimetype not in JSON_TYPES:
        raise RequestError(415, f"{where}: send Content-Type: application/json", code="UnsupportedMediaType")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InputError("want a JSON object", where=where)
    return data


def _tenant(svc: MockIntune) -> str:
    """The tenant an admin call addresses (``?tenant=``; the mock's own by default)."""
    raw = request.args.get("tenant")
    if raw is None:
        return svc.tenant_id
    tenant = normalize_guid(raw)
    if tenant not in svc.store.tenants():
        raise NotFound(f"tenant {tenant} does not exist")
    return tenant


def device_view(
    svc: MockIntune, device: Device, tenant_id: str, settings: TenantSettings | None = None
) -> dict[str, Any]:
    """A device as the admin API shows it: stored fields plus what Intune reports about it now."""
    settings = settings or svc.settings(tenant_id)
    now = svc.now()
    state = compliance.effective_state(device, settings, now)
    return {
        **device_to_json(device),
        "effective_state": state.value,
        "compliant": compliance.is_compliant(device, settings, now),
    }


def _bool_arg(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if raw.lower() not in ("true", "false"):
        raise InputError(f"want true or false, got {raw[:32]!r}", where=f"query parameter {name}")
    return raw.lower() == "true"


def _int_arg(name: str, default: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) > maximum:
        raise InputError(f"want an integer 0..{maximum}, got {raw[:32]!r}", where=f"query parameter {name}")
    return int(raw)


def app_view(app: AppRegistration) -> dict[str, Any]:
    """An app registration without its secret."""
    return {
        "client_id": app.client_id,
        "tenant_id": app.tenant_id,
        "display_name": app.display_name,
        "permissions": sorted(p.value for p in app.permissions),
        "has_secret": bool(app.client_secret),
        "has_certificate": bool(app.certificate_pem),
    }


def _permissions(raw: Any, where: str) -> frozenset[Permission]:
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise InputError("want a list of permission names", where=where)
    try:
        return frozenset(Permission(p) for p in raw)
    except ValueError:
        known = ", ".join(p.value for p in Permission)
        bad = next(p for p in raw if p not in {q.value for q in Permission})
        raise InputError(f"unknown permission {bad[:64]!r} (known: {known})", where=where) from None


# -- devices -------------------------------------------------------------------------------------
@bp.get("/devices")
def list_devices() -> Response:
    svc = service_of()
    tid = _tenant(svc)
    managed = _bool_arg("managed")
    state_filter = request.args.get("state")
    if state_filter is not None and state_filter not in {s.value for s in ComplianceState}:
        raise InputError(f"unknown compliance state {state_filter[:32]!r}", where="query parameter state")
    limit = _int_arg("limit", 1000, 100_000)
    offset = _int_arg("offset", 0, 10_000_000)
    settings = svc.settings(tid)
    views = [device_view(svc, d, tid, settings) for d in svc.store.devices(tid)]
    if managed is not None:
        views = [v for v in views if v["managed"] is managed]
    if state_filter is not None:
        views = [v for v in views if v["effective_state"] == state_filter]
    return jsonify({"count": len(views), "devices": views[offset : offset + limit]})


@bp.post("/devices")
def seed_devices() -> tuple[Response, int]:
    svc = service_of()
    tid = _tenant(svc)
    if request.mimetype in JSON_TYPES:
        fmt = "json"
    elif request.mimetype in YAML_TYPES:
        fmt = "yaml"
    else:
        raise RequestError(
            415,
            f"send the seed document as application/json or application/yaml, not {request.mimetype or 'nothing'!r}",
            code="UnsupportedMediaType",
        )
    doc = load_document(request.get_data(cache=False), fmt=fmt, source="request body")
    devices = parse_devices(doc, now=svc.now(), source="request body")
    svc.seed(devices, tid)
    return jsonify({"seeded": len(devices), "ids": [d.intune_id for d in devices]}), 201


def _device_id(device_id: str) -> str:
    return normalize_guid(device_id)


@bp.get("/devices/<device_id>")
def get_device(device_id: str) -> Response:
    svc = service_of()
    tid = _tenant(svc)
    return jsonify(device_view(svc, svc.device(_device_id(device_id), tid), tid))


@bp.delete("/devices/<device_id>")
def delete_device(device_id: str) -> tuple[str, int]:
    svc = service_of()
    tid = _tenant(svc)
    if not svc.store.delete_device(tid, _device_id(device_id)):
        raise NotFound(f"device {device_id} does not exist")
    return "", 204


@bp.patch("/devices/<device_id>")
def patch_device(device_id: str) -> Response:
    """Change a device: plain fields, then ``posture`` (what the device is), then ``compliance_state``.

    ``posture`` is ``compliant`` / ``noncompliant`` (or ``posture_compliant`` true/false): Intune
    learns it at the next check-in, evaluation or portal visit. ``compliance_state`` overrides
    Intune's evaluated state through the state machine (409 for an illegal transition).
    """
    svc = service_of()
    tid = _tenant(svc)
    intune_id = _device_id(device_id)
    body = _json_object()
    device = svc.device(intune_id, tid)
    changes: dict[str, Any] = {}
    posture: bool | None = None
    state: ComplianceState | None = None
    for raw_key, raw in body.items():
        where = f"body.{raw_key}"
        key = GRAPH_ALIASES.get(raw_key, raw_key)
        if key == "posture":
            if raw not in ("compliant", "noncompliant"):
                raise InputError(f"want 'compliant' or 'noncompliant', got {raw!r}", where=where)
            posture = raw == "compliant"
        elif key == "posture_compliant":
            if not isinstance(raw, bool):
                raise InputError(f"want true or false, got {raw!r}", where=where)
            posture = raw
        elif key == "compliance_state":
            try:
                state = convert_field(key, raw)
            except (ValueError, TypeError) as exc:
                raise InputError(str(exc), where=where) from None
        elif key in PATCHABLE:
            try:
                changes[key] = convert_field(key, raw)
            except (ValueError, TypeError) as exc:
                raise InputError(
                    exc.message if isinstance(exc, InputError) else str(exc), where=where
                ) from None
        else:
            hint = "use the enroll / retire actions" if key == "managed" else "not a patchable field"
            raise InputError(
                f"{hint} (patchable: {', '.join(sorted(PATCHABLE | {'posture', 'compliance_state'}))})",
                where=where,
            )
    if state is not None:
        # Check the transition before changing anything, so a 409 leaves the device as it was.
        from ..compliance import check_transition

        check_transition(device, state)
    if changes:
        device = svc.update_device(device.copy(**changes), tid)
    if posture is not None:
        device = svc.set_posture(intune_id, posture, tid)
    if state is not None:
        device = svc.set_state(intune_id, state, tid)
    return jsonify(device_view(svc, device, tid))


@bp.post("/devices/<device_id>/<any(" + ", ".join(f'"{a}"' for a in ACTIONS) + "):action>")
def device_action(device_id: str, action: str) -> Response:
    """Enroll, retire, check in, evaluate, or visit the portal (synchronous re-evaluation)."""
    svc = service_of()
    tid = _tenant(svc)
    intune_id = _device_id(device_id)
    run = {
        "enroll": svc.enroll,
        "retire": svc.retire,
        "check-in": svc.check_in,
        "evaluate": svc.evaluate,
        "portal-visit": svc.portal_visit,
    }[action]
    return jsonify(device_view(svc, run(intune_id, tid), tid))


# -- tenant settings ------------------------------------------------------------------------------
@bp.get("/settings")
def get_settings() -> Response:
    svc = service_of()
    return jsonify(svc.settings(_tenant(svc)).to_json())


@bp.route("/settings", methods=["PUT", "PATCH"])
def put_settings() -> Response:
    """Change tenant settings; fields left out keep their value."""
    svc = service_of()
    tid = _tenant(svc)
    body = _json_object()
    unknown = set(body) - SETTINGS_FIELDS
    if unknown:
        raise InputError(
            f"unknown field(s) {sorted(unknown)} (known: {', '.join(sorted(SETTINGS_FIELDS))})", where="body"
        )
    merged = {**svc.settings(tid).to_json(), **body}
    mark = merged["no_policy_mark"]
    if mark not in ("compliant", "noncompliant"):
        raise InputError(f"want 'compliant' or 'noncompliant', got {mark!r}", where="body.no_policy_mark")
    days = merged["validity_days"]
    if isinstance(days, bool) or not isinstance(days, int):
        raise InputError(f"want an integer 1..120, got {days!r}", where="body.validity_days")
    hours = merged["grace_period_hours"]
    if isinstance(hours, bool) or not isinstance(hours, int | float) or hours != hours or hours > 8760:
        raise InputError(f"want a number of hours 0..8760, got {hours!r}", where="body.grace_period_hours")
    settings = TenantSettings.from_json(merged)
    svc.update_settings(settings, tid)
    return jsonify(settings.to_json())


# -- app registrations ------------------------------------------------------------------------------
@bp.get("/apps")
def list_apps() -> Response:
    return jsonify({"apps": [app_view(a) for a in service_of().store.apps()]})


@bp.get("/apps/<client_id>")
def get_app(client_id: str) -> Response:
    return jsonify(app_view(service_of().app(client_id)))


@bp.post("/apps")
def register_app() -> tuple[Response, int]:
    """Register (or replace) an app: ``client_id``, ``permissions``, and a secret and/or certificate."""
    svc = service_of()
    body = _json_object()
    known = {"client_id", "tenant_id", "display_name", "client_secret", "certificate_pem", "permissions"}
    unknown = set(body) - known
    if unknown:
        raise InputError(
            f"unknown field(s) {sorted(unknown)} (known: {', '.join(sorted(known))})", where="body"
        )
    if "client_id" not in body or not isinstance(body["client_id"], str):
        raise InputError("required: the app's client id (a GUID)", where="body.client_id")
    for key in ("display_name", "client_secret", "certificate_pem"):
        if (
            key in body
            and body[key] is not None
            and (not isinstance(body[key], str) or len(body[key]) > 16_384)
        ):
            raise InputError("want a string (at most 16 KiB)", where=f"body.{key}")
    pem = body.get("certificate_pem")
    if pem is not None and "-----BEGIN CERTIFICATE-----" not in pem:
        raise InputError("want a PEM certificate", where="body.certificate_pem")
    app = AppRegistration(
        client_id=normalize_guid(body["client_id"]),
        tenant_id=normalize_guid(body.get("tenant_id") or svc.tenant_id),
        display_name=body.get("display_name") or "NAC partner app",
        client_secret=body.get("client_secret"),
        certificate_pem=pem,
        permissions=_permissions(body.get("permissions", []), "body.permissions"),
    )
    svc.register_app(app)
    return jsonify(app_view(app)), 201


@bp.put("/apps/<client_id>/permissions")
def set_app_permissions(client_id: str) -> Response:
    """Replace an app's granted application permissions (e.g. drop ``get_device_compliance``: ONB-05)."""
    svc = service_of()
    app = svc.app(client_id)
    body = _json_object()
    if set(body) != {"permissions"}:
        raise InputError("want exactly {'permissions': [...]}", where="body")
    updated = AppRegistration(
        client_id=app.client_id,
        tenant_id=app.tenant_id,
        display_name=app.display_name,
        client_secret=app.client_secret,
        certificate_pem=app.certificate_pem,
        permissions=_permissions(body["permissions"], "body.permissions"),
    )
    svc.register_app(updated)
    return jsonify(app_view(updated))


# -- where the NAC service lives ------------------------------------------------------------------
@bp.get("/service-endpoint")
def get_service_endpoint() -> Response:
    svc = service_of()
    return jsonify({"base_url": svc.service_base(request.host_url.rstrip("/"))})


@bp.put("/service-endpoint")
def move_service_endpoint() -> Response:
    """Move the service base discovery advertises (``{"base_url": ...}``; null moves it back)."""
    svc = service_of()
    body = _json_object()
    if set(body) != {"base_url"} or not (body["base_url"] is None or isinstance(body["base_url"], str)):
        raise InputError(
            "want exactly {'base_url': 'https://host[/segment]' | '/segment' | null}", where="body"
        )
    svc.set_service_base(body["base_url"])
    return jsonify({"base_url": svc.service_base(request.host_url.rstrip("/"))})


# -- faults ------------------------------------------------------------------------------------------
@bp.get("/faults")
def list_faults() -> Response:
    return jsonify({"faults": faults.get_faults(service_of())})


@bp.put("/faults/<surface>")
def set_fault(surface: str) -> Response:
    spec = faults.set_fault(service_of(), surface, _json_object("fault"))
    assert spec is not None
    return jsonify({"surface": surface, "fault": spec.to_json()})


@bp.delete("/faults/<surface>")
def clear_fault(surface: str) -> tuple[str, int]:
    faults.set_fault(service_of(), surface, None)
    return "", 204


# -- call log, reset, clock -------------------------------------------------------------------------
@bp.get("/calls")
def list_calls() -> Response:
    """The NAC call log after sequence number ``after``, optionally for one ``surface``."""
    svc = service_of()
    after = _int_arg("after", 0, 2**62)
    limit = _int_arg("limit", 1000, MAX_CALLS)
    raw_surface = request.args.get("surface")
    surface = None
    if raw_surface is not None:
        try:
            surface = Surface(raw_surface)
        except ValueError:
            known = ", ".join(s.value for s in Surface if s is not Surface.ADMIN)
            raise InputError(
                f"unknown surface {raw_surface[:32]!r} (known: {known})", where="query parameter surface"
            ) from None
    calls = svc.store.calls(after=after, surface=surface, limit=limit)
    last = calls[-1].seq if calls else after
    return jsonify({"calls": [c.to_json() for c in calls], "last": last})


@bp.post("/reset")
def reset() -> Response:
    """Forget devices, calls, faults, throttling and replay state (tenants, apps and keys stay)."""
    svc = service_of()
    svc.reset()
    return jsonify({"reset": True})


@bp.get("/clock")
def clock() -> Response:
    svc = service_of()
    return jsonify({"now": svc.now().isoformat(), "time_scale": svc.config.time_scale})


@bp.get("/tenant")
def tenant() -> Response:
    """Who the mock is: tenant id, the default app's client id, and the tenant's settings."""
    svc = service_of()
    return jsonify(
        {
            "tenant_id": svc.tenant_id,
            "client_id": svc.config.client_id,
            "tenants": svc.store.tenants(),
            "settings": svc.settings().to_json(),
            "devices": svc.store.count_devices(svc.tenant_id),
        }
    )
