"""The step library: Gherkin steps that drive the :class:`~harness.conformance.bench.Bench`.

Steps are short: they parse their words (``parsers.parse`` with converters) and call the bench or
an oracle; the logic lives in :mod:`bench` and :mod:`oracles`. ``Then`` steps judge one rule each
through :func:`expect_rule`, which raises :class:`~harness.conformance.oracles.RuleViolation` (an
``AssertionError``) with a message saying what the NAC did wrong. The plugin registers this module,
so a QA team's own ``.feature`` files can use every step here (``docs/steps.md``).
"""

from __future__ import annotations

import re
from typing import Any

from parse import with_pattern
from pytest_bdd import given, parsers, then, when

from ..errors import HarnessFailure
from ..model import AccessType
from .bench import Bench, DeviceStatus
from .malformed import Malformation
from .oracles import RuleViolation, judge
from .rules import Verdict

_UNITS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}
_DURATION = re.compile(r"^(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>second|minute|hour|day)s?$")


@with_pattern(r"\d+(?:\.\d+)?\s*(?:second|minute|hour|day)s?")
def duration(text: str) -> float:
    """``"10 minutes"`` → 600.0 (seconds, for ``env.now``)."""
    m = _DURATION.match(text.strip())
    if not m:
        raise HarnessFailure(
            f"not a duration: {text!r} (say e.g. '30 seconds', '10 minutes', '5 hours', '31 days')"
        )
    return float(m["n"]) * _UNITS[m["unit"]]


def access_type(text: str) -> AccessType:
    """``Wi-Fi`` / ``VPN`` → :class:`AccessType`."""
    key = text.strip().lower().replace("-", "")
    if key == "wifi":
        return AccessType.WIFI
    if key == "vpn":
        return AccessType.VPN
    raise HarnessFailure(f"unknown access type {text!r} (Wi-Fi or VPN)")


def status(text: str) -> str:
    if text not in DeviceStatus.ALL:
        raise HarnessFailure(f"unknown device status {text!r} (one of: {', '.join(DeviceStatus.ALL)})")
    return text


def malformation(text: str) -> Malformation:
    try:
        return Malformation(text)
    except ValueError:
        known = ", ".join(m.value for m in Malformation)
        raise HarnessFailure(f"unknown malformation {text!r} (one of: {known})") from None


TYPES: dict[str, Any] = {"Duration": duration, "Access": access_type}
_CERT_STYLES = {"Intune": "intune", "Cisco ISE": "cisco", "strong-mapping": "sid-first"}
_FAILURES = {
    "connection refused": "unreachable",
    "a timeout": "timeout",
    "HTTP 500": "500",
    "HTTP 503": "503",
}


def expect_rule(bench: Bench, rule_id: str, **params: Any) -> None:
    """Judge ``rule_id`` on the bench's evidence; fail the step with the oracle's message if broken."""
    verdict = judge(rule_id, bench.snapshot(), **params)
    if verdict.verdict is Verdict.FAILED:
        raise RuleViolation(verdict)
    if verdict.verdict is Verdict.HARNESS_ERROR:
        raise HarnessFailure(f"{rule_id}: {verdict.message}")
    if verdict.verdict is Verdict.WARNING:
        bench.deviations.append(f"{rule_id}: {verdict.message}")


# -- Given: the world --------------------------------------------------------------------------


@given("the NAC under test is onboarded")
def nac_onboarded(bench: Bench) -> None:
    bench.start()


@given(parsers.parse('a device "{name}" that is {state:Status}', extra_types={"Status": status}))
@when(parsers.parse('a device "{name}" that is {state:Status}', extra_types={"Status": status}))
def a_device(bench: Bench, name: str, state: str) -> None:
    bench.add_device(name, state)


@given(parsers.parse("{count:d} devices that are {state:Status}", extra_types={"Status": status}))
def many_devices(bench: Bench, count: int, state: str) -> None:
    bench.add_devices(count, state)


@given(parsers.parse('"{name}" has a device certificate in the {style} style'))
def certificate(bench: Bench, name: str, style: str) -> None:
    bench.set_certificate(name, _CERT_STYLES.get(style, style))


@given(parsers.parse('"{name}" has no device certificate'))
def no_certificate(bench: Bench, name: str) -> None:
    bench.set_certificate(name, "none")


@given(parsers.parse('"{name}" joins with a randomised MAC address'))
def randomised_mac(bench: Bench, name: str) -> None:
    bench.randomise_mac(name)


@given(parsers.parse('the access point reports "{name}"\'s MAC address with {style}'))
def mac_notation(bench: Bench, name: str, style: str) -> None:
    bench.format_mac(name, style)


@given(parsers.parse("the app registration lacks the {permission} permission"))
def lacks_permission(bench: Bench, permission: str) -> None:
    bench.remove_permission(permission)


@given(parsers.parse("the tenant marks devices with no compliance policy assigned as {mark}"))
@when(parsers.parse("the tenant marks devices with no compliance policy assigned as {mark}"))
def no_policy_mark(bench: Bench, mark: str) -> None:
    bench.set_no_policy_mark(mark)


@given(parsers.parse("the tenant's validity period is {days:d} days"))
def validity(bench: Bench, days: int) -> None:
    bench.set_validity_days(days)


@given(parsers.parse("the tenant's grace period is {hours:d} hours"))
def grace(bench: Bench, hours: int) -> None:
    bench.set_grace_hours(hours)


@given(parsers.parse('"{name}" last checked in {days:d} days ago'))
def last_check_in(bench: Bench, name: str, days: int) -> None:
    bench.last_checked_in(name, days)


@given(parsers.parse('"{name}" keeps syncing with Intune every {every:Duration}', extra_types=TYPES))
def keeps_syncing(bench: Bench, name: str, every: float) -> None:
    bench.keep_syncing(name, every)


@given(parsers.parse('the mock advertises the management portal "{url}"'))
def advertised_portal(bench: Bench, url: str) -> None:
    bench.set_redirect_url(url)


@given(parsers.parse("Intune fails with {failure}"))
@when(parsers.parse("Intune fails with {failure}"))
def intune_fails(bench: Bench, failure: str) -> None:
    bench.inject(_FAILURES.get(failure, failure))


@given("Intune rejects every token with HTTP 401")
def rejects_tokens(bench: Bench) -> None:
    bench.inject("401")


@given(
    parsers.parse(
        "Graph throttles the NAC with HTTP 429 and Retry-After {seconds:d} seconds for {window:Duration}",
        extra_types=TYPES,
    )
)
def throttled(bench: Bench, seconds: int, window: float) -> None:
    bench.inject("429", retry_after_s=seconds, for_s=window)


@given(
    parsers.parse(
        "Graph throttles the NAC with HTTP 429 without Retry-After for {window:Duration}", extra_types=TYPES
    )
)
def throttled_bare(bench: Bench, window: float) -> None:
    bench.inject("429", for_s=window)


@given(parsers.parse("Intune answers with {kind:Malformation}", extra_types={"Malformation": malformation}))
def malformed(bench: Bench, kind: Malformation) -> None:
    bench.inject_malformed(kind)


@given(parsers.parse("Intune answers device queries in {ms:d} ms"))
def latency(bench: Bench, ms: int) -> None:
    bench.inject_latency(float(ms))


@given("another node of the same NAC has just run the broad noncompliant query")
@when("another node of the same NAC has just run the broad noncompliant query")
def window_claimed(bench: Bench) -> None:
    bench.claim_broad_query_window()


# -- When: what devices and people do -----------------------------------------------------------


def _declared(bench: Bench, name: str, access: AccessType) -> AccessType:
    """The access type a connect step uses: the one the scenario names when the NAC serves it.

    No rule is about the access type (a scenario's Wi-Fi or VPN is scenery that exercises both
    NAS-Port-Types), so a NAC that does not serve the named one is asked over the first type it
    declares instead, and the evidence marks the substitution (``access_type_substituted``).
    """
    raw = getattr(bench.capability, "access_types", None) or [access]
    declared = [AccessType(str(a)) for a in raw]
    if access in declared:
        return access
    used = declared[0]
    bench.mark(
        "access_type_substituted",
        name,
        scenario=str(access),
        used=str(used),
        why=f"the NAC declares access types {', '.join(str(a) for a in declared)}",
    )
    return used


@when(parsers.parse('"{name}" connects over {access:Access}', extra_types=TYPES))
def connects(bench: Bench, name: str, access: AccessType) -> None:
    bench.connect(name, _declared(bench, name, access))


@when(parsers.parse('"{name}" connects again'))
def connects_again(bench: Bench, name: str) -> None:
    bench.connect(name, bench.device(name).access_type)


@when(parsers.parse("every device connects over {access:Access}", extra_types=TYPES))
def all_connect(bench: Bench, access: AccessType) -> None:
    for name in list(bench.devices):
        bench.connect(name, _declared(bench, name, access))


@when(
    parsers.parse('"{name}" connects every {every:Duration} for {total:Duration}', extra_types=TYPES),
)
def connects_repeatedly(bench: Bench, name: str, every: float, total: float) -> None:
    end = bench.env.now + total
    while bench.env.now <= end:
        bench.connect(name, bench.device(name).access_type)
        bench.advance(every)


@when(
    parsers.parse(
        '"{name}" connects every {every:Duration} until the declared cache lifetime has passed',
        extra_types=TYPES,
    ),
)
def connects_past_cache_lifetime(bench: Bench, name: str, every: float) -> None:
    connects_repeatedly(bench, name, every, bench.declared("cache_ttl_s", 60.0) + 2 * every)


@when("the declared polling interval passes")
def polling_interval_passes(bench: Bench) -> None:
    bench.advance(bench.declared("polling_interval_s", 14400.0) + 60.0)


@when(parsers.parse("{span:Duration} pass", extra_types=TYPES))
@when(parsers.parse("{span:Duration} passes", extra_types=TYPES))
def time_passes(bench: Bench, span: float) -> None:
    bench.advance(span)


@when(parsers.parse('"{name}" turns noncompliant'))
def turns_noncompliant(bench: Bench, name: str) -> None:
    bench.turn(name, compliant=False)


@when(parsers.parse('"{name}" turns compliant again'))
def turns_compliant(bench: Bench, name: str) -> None:
    bench.turn(name, compliant=True)


@when("every device turns noncompliant")
def all_turn_noncompliant(bench: Bench) -> None:
    for name in list(bench.devices):
        bench.turn(name, compliant=False)


@when(parsers.parse('the user fixes "{name}" and opens the management portal'))
def fixes_and_visits(bench: Bench, name: str) -> None:
    bench.fix_device(name)
    bench.visit_portal(name)


@when(parsers.parse('"{name}" enrolls and is evaluated compliant'))
def enrolls(bench: Bench, name: str) -> None:
    bench.enroll_and_evaluate(name)


@when(parsers.parse('"{name}" checks in with Intune'))
def checks_in(bench: Bench, name: str) -> None:
    bench.check_in(name)


@when("the service endpoint moves")
def endpoint_moves(bench: Bench) -> None:
    bench.move_endpoint()


@when("Intune recovers")
def recovers(bench: Bench) -> None:
    bench.clear_faults()


@when(parsers.parse('the harness tries to set "{name}" back to Unknown'))
def try_unknown(bench: Bench, name: str) -> None:
    bench.try_set_unknown(name)


# -- Then: one rule each --------------------------------------------------------------------------


@then("the NAC found the service endpoint through discovery before its first query")
@then("the NAC follows the moved endpoint after re-discovery")
def then_discovery(bench: Bench) -> None:
    expect_rule(bench, "ONB-01")


@then("every call carried an app-only bearer token for the right audience")
def then_audience(bench: Bench) -> None:
    expect_rule(bench, "ONB-02")


@then("one token served the queries until near its expiry")
@then("the NAC refreshed the token and retried once, never looping on 401")
def then_token_reuse(bench: Bench) -> None:
    expect_rule(bench, "ONB-03")


@then("the NAC authenticated with a short-lived RS256 assertion of its registered certificate")
def then_assertion(bench: Bench) -> None:
    expect_rule(bench, "ONB-04", thumbprint=bench.registered_x5t())


@then("the mock rejects forged, expired, replayed and wrongly-addressed assertions")
def then_mock_rejects(bench: Bench) -> None:
    expect_rule(bench, "ONB-04", thumbprint=bench.registered_x5t(), probes=bench.probe_bad_assertions())


@then(
    parsers.parse(
        '"{name}" gets no access on the strength of Intune and the NAC reports an integration error'
    )
)
def then_permission(bench: Bench, name: str) -> None:
    expect_rule(bench, "ONB-05", device=name)


@then(parsers.parse('"{name}" gets full access without a redirect'))
def then_allow(bench: Bench, name: str) -> None:
    expect_rule(bench, "ACC-01", device=name)


@then(parsers.parse('"{name}" gets no corporate access and is redirected to enrollment'))
def then_enroll(bench: Bench, name: str) -> None:
    expect_rule(bench, "ACC-02", device=name)


@then(parsers.parse('"{name}" is quarantined and redirected to the management portal'))
def then_quarantine(bench: Bench, name: str) -> None:
    expect_rule(bench, "ACC-03", device=name)


@then(parsers.parse('"{name}" is not granted compliant access'))
def then_unknown(bench: Bench, name: str) -> None:
    expect_rule(bench, "ACC-04", device=name)


@then(parsers.parse('the NAC queried "{name}" by the Intune device ID from its certificate'))
def then_cert_identity(bench: Bench, name: str) -> None:
    expect_rule(bench, "ACC-05", device=name)


@then(parsers.parse('the NAC queried "{name}" by its MAC address as 12 upper-case hex digits'))
@then(parsers.parse('"{name}" is never allowed on its randomised MAC address'))
def then_mac_identity(bench: Bench, name: str) -> None:
    expect_rule(bench, "ACC-06", device=name)


@then("every decision came within the declared budget beyond Intune's answer")
def then_latency(bench: Bench) -> None:
    expect_rule(bench, "ACC-07")


@then("every blocked device is redirected to the portal the mock advertises")
def then_portal(bench: Bench) -> None:
    expect_rule(bench, "RED-01")


@then(parsers.parse('"{name}" gets a fresh answer and full access on its next attempt'))
def then_reverify(bench: Bench, name: str) -> None:
    bench.require_observable_cache(name)
    expect_rule(bench, "RED-02", device=name)


@then(parsers.parse('"{name}" gets access within the declared cache lifetime'))
def then_enrolled(bench: Bench, name: str) -> None:
    expect_rule(bench, "RED-03", device=name)


@then("the mock refuses the return to Unknown")
def then_mock_refuses(bench: Bench) -> None:
    expect_rule(bench, "STA-01")


@then(parsers.parse('"{name}" keeps full access while it syncs'))
def then_no_unknown(bench: Bench, name: str) -> None:
    expect_rule(bench, "STA-01", device=name)


@then(parsers.parse('"{name}" gets access once Intune has evaluated it'))
def then_unknown_only_new(bench: Bench, name: str) -> None:
    expect_rule(bench, "STA-02", device=name)


@then(parsers.parse('the NAC removes "{name}"\'s access within its declared polling interval'))
@then(parsers.parse('"{name}" gets access again on its next attempt'))
def then_coa(bench: Bench, name: str) -> None:
    expect_rule(bench, "STA-03", device=name)


@then(parsers.parse('"{name}" is treated as noncompliant once past the validity period'))
def then_validity(bench: Bench, name: str) -> None:
    expect_rule(bench, "STA-04", device=name)


@then(parsers.parse('the NAC honours the tenant\'s setting for "{name}"'))
def then_no_policy(bench: Bench, name: str) -> None:
    expect_rule(bench, "STA-05", device=name)


@then(parsers.parse('"{name}" keeps access until its grace period ends and is noncompliant after'))
def then_grace(bench: Bench, name: str) -> None:
    expect_rule(bench, "STA-06", device=name)


@then(parsers.parse('"{name}" gets no access and the NAC reports MDM unreachable'))
def then_fail_closed(bench: Bench, name: str) -> None:
    expect_rule(bench, "RES-01", device=name)


@then("the NAC ran the broad query at most once per 4 hours and backed off on 503")
def then_broad(bench: Bench) -> None:
    expect_rule(bench, "RES-02")


@then("the NAC waited at least Retry-After, or backed off exponentially, before asking Graph again")
def then_retry_after(bench: Bench) -> None:
    bench.require_attempts_in_fault_window()
    expect_rule(bench, "RES-03")


@then("the NAC followed every page and quarantined every noncompliant device")
def then_paging(bench: Bench) -> None:
    expect_rule(bench, "RES-04")


@then(parsers.parse('the NAC neither crashed nor read the answer for "{name}" as compliant'))
def then_malformed(bench: Bench, name: str) -> None:
    expect_rule(bench, "RES-05", device=name)


@then(parsers.parse('the NAC did not crash on the answer for "{name}"'))
def then_not_crashed(bench: Bench, name: str) -> None:
    expect_rule(bench, "RES-05", device=name, strict=False)
