"""The LaDe replay: loading real pickups, the fit, and the risk predictor's flags against them."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from optimizer.risk import NoiseModel
from scenarios.lade import (
    LadeFit,
    ReplayFigures,
    fit_lade,
    lade_data_dir,
    load_day,
    load_lade,
    replay_lade,
    replay_timeline,
    score,
    sweep,
)

COLUMNS = (
    "order_id,region_id,city,courier_id,accept_time,time_window_start,time_window_end,lng,lat,aoi_id,aoi_type,"
    "pickup_time,pickup_gps_time,pickup_gps_lng,pickup_gps_lat,accept_gps_time,accept_gps_lng,accept_gps_lat,ds"
)


@pytest.fixture(scope="module")
def lade() -> Path:
    """The real LaDe samples; the tests that need them skip, saying why, when they are absent."""
    folder = lade_data_dir()
    if not sorted(folder.glob("pickup_*.csv")):
        pytest.skip(f"no LaDe pickup_*.csv under {folder}; set ONTIME_DATA_DIR to the shared data folder")
    return folder


@pytest.fixture(scope="module")
def fit(lade: Path) -> LadeFit:
    return fit_lade(lade)


def _write_day(
    folder: Path, rows: list[tuple[str, str, str, str, str, str, float, float, str]], ds: str = "501"
) -> Path:
    """A LaDe-shaped CSV: (order, courier, accept, window start, window end, pickup, lat, lng, region)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pickup_test_oneday.csv"
    lines = [COLUMNS]
    for order, courier, accept, opens, closes, picked, lat, lng, region in rows:
        lines.append(
            f"{order},{region},Testville,{courier},{accept},{opens},{closes},{lng},{lat},1,14,{picked},,,,,,,{ds}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _tiny_day(folder: Path, accept_far: str = "05-01 08:00:00") -> Path:
    """Courier 1 must ride 20 km (87 min at 5 m/s x 1.3) to a window closing 45 min after
    their first pickup: obviously late. Courier 2's next stop is 300 m away with hours to spare."""
    return _write_day(
        folder,
        [
            ("a1", "1", "05-01 08:00:00", "05-01 09:00:00", "05-01 11:00:00", "05-01 09:00:00", 30.0, 120.0, "7"),
            ("a2", "1", accept_far, "05-01 09:00:00", "05-01 09:45:00", "05-01 10:40:00", 30.18, 120.0, "7"),
            ("b1", "2", "05-01 08:00:00", "05-01 09:00:00", "05-01 11:00:00", "05-01 09:00:00", 30.0, 120.1, "7"),
            ("b2", "2", "05-01 08:00:00", "05-01 09:00:00", "05-01 13:00:00", "05-01 09:15:00", 30.0027, 120.1, "7"),
        ],
    ).parent


def _in_unit(value: float | None) -> bool:
    return value is None or 0.0 <= value <= 1.0


# -- loading -----------------------------------------------------------------------------


def test_data_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ONTIME_DATA_DIR", str(tmp_path))
    assert lade_data_dir() == tmp_path / "lade"
    monkeypatch.delenv("ONTIME_DATA_DIR")
    assert lade_data_dir() == Path(__file__).resolve().parents[3] / "shared" / "data" / "lade"


def test_times_are_seconds_from_the_days_midnight(tmp_path: Path) -> None:
    day = load_day(
        _write_day(
            tmp_path,
            [
                ("x", "1", "04-30 23:00:00", "04-30 23:00:00", "04-30 23:59:00", "05-01 00:00:30", 30.0, 120.0, "1"),
                ("y", "1", "05-01 08:00:00", "05-02 09:00:00", "05-02 11:00:00", "05-01 12:34:56", 30.0, 120.0, "1"),
                ("z", "1", "05-01 08:00:00", "05-01 09:00:00", "05-01 11:00:00", "05-01 11:00:00", 30.0, 120.0, "1"),
            ],
        )
    )
    x, y, z = day.pickups
    assert (x.accept_s, x.window_end_s, x.pickup_s) == (-3600, -60, 30)
    assert x.any_time and x.late and not y.any_time
    assert z.pickup_s == z.window_end_s and not z.late  # on the deadline is on time
    assert (y.window_start_s, y.pickup_s) == (86_400 + 9 * 3600, 12 * 3600 + 34 * 60 + 56)
    wrapped = load_day(
        _write_day(
            tmp_path,
            [("z", "1", "12-31 23:00:00", "01-01 09:00:00", "01-01 11:00:00", "01-01 10:00:00", 30.0, 120.0, "1")],
            ds="101",
        )
    )
    assert wrapped.pickups[0].accept_s == -3600


def test_a_bad_time_names_the_line(tmp_path: Path) -> None:
    path = _write_day(
        tmp_path, [("x", "1", "yesterday", "05-01 09:00:00", "05-01 11:00:00", "05-01 10:00:00", 30.0, 120.0, "1")]
    )
    with pytest.raises(ValueError, match=r"pickup_test_oneday.csv:2"):
        load_day(path)


def test_loader_parses_both_files(lade: Path) -> None:
    days = {d.city: d for d in load_lade(lade)}
    assert {city: len(d.pickups) for city, d in days.items()} == {"Hangzhou": 1156, "Jilin": 767}
    assert (days["Hangzhou"].day, days["Hangzhou"].regions) == ("501", 28)
    assert (days["Jilin"].day, days["Jilin"].regions) == ("607", 15)
    for day in days.values():
        assert all(0 <= p.pickup_s < 86_400 for p in day.pickups)  # everything was picked up that day
        stops = day.courier_days()
        assert sum(len(s) for s in stops) == len(day.pickups)
        assert all(a.pickup_s <= b.pickup_s for s in stops for a, b in itertools.pairwise(s))


def test_late_share_matches_the_readme(lade: Path) -> None:
    shares = {d.city: round(100 * d.late_share, 1) for d in load_lade(lade)}
    assert shares == {"Hangzhou": 1.8, "Jilin": 0.3}


# -- fit ---------------------------------------------------------------------------------


def test_fit_is_in_sane_ranges(fit: LadeFit) -> None:
    assert fit.pickups == 1156 + 767
    assert fit.gaps == fit.pickups - fit.courier_days
    assert fit.gaps_used + fit.gaps_idle == fit.gaps and fit.gaps_used > fit.gaps / 2
    assert 1.0 <= fit.speed_mps <= 15.0  # walking to fast e-bike
    assert 60 <= fit.service_s <= 1800
    assert 0.05 < fit.spread_within <= fit.spread_total < 2.0
    assert fit.leg_sigma == fit.service_sigma == fit.spread_within
    assert fit.pace_couriers >= 20
    assert 0.0 <= fit.pace_sigma <= fit.pace_sigma_raw < 1.0
    assert fit.any_time_pickups == 87 and fit.timed_pickups == fit.pickups - 87
    assert 0.005 < fit.late_share < 0.03
    assert fit.late_p50_min is not None and fit.late_p90_min is not None
    assert 0 < fit.late_p50_min <= fit.late_p90_min < 600
    assert 0.02 < fit.last_30min_share < 0.5
    assert 0.0 < fit.early_share < 0.5
    model = fit.noise_model()
    assert (model.leg_sigma, model.pace_sigma, model.samples) == (fit.leg_sigma, fit.pace_sigma, NoiseModel().samples)


def test_a_longer_idle_cap_reads_slower_travel(lade: Path, fit: LadeFit) -> None:
    """Long gaps hold idle time: letting them in makes the courier look slower."""
    assert fit_lade(lade, idle_gap_s=7200).speed_mps < fit.speed_mps


# -- replay ------------------------------------------------------------------------------


def test_an_obviously_late_courier_is_flagged_in_time_and_an_early_one_is_not(tmp_path: Path) -> None:
    folder = _tiny_day(tmp_path)
    timeline = {s.order_id: s for s in replay_timeline(folder, NoiseModel(), speed_mps=5.0, service_s=300)}
    late, early = timeline["a2"], timeline["b2"]
    assert late.late and not early.late
    assert late.flagged_at(0.5) == 9 * 3600 < late.window_end_s
    assert late.readings[0].p_late > 0.9
    assert early.flagged_at(0.3) is None and early.readings[0].p_late == 0.0
    assert not timeline["a1"].readings  # nobody reported before the first pickup

    figures = replay_lade(folder, NoiseModel(), 0.5, lead_min=30, speed_mps=5.0, service_s=300)
    assert (figures.stops, figures.late, figures.flagged, figures.true_flags, figures.flagged_in_time) == (
        4,
        1,
        1,
        1,
        1,
    )
    assert (figures.recall_at_lead, figures.recall_any, figures.precision) == (1.0, 1.0, 1.0)
    assert figures.median_lead_min == 45.0
    assert replay_lade(folder, NoiseModel(), 0.5, lead_min=60, speed_mps=5.0, service_s=300).recall_at_lead == 0.0


def test_an_order_not_yet_accepted_is_not_on_the_route(tmp_path: Path) -> None:
    folder = _tiny_day(tmp_path, accept_far="05-01 09:30:00")
    figures = replay_lade(folder, NoiseModel(), 0.5, speed_mps=5.0, service_s=300)
    assert (figures.late, figures.unseen_late, figures.flagged, figures.recall_any, figures.precision) == (
        1,
        1,
        0,
        0.0,
        None,
    )
    told = replay_lade(folder, NoiseModel(), 0.5, speed_mps=5.0, service_s=300, known_only=False)
    assert told.true_flags == 1


def test_a_warning_after_the_deadline_is_no_flag(tmp_path: Path) -> None:
    """At the only report the window had closed already: p_late is 1, but nothing was foreseen."""
    folder = _write_day(
        tmp_path,
        [
            ("c1", "3", "05-01 08:00:00", "05-01 08:00:00", "05-01 10:00:00", "05-01 09:00:00", 30.0, 120.0, "7"),
            ("c2", "3", "05-01 08:00:00", "05-01 08:00:00", "05-01 08:30:00", "05-01 09:20:00", 30.001, 120.0, "7"),
        ],
    ).parent
    (late,) = [s for s in replay_timeline(folder, NoiseModel(), speed_mps=5.0, service_s=300) if s.order_id == "c2"]
    assert late.readings[0].p_late == 1.0 and late.flagged_at(0.5) is None
    figures = replay_lade(folder, NoiseModel(), 0.5, speed_mps=5.0, service_s=300)
    assert (figures.late, figures.unseen_late, figures.flagged, figures.recall_any) == (1, 1, 0, 0.0)


def test_a_courier_slow_all_morning_is_expected_slow(tmp_path: Path) -> None:
    """Two couriers, the same six 1 km hops and a seventh stop whose window closes 5 min after
    their sixth pickup (planned: 260 s away). One took 25 min a hop (the plan says 9), the
    other kept to the plan: at the sixth pickup, the pace learnt from the morning puts only the
    slow one's stop at risk."""
    rows = []
    for courier, lng, gap_min in (("slow", 120.0, 25), ("steady", 120.2, 9)):
        for k in range(7):
            at = 9 * 60 + gap_min * min(k, 5) + (10 if k == 6 else 0)
            closes = 9 * 60 + gap_min * 5 + 5 if k == 6 else 20 * 60
            picked = at if k < 6 else 9 * 60 + gap_min * 5 + (10 if courier == "slow" else 4)
            rows.append(
                (
                    f"{courier}{k}",
                    courier,
                    "05-01 08:00:00",
                    "05-01 08:00:00",
                    f"05-01 {closes // 60:02d}:{closes % 60:02d}:00",
                    f"05-01 {picked // 60:02d}:{picked % 60:02d}:00",
                    30.0 + 0.009 * k,
                    lng,
                    "7",
                )
            )
    folder = _write_day(tmp_path, rows).parent
    timeline = {s.order_id: s for s in replay_timeline(folder, NoiseModel(), speed_mps=5.0, service_s=300)}
    slow, steady = timeline["slow6"], timeline["steady6"]
    assert slow.late and not steady.late
    assert slow.readings[-1].p_late > 0.6 > 0.4 > steady.readings[-1].p_late
    assert slow.flagged_at(0.5) == slow.readings[-1].at_s  # not before: the plan alone says in time
    assert steady.readings[-1].eta_p50_s <= steady.window_end_s < slow.readings[-1].eta_p50_s


def test_replay_on_real_days_is_bounded_and_deterministic(lade: Path, fit: LadeFit) -> None:
    model = fit.noise_model()
    first = sweep(lade, model, (0.3, 0.5, 0.7))
    assert first == sweep(lade, model, (0.3, 0.5, 0.7))
    for figures in first:
        assert isinstance(figures, ReplayFigures)
        assert figures.stops == fit.timed_pickups
        assert figures.late == round(fit.late_share * fit.timed_pickups)
        assert figures.true_flags <= min(figures.flagged, figures.late - figures.unseen_late)
        assert figures.flagged_in_time <= figures.true_flags
        assert all(_in_unit(v) for v in (figures.recall_at_lead, figures.recall_any, figures.precision))
        assert figures.median_lead_min is None or figures.median_lead_min > 0
    assert [f.flagged for f in first] == sorted((f.flagged for f in first), reverse=True)


def test_scoring_rejects_a_threshold_outside_zero_to_one() -> None:
    with pytest.raises(ValueError, match="threshold"):
        score([], 0.0)
    empty = score([], 0.5)
    assert (empty.recall_any, empty.precision, empty.median_lead_min) == (None, None, None)
