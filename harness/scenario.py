"""Scenarios: what a simulation run is (population, sites, arrivals, timings, faults, NAC profile).

A scenario is a YAML file validated by the pydantic models below; any error names the file, the
field path and the line (:class:`harness.errors.ScenarioError`). Unknown fields are errors.

Durations are seconds (a number) or a string such as ``"90s"``, ``"15m"``, ``"8h"``, ``"1h30m"``,
``"2d"``; clock times of the simulated day are ``"HH:MM"`` / ``"HH:MM:SS"`` (seconds after the
scenario's ``epoch``, a Monday 00:00 UTC by default). A timing is a distribution
``{dist: lognormal, median: 2s, sigma: 0.5}`` or a bare duration (fixed). Shares are fractions
0..1; a mix is a mapping of shares that sums to 1.

Entry points: :func:`load_scenario` (a path), :func:`parse_scenario` (text + a name for errors).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mock_intune.model import NoPolicyMark, Surface, TenantSettings

from .durations import parse_clock, parse_duration
from .errors import ScenarioError
from .model import IdentitySource, Profile
from .sim.clock import DEFAULT_EPOCH
from .sim.timing import Dist, DistKind, Timing
from .yaml_errors import validate_yaml


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_DIST_NEEDS = {
    DistKind.FIXED: ("value",),
    DistKind.UNIFORM: ("low", "high"),
    DistKind.EXPONENTIAL: ("mean",),
    DistKind.NORMAL: ("mean", "sd"),
    DistKind.LOGNORMAL: ("median", "sigma"),
    DistKind.TRIANGULAR: ("low", "mode", "high"),
}


class DistSpec(_Model):
    """A timing distribution (see :mod:`harness.sim.timing`)."""

    dist: DistKind
    value: float | None = None
    low: float | None = None
    high: float | None = None
    mode: float | None = None
    mean: float | None = None
    sd: float | None = None
    min: float | None = None
    median: float | None = None
    sigma: float | None = None

    @field_validator("value", "low", "high", "mode", "mean", "sd", "min", "median", mode="before")
    @classmethod
    def _durations(cls, v: Any) -> Any:
        return None if v is None else parse_duration(v)

    @model_validator(mode="after")
    def _check(self) -> DistSpec:
        needs = _DIST_NEEDS[self.dist]
        allowed = set(needs) | ({"min"} if self.dist is DistKind.NORMAL else set())
        given = {k for k in type(self).model_fields if k != "dist" and getattr(self, k) is not None}
        missing = [k for k in needs if getattr(self, k) is None]
        if missing:
            raise ValueError(f"{self.dist.value} distribution needs {', '.join(needs)}; missing {missing[0]}")
        extra = sorted(given - allowed)
        if extra:
            raise ValueError(f"{self.dist.value} distribution takes {', '.join(needs)}, not {extra[0]}")
        if self.dist is DistKind.UNIFORM and self.high < self.low:  # type: ignore[operator]
            raise ValueError("uniform: high must be >= low")
        if self.dist is DistKind.TRIANGULAR and not (self.low <= self.mode <= self.high):  # type: ignore[operator]
            raise ValueError("triangular: need low <= mode <= high")
        if self.dist is DistKind.EXPONENTIAL and not self.mean:
            raise ValueError("exponential: mean must be > 0")
        if self.dist is DistKind.LOGNORMAL and (self.median or 0) <= 0:
            raise ValueError("lognormal: median must be > 0")
        return self

    def build(self) -> Dist:
        k = self.dist
        if k is DistKind.FIXED:
            return Dist(k, self.value or 0.0)
        if k is DistKind.UNIFORM:
            return Dist(k, self.low or 0.0, self.high or 0.0)
        if k is DistKind.EXPONENTIAL:
            return Dist(k, self.mean or 0.0)
        if k is DistKind.NORMAL:
            return Dist(k, self.mean or 0.0, self.sd or 0.0, self.min or 0.0)
        if k is DistKind.LOGNORMAL:
            return Dist(k, self.median or 0.0, float(self.sigma or 0.0))
        return Dist(k, self.low or 0.0, self.mode or 0.0, self.high or 0.0)


def _dist_or_fixed(v: Any) -> Any:
    if isinstance(v, int | float | str) and not isinstance(v, bool):
        return {"dist": "fixed", "value": v}
    return v


class TimingsSpec(_Model):
    """One distribution per timed activity of the flow (seconds)."""

    association: DistSpec = DistSpec(dist=DistKind.LOGNORMAL, median=0.6, sigma=0.4)
    radius_rtt: DistSpec = DistSpec(dist=DistKind.LOGNORMAL, median=0.02, sigma=0.3)
    nac_processing: DistSpec = DistSpec(dist=DistKind.LOGNORMAL, median=0.01, sigma=0.3)
    intune_latency: DistSpec = DistSpec(dist=DistKind.LOGNORMAL, median=0.12, sigma=0.4)
    enrollment: DistSpec = DistSpec(dist=DistKind.LOGNORMAL, median=480, sigma=0.5)
    first_evaluation: DistSpec = DistSpec(dist=DistKind.UNIFORM, low=60, high=600)
    remediation: DistSpec = DistSpec(dist=DistKind.LOGNORMAL, median=300, sigma=0.7)
    portal_visit: DistSpec = DistSpec(dist=DistKind.UNIFORM, low=10, high=60)
    reconnect: DistSpec = DistSpec(dist=DistKind.UNIFORM, low=2, high=10)
    drift: DistSpec = DistSpec(dist=DistKind.EXPONENTIAL, mean=4 * 3600)
    """Time from connecting until a drifting device turns noncompliant."""
    session: DistSpec | None = None
    """How long a device stays connected (None: until the run ends)."""

    @field_validator("*", mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        return _dist_or_fixed(v)

    def build(self) -> dict[Timing, Dist]:
        out = {}
        for t in Timing:
            spec = getattr(self, t.value)
            if spec is not None:
                out[t] = spec.build()
        return out


def _check_mix(mix: dict[str, float], what: str) -> dict[str, float]:
    if any(v < 0 for v in mix.values()):
        raise ValueError(f"{what} shares cannot be negative")
    total = sum(mix.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{what} shares must sum to 1 (got {total:g})")
    return mix


Share = Annotated[float, Field(ge=0, le=1)]


class OsMix(_Model):
    windows: Share = 0.55
    macos: Share = 0.15
    ios: Share = 0.15
    android: Share = 0.12
    linux: Share = 0.03

    @model_validator(mode="after")
    def _sum(self) -> OsMix:
        _check_mix(self.model_dump(), "os_mix")
        return self


class OwnershipMix(_Model):
    company: Share = 0.8
    personal: Share = 0.2

    @model_validator(mode="after")
    def _sum(self) -> OwnershipMix:
        _check_mix(self.model_dump(), "ownership")
        return self


class EnrollmentMix(_Model):
    enrolled: Share = 0.95
    unenrolled: Share = 0.05

    @model_validator(mode="after")
    def _sum(self) -> EnrollmentMix:
        _check_mix(self.model_dump(), "enrollment")
        return self


class ComplianceMix(_Model):
    """Initial state of enrolled devices as Intune last evaluated it."""

    compliant: Share = 0.88
    noncompliant: Share = 0.06
    in_grace: Share = 0.01
    unknown: Share = 0.02
    """Newly enrolled, never evaluated."""
    stale: Share = 0.01
    """Compliant when last seen, but no check-in within the validity period."""
    no_policy: Share = 0.02
    """No compliance policy assigned: the tenant's no-policy mark applies."""

    @model_validator(mode="after")
    def _sum(self) -> ComplianceMix:
        _check_mix(self.model_dump(), "compliance")
        return self


class SanFormMix(_Model):
    intune_device_id: Share = 0.6
    """``IntuneDeviceId://{id}``"""
    mem_guid: Share = 0.4
    """``ID:Microsoft Endpoint Manager:GUID:{id}``"""

    @model_validator(mode="after")
    def _sum(self) -> SanFormMix:
        _check_mix(self.model_dump(), "san_forms")
        return self


class PopulationSpec(_Model):
    """Who the devices are."""

    size: int = Field(ge=1, le=16_000_000)
    os_mix: OsMix = OsMix()
    ownership: OwnershipMix = OwnershipMix()
    enrollment: EnrollmentMix = EnrollmentMix()
    compliance: ComplianceMix = ComplianceMix()
    randomized_mac_share: Share = 0.1
    certificate_share: Share = 0.8
    """Share of enrolled devices holding an Intune-issued certificate (EAP-TLS) rather than MAB."""
    san_forms: SanFormMix = SanFormMix()
    sid_tag_share: Share = 0.3
    """Share of certificates that also carry the strong-mapping SID tag URI."""
    declines_enrollment_share: Share = 0.1
    """Share of unenrolled users who never enroll when redirected."""
    unfixable_share: Share = 0.05
    """Share of noncompliant devices whose users never remediate."""
    users_per_device: float = Field(default=0.7, gt=0, le=1)
    domain: str = "contoso.com"


class AccessPointSpec(_Model):
    """A group of ``count`` identical Wi-Fi access points."""

    name: str
    count: int = Field(default=1, ge=1, le=100_000)
    ssids: list[str] = Field(default_factory=lambda: ["Corp"], min_length=1)
    capacity: int = Field(default=50, ge=1)
    """Associated clients one AP holds at once."""
    auth_concurrency: int = Field(default=4, ge=1)
    """Associations (802.1X exchanges) one AP runs at once; others queue (a SimPy resource per AP)."""


class VpnGatewaySpec(_Model):
    name: str
    count: int = Field(default=1, ge=1, le=10_000)
    capacity: int = Field(default=1000, ge=1)
    auth_concurrency: int = Field(default=32, ge=1)


class SiteSpec(_Model):
    name: str
    weight: float = Field(default=1.0, gt=0)
    access_points: list[AccessPointSpec] = Field(default_factory=list)
    vpn_gateways: list[VpnGatewaySpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_something(self) -> SiteSpec:
        if not self.access_points and not self.vpn_gateways:
            raise ValueError("a site needs access_points or vpn_gateways")
        return self


class ArrivalSpec(_Model):
    """When devices first connect: a window with a shape (device i arrives at the i-th quantile)."""

    start: float = 8 * 3600
    end: float = 10 * 3600
    shape: Literal["uniform", "normal", "triangular", "burst"] = "uniform"
    peak: float | None = None
    """Peak time (normal, triangular); default mid-window."""
    spread: float | None = None
    """Standard deviation (normal); default a sixth of the window."""

    @field_validator("start", "end", "peak", mode="before")
    @classmethod
    def _clock(cls, v: Any) -> Any:
        return None if v is None else parse_clock(v)

    @field_validator("spread", mode="before")
    @classmethod
    def _spread(cls, v: Any) -> Any:
        return None if v is None else parse_duration(v)

    @model_validator(mode="after")
    def _window(self) -> ArrivalSpec:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        if self.peak is not None and not self.start <= self.peak <= self.end:
            raise ValueError("peak must lie within start..end")
        return self


class RateLimitsSpec(_Model):
    """Intune's shared limits; split evenly across shards when the run is sharded."""

    graph_requests: int = Field(default=2000, ge=1)
    graph_window: float = 20.0
    broad_query_interval: float = 4 * 3600

    @field_validator("graph_window", "broad_query_interval", mode="before")
    @classmethod
    def _d(cls, v: Any) -> Any:
        return parse_duration(v)


class IntuneSpec(_Model):
    rate_limits: RateLimitsSpec = RateLimitsSpec()
    checkins: bool = True
    """Devices check in on Intune's cadence (15 min in the first hour after enrollment, then 8 h)."""


class DriftSpec(_Model):
    """Devices that turn noncompliant while connected (their posture fails; Intune learns at check-in)."""

    share: Share = 0.0
    fix_share: Share = 1.0
    """Share of drifted devices whose users remediate once quarantined."""


class TenantSpec(_Model):
    no_policy_mark: NoPolicyMark = NoPolicyMark.COMPLIANT
    validity_days: int = Field(default=30, ge=1, le=120)
    grace_period_hours: float = Field(default=0.0, ge=0)

    def build(self) -> TenantSettings:
        return TenantSettings(
            no_policy_mark=self.no_policy_mark,
            validity_days=self.validity_days,
            grace_period_hours=self.grace_period_hours,
        )


class FaultSpec(_Model):
    """One fault on one of the mock's surfaces: an outage window, an error rate or extra latency."""

    surface: Surface
    kind: Literal["outage", "errors", "latency"]
    start: float = 0.0
    end: float | None = None
    status: int = Field(default=503, ge=400, le=599)
    rate: Share = 1.0
    latency: DistSpec | None = None

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock(cls, v: Any) -> Any:
        return None if v is None else parse_clock(v)

    @field_validator("latency", mode="before")
    @classmethod
    def _lat(cls, v: Any) -> Any:
        return _dist_or_fixed(v)

    @model_validator(mode="after")
    def _check(self) -> FaultSpec:
        if self.end is not None and self.end < self.start:
            raise ValueError("end must not be before start")
        if self.kind == "latency" and self.latency is None:
            raise ValueError("a latency fault needs latency")
        return self


class NacSpec(_Model):
    """The NAC under test and its configuration (its vendor profile)."""

    adapter: str = "reference"
    profile: Profile = Profile.CR_CISCO
    identity: IdentitySource = IdentitySource.CERTIFICATE
    polling_interval: float = 4 * 3600
    """How often the NAC polls Intune's noncompliant list (and CoAs connected devices); Intune allows
    the broad query once per 4 hours (RES-02), so the reference NAC refuses anything shorter."""
    cache_ttl: float = 5 * 60
    decision_budget: float = 0.3
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("polling_interval", "cache_ttl", "decision_budget", mode="before")
    @classmethod
    def _d(cls, v: Any) -> Any:
        return parse_duration(v)


class Scenario(_Model):
    """One simulation scenario."""

    name: str = Field(min_length=1)
    description: str = ""
    seed: int = 0
    epoch: datetime = DEFAULT_EPOCH
    duration: float = 24 * 3600
    """Simulated run length (seconds after the epoch; arrivals after it never happen)."""
    population: PopulationSpec
    sites: list[SiteSpec] = Field(min_length=1)
    vpn_share: Share = 0.0
    """Share of devices that connect through a VPN gateway rather than Wi-Fi."""
    arrival: ArrivalSpec = ArrivalSpec()
    timings: TimingsSpec = TimingsSpec()
    intune: IntuneSpec = IntuneSpec()
    drift: DriftSpec = DriftSpec()
    tenant: TenantSpec = TenantSpec()
    faults: list[FaultSpec] = Field(default_factory=list)
    nac: NacSpec = NacSpec()
    max_attempts: int = Field(default=6, ge=1, le=100)
    """Connection attempts a device makes before it gives up (left without access)."""
    sample_interval: float = 60.0
    """How often the world samples devices-by-state."""
    trace_devices: int = Field(default=2000, ge=0)
    """Record the per-device trace (the nine-step paths) only when a shard has at most this many devices."""

    @field_validator("duration", "sample_interval", mode="before")
    @classmethod
    def _d(cls, v: Any) -> Any:
        return parse_duration(v)

    @field_validator("epoch", mode="after")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        return v if v.tzinfo else v.replace(tzinfo=UTC)

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        if self.sample_interval <= 0:
            raise ValueError("sample_interval must be > 0")
        if self.vpn_share > 0 and not any(s.vpn_gateways for s in self.sites):
            raise ValueError("vpn_share > 0 needs at least one site with vpn_gateways")
        if self.vpn_share < 1 and not any(s.access_points for s in self.sites):
            raise ValueError("Wi-Fi devices need at least one site with access_points")
        return self

    def resized(self, size: int) -> Scenario:
        """This scenario with ``size`` devices, its access points and VPN gateways scaled alike
        (at least one of each group), so each AP sees the same load: for benchmarks and tests."""
        if size < 1:
            raise ValueError(f"a scenario needs at least one device, got {size}")
        ratio = size / self.population.size

        def scaled(group: Any) -> Any:
            return group.model_copy(update={"count": max(1, round(group.count * ratio))})

        sites = [
            site.model_copy(
                update={
                    "access_points": [scaled(a) for a in site.access_points],
                    "vpn_gateways": [scaled(g) for g in site.vpn_gateways],
                }
            )
            for site in self.sites
        ]
        return self.model_copy(
            update={"population": self.population.model_copy(update={"size": size}), "sites": sites}
        )


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Validate scenario YAML ``text``; ``source`` names it in errors."""
    return validate_yaml(Scenario, text, source, ScenarioError, "a scenario (name, seed, population, ...)")


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; errors name the file, the field and the line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError("no such scenario file", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read scenario: {exc}", file=str(path)) from None
    return parse_scenario(text, str(path))


SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"


def shipped_scenarios() -> dict[str, Path]:
    """The scenarios shipped in ``scenarios/`` by name."""
    return {p.stem: p for p in sorted(SCENARIO_DIR.glob("*.yaml"))}
