"""``/openapi.json`` is accurate, and a schemathesis run over every operation finds no server error."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from mock_intune import ManualClock, MockConfig, MockIntune, create_app
from mock_intune.api.openapi import SKIPPED_ENDPOINTS, SKIPPED_METHODS, build_document, openapi_path
from mock_intune.api.openapi_operations import OPERATIONS
from mock_intune.model import AAD_GRAPH_RESOURCE, GRAPH_RESOURCE, MANAGE_RESOURCE, Permission

ADMIN_TOKEN = "schemathesis-admin"
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
EXAMPLES = 12
"""Examples per operation: about fifty operations, so the run stays well under a minute."""


def make_service() -> MockIntune:
    # The clock never moves, so the tokens below stay valid for the whole run; the broad-query window
    # and the Graph throttle are opened wide so that their (correct) 503 / 429 do not drown the run.
    config = MockConfig(
        admin_token=ADMIN_TOKEN,
        broad_query_interval_s=0.0,
        graph_rate_limit=10**9,
        sleep_latency=False,
        permissions=frozenset(Permission),
    )
    return MockIntune(config, clock=ManualClock(START))


SERVICE = make_service()
APP: Flask = create_app(service=SERVICE)
SCHEMA = schemathesis.openapi.from_wsgi("/openapi.json", APP)


def _bearer(audience: str) -> str:
    token, _ = SERVICE.tokens.issue(SERVICE.app(SERVICE.config.client_id), audience)
    return f"Bearer {token}"


HEADERS = {
    "adminToken": {"Authorization": f"Bearer {ADMIN_TOKEN}"},
    "manageToken": {"Authorization": _bearer(MANAGE_RESOURCE)},
    "graphToken": {"Authorization": _bearer(GRAPH_RESOURCE)},
    "aadGraphToken": {"Authorization": _bearer(AAD_GRAPH_RESOURCE)},
}


def auth_headers(operation: dict[str, Any]) -> dict[str, str]:
    """Valid credentials for the operation's (first) security scheme, so generated requests get past auth."""
    for requirement in operation.get("security", []):
        for scheme in requirement:
            if scheme in HEADERS:
                return HEADERS[scheme]
    return {}


def test_document_matches_the_url_map() -> None:
    app = create_app(MockConfig())
    served = app.test_client().get("/openapi.json").get_json()
    assert served["openapi"].startswith("3.0")
    rules = {
        (openapi_path(rule), method.lower()): rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in SKIPPED_ENDPOINTS
        for method in (rule.methods or set()) - SKIPPED_METHODS
    }
    documented = {(path, method) for path, ops in served["paths"].items() for method in ops}
    assert documented == set(rules)
    undocumented = sorted(
        f"{method.upper()} {path} ({endpoint})"
        for (path, method), endpoint in rules.items()
        if method not in OPERATIONS.get(endpoint, {})
    )
    assert undocumented == [], "routes without a description in openapi_operations.OPERATIONS"
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    stale = sorted(set(OPERATIONS) - endpoints)
    assert stale == [], "OPERATIONS describes endpoints the app no longer serves"
    assert served == build_document(app)
    schemes = served["components"]["securitySchemes"]
    for ops in served["paths"].values():
        for op in ops.values():
            for requirement in op.get("security", []):
                assert set(requirement) <= set(schemes)


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error(case: schemathesis.Case) -> None:
    operation = case.operation.definition.raw
    headers = {**(case.headers or {}), **auth_headers(operation)}
    try:
        case.call_and_validate(headers=headers, checks=[not_a_server_error])
    finally:
        # Faults the run itself sets (PUT /admin/faults/…) inject 5xx on purpose: clear them so the
        # next case measures the mock, not the fault it was told to inject.
        for surface in list(SERVICE.store.faults()):
            SERVICE.store.put_fault(surface, None)
