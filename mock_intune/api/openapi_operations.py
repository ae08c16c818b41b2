"""What each route of the mock takes and answers, for ``/openapi.json`` (keyed by Flask endpoint, method).

:mod:`mock_intune.api.openapi` joins these with the app's ``url_map`` (which supplies the paths and
path parameters). Keep an entry per endpoint the blueprints register: the test suite compares both.
"""

from __future__ import annotations

from typing import Any

STR: dict[str, Any] = {"type": "string"}
BOOL_STR: dict[str, Any] = {"type": "string", "enum": ["true", "false"]}

SECURITY_SCHEMES: dict[str, Any] = {
    "adminToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "The mock's admin token (MockConfig.admin_token, printed by `nac-harness mock serve`).",
    },
    "manageToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "Entra access token for https://api.manage.microsoft.com/ with get_device_compliance.",
    },
    "graphToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": (
            "Entra access token for https://graph.microsoft.com with DeviceManagementManagedDevices.Read.All "
            "(managedDevices) or Application.Read.All (discovery)."
        ),
    },
    "aadGraphToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "Entra access token for https://graph.windows.net with Application.Read.All.",
    },
    "clientBasic": {
        "type": "http",
        "scheme": "basic",
        "description": "client_id:client_secret, an alternative to form fields on the token endpoints.",
    },
}

TAGS: list[dict[str, str]] = [
    {"name": "entra", "description": "Entra ID: OIDC metadata, JWKS, client-credentials tokens"},
    {"name": "discovery", "description": "Where the NAC and Compliance Retrieval services live (ONB-01)"},
    {"name": "cr-cisco", "description": "Compliance Retrieval service, Cisco MDM API v3 (XML)"},
    {"name": "legacy-cisco", "description": "Legacy NAC service, Cisco MDM API v2 (XML)"},
    {"name": "legacy-json", "description": "Legacy NAC service, JSON NAC API 1.x"},
    {"name": "graph", "description": "Microsoft Graph deviceManagement/managedDevices"},
    {"name": "portal", "description": "Management portal: re-evaluates the device on visit"},
    {"name": "admin", "description": "Operator API of the mock (admin token)"},
    {"name": "meta", "description": "This document"},
]


def query(
    name: str, description: str, schema: dict[str, Any] | None = None, required: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema or STR,
    }


def header(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": False, "description": description, "schema": STR}


def json_content(schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"application/json": {"schema": schema or {"type": "object"}}}


def answers(
    ok: str, content_type: str = "application/json", status: str = "200", **errors: str
) -> dict[str, Any]:
    out: dict[str, Any] = {status: {"description": ok, "content": {content_type: {"schema": {}}}}}
    if status == "204":
        out[status] = {"description": ok}
    for code, text in errors.items():
        out[code.lstrip("_")] = {"description": text}
    out.setdefault(
        "4XX", {"description": "bad request, token, permission or state, in the surface's error shape"}
    )
    return out


def op(
    summary: str,
    tag: str,
    responses: dict[str, Any],
    *,
    security: list[dict[str, list[str]]] | None = None,
    parameters: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    description: str = "",
) -> dict[str, Any]:
    out: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": responses}
    if description:
        out["description"] = description
    if security is not None:
        out["security"] = security
    if parameters:
        out["parameters"] = parameters
    if body is not None:
        out["requestBody"] = body
    return out


ADMIN: list[dict[str, list[str]]] = [{"adminToken": []}]
MANAGE: list[dict[str, list[str]]] = [{"manageToken": []}]
GRAPH: list[dict[str, list[str]]] = [{"graphToken": []}]
PUBLIC: list[dict[str, list[str]]] = []

# -- entra -------------------------------------------------------------------------------------------
_TOKEN_FORM = {
    "required": False,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "properties": {
                    "grant_type": {"type": "string", "enum": ["client_credentials"]},
                    "client_id": STR,
                    "client_secret": STR,
                    "resource": {**STR, "description": "v1: e.g. https://api.manage.microsoft.com/"},
                    "scope": {**STR, "description": "v2: e.g. https://api.manage.microsoft.com//.default"},
                    "client_assertion_type": {
                        "type": "string",
                        "enum": ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"],
                    },
                    "client_assertion": {
                        **STR,
                        "description": "RS256 JWT signed with the registered certificate",
                    },
                },
            }
        }
    },
}
_TOKEN_OK = answers(
    "access token (token_type, expires_in, access_token)", _400="AADSTS error", _401="invalid client"
)


def _token_ops(version: str) -> dict[str, Any]:
    post = op(
        f"Client-credentials token ({version} endpoint)",
        "entra",
        _TOKEN_OK,
        security=[{}, {"clientBasic": []}],
        body=_TOKEN_FORM,
        description="Client secret (form or HTTP Basic) or certificate client assertion; AADSTS errors otherwise.",
    )
    wrong = op(
        "Token endpoint, wrong method: answers an AADSTS error",
        "entra",
        answers("never", status="405"),
        security=PUBLIC,
    )
    return {"post": post, "get": wrong, "put": wrong, "delete": wrong, "patch": wrong}


def _get_or_post(
    summary: str, tag: str, ok: str, parameters: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    get = op(summary, tag, answers(ok), security=PUBLIC, parameters=parameters)
    post = op(
        summary + " (POST answers AADSTS900561: GET only)",
        tag,
        answers("never", status="400"),
        security=PUBLIC,
        parameters=parameters,
    )
    return {"get": get, "post": post}


_ENTRA = {
    "entra.openid_configuration_v1": _get_or_post("OIDC metadata (v1)", "entra", "OpenID configuration"),
    "entra.openid_configuration_v2": _get_or_post("OIDC metadata (v2.0)", "entra", "OpenID configuration"),
    "entra.jwks": _get_or_post("Signing keys (JWKS)", "entra", "JSON Web Key Set"),
    "entra.instance_discovery": _get_or_post(
        "Instance discovery (MSAL)",
        "entra",
        "tenant discovery endpoint and metadata",
        [query("authorization_endpoint", "authority's authorize URL"), query("api-version", "e.g. 1.1")],
    ),
    "entra.token_v1": _token_ops("v1"),
    "entra.token_v2": _token_ops("v2.0"),
}

# -- discovery ---------------------------------------------------------------------------------------
_GRAPH_IDS = [
    header("client-request-id", "echoed in the response and in error innerError"),
]
_DISCOVERY = {
    "discovery.graph_endpoints": {
        "get": op(
            "Intune service principal endpoints (Microsoft Graph)",
            "discovery",
            answers("value[] of {providerName, uri, …}: NACAPIService, ComplianceRetrievalService"),
            security=GRAPH,
            parameters=_GRAPH_IDS,
            description="key is appId=0000000a-0000-0000-c000-000000000000 or the service principal's object id.",
        )
    },
    "discovery.graph_endpoints_by_key": {
        "get": op(
            "Intune service principal endpoints, OData key form servicePrincipals(appId='…')",
            "discovery",
            answers("value[] of {providerName, uri, …}"),
            security=GRAPH,
            parameters=_GRAPH_IDS,
        )
    },
    "discovery.aad_service_endpoints": {
        "get": op(
            "Intune service endpoints (Azure AD Graph)",
            "discovery",
            answers("value[] of {serviceName, uri, …}"),
            security=[{"aadGraphToken": []}],
            parameters=[
                query("api-version", "1.6 (may also be sent as a header)"),
                header("api-version", "1.6"),
            ],
        )
    },
}

# -- Cisco surfaces ----------------------------------------------------------------------------------
_ISE_VERSION = [query("ise_api_version", "highest MDM API version the NAC speaks", {"type": "string"})]
_CISCO_QUERY = [
    query("paging", "0 on the first call, then the paging_info the mock returned"),
    query("querycriteria", "guid, macaddress, compliance, … (per surface)"),
    query("value", "the identifier (GUID, 12-hex MAC, …) or true/false for compliance"),
    query("filter", "all, or +-separated attribute names"),
    query("deviceidentifier", "guid or macaddress (bulk compliance queries, v3)"),
]
_XML = "application/xml"


def _cisco(tag: str, label: str) -> dict[str, dict[str, Any]]:
    return {
        "mdminfo": {
            "get": op(
                f"{label}: mdminfo",
                tag,
                answers("ise_api mdminfo", _XML),
                security=MANAGE,
                parameters=_ISE_VERSION,
            )
        },
        "devices": {
            "get": op(
                f"{label}: device attributes query",
                tag,
                answers(
                    "ise_api deviceList (empty for unknown or unenrolled devices)",
                    _XML,
                    _503="broad compliance query inside the 4-hour window (Retry-After)",
                ),
                security=MANAGE,
                parameters=_CISCO_QUERY,
            )
        },
    }


_CR = _cisco("cr-cisco", "Compliance Retrieval (Cisco MDM API v3)")
_V2 = _cisco("legacy-cisco", "Legacy NAC service (Cisco MDM API v2)")
_LEGACY_JSON = {
    "get": op(
        "Legacy JSON NAC API 1.x: device by MAC",
        "legacy-json",
        answers("flat device object (isManaged, complianceState boolean, lastContactTimeUtc …)"),
        security=MANAGE,
        parameters=[
            query("querycriteria", "macaddress"),
            query("value", "MAC address"),
            query("api-version", "1.0, 1.1 or 1.3"),
            query("paging", "0"),
        ],
    )
}
_CISCO = {
    "cr_cisco.mdminfo_view": _CR["mdminfo"],
    "cr_cisco.devices_view": _CR["devices"],
    "legacy_cisco.mdminfo_0": _V2["mdminfo"],
    "legacy_cisco.mdminfo_1": _V2["mdminfo"],
    "legacy_cisco.devices_0": _V2["devices"],
    "legacy_cisco.devices_1": _V2["devices"],
    "legacy_json.devices_0": _LEGACY_JSON,
    "legacy_json.devices_1": _LEGACY_JSON,
}

# -- graph ---------------------------------------------------------------------------------------------
_GRAPH = {
    "graph.list_managed_devices": {
        "get": op(
            "List managedDevices (enrolled devices only)",
            "graph",
            answers(
                "{@odata.context, @odata.count?, @odata.nextLink?, value[]}", _429="throttled (Retry-After)"
            ),
            security=GRAPH,
            parameters=[
                query(
                    "$filter",
                    "'prop eq 'value'' terms joined by 'and' on id, azureADDeviceId, serialNumber, deviceName, "
                    "imei, wiFiMacAddress, complianceState, operatingSystem (beta: ethernetMacAddress)",
                ),
                query("$select", "comma-separated managedDevice property names"),
                query("$top", "page size, 1..1000 (larger is served in pages of 1000)", {"type": "string"}),
                query("$count", "true adds @odata.count", BOOL_STR),
                query("$skiptoken", "continuation token from @odata.nextLink"),
                *_GRAPH_IDS,
            ],
        )
    },
    "graph.get_managed_device": {
        "get": op(
            "Get one managedDevice (also …/managedDevices/$count as text)",
            "graph",
            answers("managedDevice", _404="no enrolled device with that id", _429="throttled (Retry-After)"),
            security=GRAPH,
            parameters=[
                query("$select", "comma-separated managedDevice property names"),
                query("$filter", "only with …/$count"),
                *_GRAPH_IDS,
            ],
        )
    },
}

# -- portal ----------------------------------------------------------------------------------------------
_PORTAL = {
    "portal.index": {
        "get": op(
            "Management portal: identifies the device and re-evaluates it synchronously",
            "portal",
            answers("HTML page with the device's new state", "text/html"),
            security=PUBLIC,
            parameters=[
                query("deviceId", "Intune device id"),
                query("guid", "Intune device id"),
                query("mac", "MAC address"),
                query("macaddress", "MAC address"),
                query("client_mac", "MAC address"),
            ],
        )
    }
}

# -- admin -----------------------------------------------------------------------------------------------
_DEVICE_FIELDS: dict[str, Any] = {
    "type": "object",
    "description": "Device fields (snake_case names, or Graph property names such as wiFiMacAddress)",
    "properties": {
        "intune_id": {"type": "string", "format": "uuid"},
        "azure_ad_device_id": {"type": "string", "format": "uuid"},
        "device_name": STR,
        "wifi_mac": STR,
        "ethernet_mac": STR,
        "serial_number": STR,
        "imei": STR,
        "operating_system": {"type": "string", "enum": ["Windows", "macOS", "iOS", "Android", "Linux"]},
        "os_version": STR,
        "user_principal_name": STR,
        "managed": {"type": "boolean"},
        "compliance_state": {
            "type": "string",
            "enum": [
                "unknown",
                "compliant",
                "noncompliant",
                "conflict",
                "error",
                "inGracePeriod",
                "configManager",
            ],
        },
        "posture_compliant": {"type": "boolean"},
        "has_policy": {"type": "boolean"},
        "last_sync_at": {"type": "string", "format": "date-time"},
        "grace_expires_at": {"type": "string", "format": "date-time"},
    },
}
_SEED_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {"type": "array", "items": _DEVICE_FIELDS},
                    {"type": "object", "properties": {"devices": {"type": "array", "items": _DEVICE_FIELDS}}},
                ]
            }
        },
        "application/yaml": {"schema": {"type": "string"}},
    },
}
_PATCH_BODY = {
    "required": True,
    "content": json_content(
        {
            "type": "object",
            "properties": {
                **_DEVICE_FIELDS["properties"],
                "posture": {"type": "string", "enum": ["compliant", "noncompliant"]},
            },
        }
    ),
}
_TENANT = [query("tenant", "tenant id (default: the mock's tenant)")]
_SETTINGS_BODY = {
    "required": True,
    "content": json_content(
        {
            "type": "object",
            "properties": {
                "no_policy_mark": {"type": "string", "enum": ["compliant", "noncompliant"]},
                "validity_days": {"type": "integer", "minimum": 1, "maximum": 120},
                "grace_period_hours": {"type": "number", "minimum": 0},
            },
        }
    ),
}
_PERMISSIONS = {"type": "array", "items": {"type": "string"}}
_APP_BODY = {
    "required": True,
    "content": json_content(
        {
            "type": "object",
            "required": ["client_id"],
            "properties": {
                "client_id": {"type": "string", "format": "uuid"},
                "tenant_id": {"type": "string", "format": "uuid"},
                "display_name": STR,
                "client_secret": STR,
                "certificate_pem": STR,
                "permissions": _PERMISSIONS,
            },
        }
    ),
}
_OBJECT_BODY = {"required": True, "content": json_content()}


def _admin(
    summary: str,
    ok: str = "JSON",
    *,
    status: str = "200",
    parameters: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    **errors: str,
) -> dict[str, Any]:
    return op(
        summary,
        "admin",
        answers(ok, status=status, **errors),
        security=ADMIN,
        parameters=parameters,
        body=body,
    )


_ADMIN = {
    "admin.list_devices": {
        "get": _admin(
            "List devices with their effective state",
            "{count, devices[]}",
            parameters=[
                *_TENANT,
                query("managed", "only enrolled (true) or unenrolled (false) devices", BOOL_STR),
                query("state", "only devices whose effective compliance state is this"),
                query("limit", "at most this many (default 1000)"),
                query("offset", "skip this many"),
            ],
        )
    },
    "admin.seed_devices": {
        "post": _admin(
            "Seed devices from a JSON or YAML document",
            "{seeded, ids[]}",
            status="201",
            parameters=_TENANT,
            body=_SEED_BODY,
            _415="not JSON or YAML",
        )
    },
    "admin.get_device": {"get": _admin("One device", "device", parameters=_TENANT)},
    "admin.delete_device": {"delete": _admin("Delete a device", "deleted", status="204", parameters=_TENANT)},
    "admin.patch_device": {
        "patch": _admin(
            "Change device fields, posture, or compliance state",
            "device",
            parameters=_TENANT,
            body=_PATCH_BODY,
            _409="illegal compliance transition (names the rule)",
        )
    },
    "admin.device_action": {
        "post": _admin(
            "enroll, retire, check-in, evaluate or portal-visit",
            "device",
            parameters=_TENANT,
            _409="the state forbids it (e.g. evaluating an unenrolled device)",
        )
    },
    "admin.get_settings": {"get": _admin("Tenant compliance settings", parameters=_TENANT)},
    "admin.put_settings": {
        "put": _admin(
            "Change tenant settings (fields left out keep their value)",
            parameters=_TENANT,
            body=_SETTINGS_BODY,
        ),
        "patch": _admin("Same as PUT", parameters=_TENANT, body=_SETTINGS_BODY),
    },
    "admin.list_apps": {"get": _admin("App registrations (no secrets)", "{apps[]}")},
    "admin.get_app": {"get": _admin("One app registration")},
    "admin.register_app": {"post": _admin("Register or replace an app", status="201", body=_APP_BODY)},
    "admin.set_app_permissions": {
        "put": _admin(
            "Replace an app's application permissions",
            body={
                "required": True,
                "content": json_content(
                    {
                        "type": "object",
                        "required": ["permissions"],
                        "properties": {"permissions": _PERMISSIONS},
                    }
                ),
            },
        )
    },
    "admin.get_service_endpoint": {"get": _admin("The service base discovery advertises", "{base_url}")},
    "admin.move_service_endpoint": {
        "put": _admin(
            "Move the service base (absolute URL or /segment; null: back to default)",
            "{base_url}",
            body={
                "required": True,
                "content": json_content(
                    {
                        "type": "object",
                        "required": ["base_url"],
                        "properties": {"base_url": {"type": "string", "nullable": True}},
                    }
                ),
            },
        )
    },
    "admin.list_faults": {"get": _admin("Faults in force, by surface", "{faults}")},
    "admin.set_fault": {
        "put": _admin(
            "Set the faults of one surface (latency, error_status/rate, timeouts, outages, retry_after)",
            "{surface, fault}",
            body=_OBJECT_BODY,
        )
    },
    "admin.clear_fault": {"delete": _admin("Clear the faults of one surface", "cleared", status="204")},
    "admin.list_calls": {
        "get": _admin(
            "The NAC call log",
            "{calls[], last}",
            parameters=[
                query("after", "only calls with seq greater than this"),
                query(
                    "surface",
                    "only this surface (entra, discovery, cr_cisco, legacy_cisco, legacy_json, graph, portal)",
                ),
                query("limit", "at most this many (default 1000, max 10000)"),
            ],
        )
    },
    "admin.reset": {"post": _admin("Forget devices, calls, faults, throttling and replay state")},
    "admin.clock": {"get": _admin("The mock's clock", "{now, time_scale}")},
    "admin.tenant": {"get": _admin("Tenant id, default client id, settings, device count")},
}

_META = {
    "openapi.document": {
        "get": op("This OpenAPI document", "meta", answers("OpenAPI 3.0 JSON"), security=PUBLIC)
    }
}

OPERATIONS: dict[str, dict[str, dict[str, Any]]] = {
    **_ENTRA,
    **_DISCOVERY,
    **_CISCO,
    **_GRAPH,
    **_PORTAL,
    **_ADMIN,
    **_META,
}
"""endpoint → lower-case method → OpenAPI operation (without operationId and path parameters)."""
