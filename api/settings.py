"""Settings from the environment (`ONTIME_*`), built on demand and injected, never global."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONTIME_", extra="ignore")

    database_url: str = Field("sqlite:///var/ontime.sqlite", description="SQLAlchemy URL; SQLite file by default")
    api_keys: str = Field("", description="comma-separated ROLE:KEY or courier:COURIER_ID:KEY")
    executor: Literal["local", "ray"] = "local"
    webhook_url: str | None = None
    replica_id: str | None = Field(
        None,
        max_length=64,
        description="this replica's name, the same across its restarts (default: the host name); with several "
        "replicas on one host, give each its own: a replica that starts again re-sends the webhooks it was "
        "sending when it stopped, found by this name",
    )
    webhook_timeout_s: float = 5.0
    sweep_s: float = Field(
        10.0,
        gt=0,
        le=3600,
        description="how often a replica looks for plans left unsolved and what-if runs left unfinished that "
        "no replica is working on (one died) and takes them up",
    )
    replan_time_limit_s: float = Field(1.0, gt=0, le=60)
    replan_iterations: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description="stop each re-optimization after this much work instead of on the clock (the time limit "
        "then only bounds it): the same answers on any machine; for replays and the simulator",
    )
    polish_time_limit_s: float = Field(
        5.0, ge=0, le=120, description="background improvement after a re-optimized answer; 0 turns it off"
    )
    solve_grace_s: float = Field(
        60.0, gt=0, le=3600, description="a plan's solve is given up, its process stopped, after 2 x its limit + this"
    )
    call_update_threshold_min: float = Field(10.0, ge=0)
    route_change_worth_min: float = Field(
        5.0,
        ge=0,
        le=120,
        description="a re-optimization changes couriers' routes only if it saves this much lateness per route "
        "changed (or leaves fewer stops out): couriers hate routes that change for nothing",
    )
    call_risk: float = Field(
        0.5,
        ge=0,
        le=1,
        description="a call opens when the chance of a late start reaches this, before the median ETA is late "
        "(tuned with `ontime bench calls`); 0 turns risk calls off (calls only on a late ETA)",
    )
    call_risk_close: float = Field(
        0.2, gt=0, lt=1, description="a call opened on risk closes when the chance falls below this (hysteresis)"
    )
    call_notice_min: float = Field(
        30.0, ge=0, le=24 * 60, description="a call is useful until this long before the window ends"
    )
    eta_leg_sigma: float = Field(0.25, ge=0, le=2, description="lognormal spread of a leg's travel time (risk ETAs)")
    eta_service_sigma: float = Field(0.575, ge=0, le=2, description="lognormal spread of a stop's service time")
    eta_pace_sigma: float = Field(0.15, ge=0, le=2, description="lognormal spread of a courier-day's pace (prior)")
    eta_samples: int = Field(256, ge=16, le=10_000, description="draws per route for the risk ETAs")
    check_invariants: bool = Field(
        False,
        description="debug mode: check every change's day against optimizer.invariants before it is "
        "committed, and refuse (500, nothing written) a change that breaks one",
    )
    max_event_ahead_min: float = Field(
        120.0,
        gt=0,
        le=7 * 24 * 60,
        description="an event whose time lies more than this ahead of both the plan's latest known time "
        "and the server clock is refused (422 naming `at`): one wrong clock must not move the day",
    )
    lateness_cost_per_min: int = Field(3000, gt=0, description="objective units (metres) per minute late")
    move_cost: int = Field(2000, ge=0, description="objective units for splitting a courier's stops")
    detour_factor: float = Field(1.3, ge=1.0, le=3.0)
    max_body_bytes: int = Field(8_000_000, gt=0)
    keep_alive_s: int = Field(
        75,
        ge=1,
        le=3600,
        description="seconds an idle client connection stays open: longer than clients keep theirs (httpx 5 s), "
        "so the server never closes a connection just as a phone reuses it",
    )
    solver_workers: int = Field(1, ge=1, le=16)
    tile_url: str | None = None
    road_map: str | None = Field(
        None,
        description="the road network travel is timed on: an .osm.pbf file, or an embedded city "
        "(xuzhou, porto); unset: straight lines x detour_factor",
    )
    road_maps: str = Field(
        "", description="more road networks a problem may name (`road_map`): comma-separated NAME=FILE.osm.pbf"
    )
    road_cache: Path = Field(
        Path.home() / ".cache" / "ontime" / "roads",
        description="where prepared road graphs are kept, keyed by the map file's hash",
    )
    road_speeds: Path | None = Field(None, description="a speed table (TOML) instead of the shipped road_speeds.toml")
    cors_origins: list[str] = Field(default_factory=list)


@lru_cache
def get_settings() -> Settings:
    return Settings()
