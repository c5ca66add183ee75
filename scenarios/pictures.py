"""Pictures of simulated days (`scenarios.simulate`): a per-courier timeline of planned and
true starts with the moment each call was made against its window, and the on-time rate
through the day per policy. PNG files, drawn with matplotlib off screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def draw_day(rows: list[dict[str, Any]], title: str, folder: Path) -> list[str]:
    """Two pictures of simulated days (`RunFigures.row()` with its `timeline`, any policies
    and seeds) into `folder`: the first live+risk run's couriers as a timeline, and the on-time
    rate through the day per policy over every run. The file names written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    first = min(r["seed"] for r in rows)
    run_ = next((r for r in rows if r["policy"] == "live+risk" and r["seed"] == first), rows[0])
    couriers = sorted({s["courier_id"] for s in run_["timeline"] if s["courier_id"]})[:6]
    fig, axes = plt.subplots(len(couriers), 1, figsize=(11, 1.6 * len(couriers) + 1), sharex=True)
    for ax, courier in zip(axes if len(couriers) > 1 else [axes], couriers, strict=True):
        stops = sorted((s for s in run_["timeline"] if s["courier_id"] == courier), key=lambda s: s["planned_s"] or 0)
        for y, s in enumerate(stops):
            h = 1 / 3600
            ax.plot(
                [s["window_start_s"] * h, s["window_end_s"] * h], [y, y], color="#cfd8dc", lw=5, solid_capstyle="butt"
            )
            if s["planned_s"] is not None:
                ax.plot(s["planned_s"] * h, y, "o", ms=3, color="#607d8b")
            if s["true_s"] is not None:
                ax.plot(s["true_s"] * h, y, "x", ms=5, color="#c62828" if s["late"] else "#2e7d32")
            if s["called_s"] is not None:
                ax.plot(s["called_s"] * h, y, "v", ms=6, color="#ef6c00")
        ax.set_ylabel(courier, rotation=0, ha="right", va="center")
        ax.set_yticks([])
    (axes[-1] if len(couriers) > 1 else axes).set_xlabel("hour of the day")
    fig.suptitle(
        f"{title}, seed {first}, live+risk: booked windows (bars), morning ETA (dots), true start (x: green on "
        "time, red late), call made (orange triangle)",
        fontsize=9,
    )
    fig.tight_layout()
    path = folder / "calls_timeline.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path.name)

    fig, ax = plt.subplots(figsize=(8, 4))
    for policy in ("static", "live", "live+risk"):
        mine = [r for r in rows if r["policy"] == policy]
        hours = list(range(9, 22))
        rates = []
        for hour in hours:
            due = [s for r in mine for s in r["timeline"] if s["window_end_s"] <= hour * 3600]
            rates.append(100 * sum(1 for s in due if not s["late"]) / len(due) if due else float("nan"))
        ax.plot(hours, rates, marker="o", label=policy)
    ax.set_xlabel("hour of the day (windows ended by then)")
    ax.set_ylabel("on time %")
    ax.set_title(f"{title}: on-time rate through the day, all seeds pooled")
    ax.legend()
    fig.tight_layout()
    path = folder / "calls_ontime.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path.name)
    return written
