"""The rule catalog as data: every rule a NAC is certified against, and the verdicts a rule can get.

This module is the single source of truth for rule IDs (``RULES.md`` in the spec is its origin).
Features tag scenarios with these IDs (``@ACC-03``), oracles and mutants name them, the certify
runner maps scenario outcomes to them and ``docs/rules.md`` is generated from them
(``python -m harness.conformance.rules_doc``). IDs are stable once published: add rules, never
renumber.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from ..model import Profile


class Area(StrEnum):
    """The five rule areas; one feature file each."""

    ONBOARDING = "onboarding"
    ACCESS = "access"
    REDIRECTION = "redirection"
    STATE = "state"
    RESILIENCE = "resilience"


class Verdict(StrEnum):
    """What the certification says about one rule, scenario or step."""

    PASSED = "PASSED"
    """The NAC did what the rule asks; the oracle saw the evidence."""
    FAILED = "FAILED"
    """The NAC broke the rule; the message says what it did wrong."""
    WARNING = "WARNING"
    """Passed with a declared deviation (e.g. a vendor that fails open and says so)."""
    SKIPPED = "SKIPPED"
    """The rule does not apply to this NAC (profile, identity source, auth method not declared)."""
    WAIVED = "WAIVED"
    """The rule failed, and a waiver (reason, expiry) covers it."""
    HARNESS_ERROR = "HARNESS_ERROR"
    """The harness itself broke (fixture, import, mock); says nothing about the NAC."""

    @property
    def is_failure(self) -> bool:
        """True for verdicts that make a certification run fail (exit code 1)."""
        return self is Verdict.FAILED

    @property
    def severity(self) -> int:
        """Order for aggregating several verdicts into one: the worst wins."""
        return _SEVERITY[self]

    @classmethod
    def worst(cls, verdicts: list[Verdict] | tuple[Verdict, ...]) -> Verdict:
        """The most severe of ``verdicts`` (SKIPPED for none)."""
        return max(verdicts, key=lambda v: v.severity, default=cls.SKIPPED)


_SEVERITY: dict[Verdict, int] = {
    Verdict.SKIPPED: 0,
    Verdict.PASSED: 1,
    Verdict.WAIVED: 2,
    Verdict.WARNING: 3,
    Verdict.FAILED: 4,
    Verdict.HARNESS_ERROR: 5,
}

ALL_PROFILES: frozenset[Profile] = frozenset(Profile)
_CISCO = frozenset({Profile.CR_CISCO, Profile.LEGACY_CISCO})
_DISCOVERY = frozenset({Profile.CR_CISCO, Profile.LEGACY_CISCO, Profile.LEGACY_JSON})


@dataclass(frozen=True, slots=True)
class Requirement:
    """A capability the NAC must declare for a rule to apply.

    ``field`` names a field of the capability statement (``nac.yaml``); the rule applies when the
    field equals ``value`` or, for a list field, contains it.
    """

    field: str
    value: str | bool


@dataclass(frozen=True, slots=True)
class Rule:
    """One conformance rule: stable ID, area, title, the rule's text and where it applies."""

    id: str
    area: Area
    title: str
    text: str
    profiles: frozenset[Profile] = ALL_PROFILES
    """The Intune interfaces the rule applies to; a NAC certified on none of them skips it."""
    config_fields: tuple[str, ...] = ()
    """Capability-statement fields whose declared values the rule's oracle reads (polling
    interval, cache lifetime, fail-open, …); the verdict says which value it used."""
    requires: tuple[Requirement, ...] = field(default=())
    """Declared capabilities without which the rule does not apply (verdict SKIPPED)."""

    @property
    def depends_on_config(self) -> bool:
        """True when the verdict depends on the vendor's declared configuration."""
        return bool(self.config_fields)

    @property
    def tag(self) -> str:
        """The Gherkin tag that marks scenarios certifying this rule (``@ACC-03`` → ``ACC-03``)."""
        return self.id


CATALOG: tuple[Rule, ...] = (
    # Onboarding (nine-step flow, steps 1-3)
    Rule(
        "ONB-01",
        Area.ONBOARDING,
        "Discovery",
        "The NAC finds the service endpoint through the discovery API (providerName "
        "ComplianceRetrievalService or NACAPIService) before its first compliance query, and uses the "
        "uri it got, not a hard-coded host. When the mock moves the endpoint, the NAC follows after "
        "re-discovery.",
        profiles=_DISCOVERY,
    ),
    Rule(
        "ONB-02",
        Area.ONBOARDING,
        "App-only token",
        "The NAC gets a client-credentials token for audience https://api.manage.microsoft.com/ (v1 "
        "resource= or v2 scope=…//.default), presents it as a bearer token, and does not present a "
        "Graph-audience token to the NAC/CR service (nor the reverse).",
    ),
    Rule(
        "ONB-03",
        Area.ONBOARDING,
        "Token reuse and refresh",
        "One token serves many queries until near expiry (no token per request); after expiry, or on "
        "a 401, the NAC gets a new one and retries once; it never loops on 401.",
    ),
    Rule(
        "ONB-04",
        Area.ONBOARDING,
        "Certificate client auth",
        "Where the NAC declares certificate auth, it authenticates with a signed client assertion "
        "(RS256, x5t of the registered certificate, aud the token endpoint, short exp), and the mock "
        "rejects forged, expired, replayed or wrongly-addressed assertions.",
        config_fields=("auth_method",),
        requires=(Requirement("auth_method", "certificate"),),
    ),
    Rule(
        "ONB-05",
        Area.ONBOARDING,
        "Missing permission",
        "When the app registration lacks get_device_compliance (or Application.Read.All for "
        "discovery), the NAC reports an integration error and grants no access on the strength of "
        "Intune.",
    ),
    # Access decisions (steps 4-9)
    Rule(
        "ACC-01",
        Area.ACCESS,
        "Compliant → allow",
        "An enrolled, compliant device gets full access, without redirect.",
    ),
    Rule(
        "ACC-02",
        Area.ACCESS,
        "Not enrolled → enroll redirect",
        "An unknown or unenrolled device (empty deviceList, isManaged=false, register_status=false) "
        "gets no corporate access and is redirected to enrollment.",
    ),
    Rule(
        "ACC-03",
        Area.ACCESS,
        "Noncompliant → remediation redirect",
        "An enrolled, noncompliant device gets no corporate access and is redirected to the "
        "management portal for a compliance check (quarantine).",
    ),
    Rule(
        "ACC-04",
        Area.ACCESS,
        "Unknown is not compliant",
        "A newly enrolled device whose state is still Unknown (never evaluated) is not granted "
        "compliant access.",
    ),
    Rule(
        "ACC-05",
        Area.ACCESS,
        "Identity from certificate",
        "With a device certificate, the NAC queries by the Intune device ID taken from the SAN URI "
        "(IntuneDeviceId://{id} or ID:Microsoft Endpoint Manager:GUID:{id}), also when the SAN holds "
        "other URIs (the strong-mapping SID tag), and never confuses it with the Entra device ID.",
        profiles=frozenset({Profile.CR_CISCO, Profile.GRAPH}),
        config_fields=("identity_sources",),
        requires=(Requirement("identity_sources", "certificate"),),
    ),
    Rule(
        "ACC-06",
        Area.ACCESS,
        "MAC identity",
        "Without a certificate, the NAC queries by MAC address normalised to 12 upper-case hex "
        "digits, and handles randomised (locally administered) MACs by falling back to the "
        "certificate identity or redirecting, never by allowing.",
        config_fields=("identity_sources",),
        requires=(Requirement("identity_sources", "mac"),),
    ),
    Rule(
        "ACC-07",
        Area.ACCESS,
        "Decision latency",
        "With Intune answering within 200 ms, the NAC decides within its declared budget (default "
        "300 ms beyond Intune's answer); the verdict reports the distribution.",
        config_fields=("decision_budget_ms",),
    ),
    # Redirection and re-verification
    Rule(
        "RED-01",
        Area.REDIRECTION,
        "Portal URL",
        "Redirects point to the management portal advertised by the mock (redirect_url from "
        "mdminfo, default https://portal.manage.microsoft.com/networkaccesscontrol/index), and no "
        "blocked device is left without a redirect.",
    ),
    Rule(
        "RED-02",
        Area.REDIRECTION,
        "Reverify after portal visit",
        "A portal visit re-evaluates the device synchronously; the device's next attempt gets a "
        "fresh answer: the NAC does not serve a cached 'noncompliant' past the re-verification, and "
        "a now-compliant device gets access.",
    ),
    Rule(
        "RED-03",
        Area.REDIRECTION,
        "Enrollment completes",
        "An unenrolled device that enrolls and is evaluated compliant gets access on its next "
        "attempt, within the NAC's declared cache lifetime.",
        config_fields=("cache_ttl_s",),
    ),
    # State rules
    Rule(
        "STA-01",
        Area.STATE,
        "No return to Unknown",
        "A device that is actively syncing never moves from Compliant or Noncompliant back to "
        "Unknown / Not synced (the mock enforces it and the suite proves the mock does).",
    ),
    Rule(
        "STA-02",
        Area.STATE,
        "Unknown only before first evaluation",
        "Unknown appears only for newly enrolled devices.",
    ),
    Rule(
        "STA-03",
        Area.STATE,
        "Change while connected",
        "When a connected device turns noncompliant, the NAC removes or restricts its access (RADIUS "
        "CoA / Disconnect, RFC 5176) within its declared polling interval; when it turns compliant "
        "again, access returns on the next attempt.",
        config_fields=("polling_interval_s", "coa_support"),
    ),
    Rule(
        "STA-04",
        Area.STATE,
        "Validity period",
        "A device that has not checked in within the tenant's validity period "
        "(deviceComplianceCheckinThresholdDays, default 30) is treated as noncompliant.",
    ),
    Rule(
        "STA-05",
        Area.STATE,
        "No policy assigned",
        "The tenant setting 'mark devices with no compliance policy assigned as' (Compliant by "
        "default, or Not compliant) is honoured end to end.",
    ),
    Rule(
        "STA-06",
        Area.STATE,
        "Grace period",
        "inGracePeriod devices keep access until the grace period ends, then are noncompliant "
        "(graph profile; others per profile).",
        profiles=frozenset({Profile.GRAPH}),
    ),
    # Resilience
    Rule(
        "RES-01",
        Area.RESILIENCE,
        "Fail closed",
        "When Intune is unreachable, times out, or answers 5xx, the NAC never grants compliant "
        "access on Intune's behalf; it surfaces 'MDM unreachable' distinctly. A vendor that fails "
        "open must declare it, and the report shows it as a declared deviation.",
        config_fields=("fail_open",),
    ),
    Rule(
        "RES-02",
        Area.RESILIENCE,
        "Broad-query limit",
        "'All noncompliant devices' queries run at most once per 4 hours; a 503 from the mock leads "
        "to back-off, not a retry storm.",
        profiles=_CISCO,
        config_fields=("polling_interval_s",),
    ),
    Rule(
        "RES-03",
        Area.RESILIENCE,
        "Retry-After",
        "On 429 (Graph) the NAC waits at least Retry-After (or backs off exponentially where the "
        "header is absent) before retrying.",
        profiles=frozenset({Profile.GRAPH}),
    ),
    Rule(
        "RES-04",
        Area.RESILIENCE,
        "Paging",
        "With more noncompliant devices than query_max_size (100), the NAC follows paging_info "
        "(Cisco) / @odata.nextLink (Graph) and misses none.",
        profiles=frozenset({Profile.CR_CISCO, Profile.LEGACY_CISCO, Profile.GRAPH}),
    ),
    Rule(
        "RES-05",
        Area.RESILIENCE,
        "Malformed answers",
        "Empty properties, unexpected fields, timestamp variants (MM/DD/YYYY HH:MM:SS with or without "
        "offset) never crash the NAC and never read as compliant.",
    ),
)

RULES: dict[str, Rule] = {r.id: r for r in CATALOG}
RULE_IDS: tuple[str, ...] = tuple(RULES)


def rule(rule_id: str) -> Rule:
    """The rule with ``rule_id`` (``KeyError`` naming the known IDs otherwise)."""
    try:
        return RULES[rule_id.upper().lstrip("@")]
    except KeyError:
        raise KeyError(f"unknown rule {rule_id!r} (known: {', '.join(RULE_IDS)})") from None


def is_rule_tag(tag: str) -> bool:
    """True when a Gherkin tag (with or without ``@``) is a rule ID of the catalog."""
    return tag.lstrip("@").upper() in RULES


def rules_in(area: Area) -> Iterator[Rule]:
    """The rules of one area, in catalog order."""
    return (r for r in CATALOG if r.area is area)


def _check_catalog() -> None:
    """IDs are unique and their prefix matches the area (guards hand edits of the catalog)."""
    prefix = {
        Area.ONBOARDING: "ONB",
        Area.ACCESS: "ACC",
        Area.REDIRECTION: "RED",
        Area.STATE: "STA",
        Area.RESILIENCE: "RES",
    }
    if len(RULES) != len(CATALOG):
        raise AssertionError("duplicate rule IDs in the catalog")
    for r in CATALOG:
        if not r.id.startswith(prefix[r.area] + "-"):
            raise AssertionError(f"rule {r.id} is in area {r.area} but its ID prefix says otherwise")


_check_catalog()
