"""Why a stop was left unassigned, in words a dispatcher can act on."""

from __future__ import annotations

from dataclasses import replace

from optimizer.model import Problem, Stop
from optimizer.solution import Solution, Unassigned
from optimizer.travel.matrix import UNREACHABLE, TravelMatrix


def explain(problem: Problem, matrix: TravelMatrix, stop: Stop) -> str:
    """The first reason that rules out every courier, or the cost trade-off otherwise."""
    node = problem.stop_node(stop.id)
    able = [i for i, c in enumerate(problem.couriers) if problem.can_serve(c, stop)]
    if not able:
        if stop.skills:
            return f"no courier has every skill it needs ({', '.join(sorted(stop.skills))})"
        return f"its parcel is on {stop.parcel_on}'s van and they cannot serve it"
    fits = [i for i in able if all(d <= cap for d, cap in zip(stop.demand, problem.couriers[i].capacity))]
    if not fits:
        return "no courier can carry its demand"
    cut_off = []
    for i in fits:
        durations = matrix.durations(problem.couriers[i].profile)
        there = durations[problem.start_node(i), node] >= UNREACHABLE
        back = durations[node, problem.end_node(i)] >= UNREACHABLE
        if there or back:
            cut_off.append("to" if there and not back else "back from" if back and not there else "to or from")
    if len(cut_off) == len(fits):
        way = cut_off[0] if len(set(cut_off)) == 1 else "to or from"
        return (
            f"no road leads {way} it from any courier's depot on the road map: it snaps to a road "
            "cut off from the depots' network (one-way, private or a separate piece of the map)"
        )
    reachable = False
    for i in fits:
        courier = problem.couriers[i]
        durations = matrix.durations(courier.profile)
        arrival = courier.ready_s + int(durations[problem.start_node(i), node])
        window = stop.window_for(arrival)
        start = max(arrival, window.start_s)
        if start > window.end_s:
            continue
        back = start + stop.service_s + int(durations[node, problem.end_node(i)])
        if back <= courier.shift_end_s:
            reachable = True
            break
    if not reachable:
        return "no courier can reach it inside its window and be back before the shift ends"
    if stop.required:
        return "no plan was found that serves every required stop"
    return "left out on cost: no route has room or time left for it, or serving it costs more than its penalty"


def with_reasons(problem: Problem, matrix: TravelMatrix, solution: Solution) -> Solution:
    """Fill in every stop missing from the routes as unassigned, each with its reason."""
    assigned = set(solution.assigned_stop_ids)
    known = {u.stop_id for u in solution.unassigned}
    extra = tuple(
        Unassigned(s.id, explain(problem, matrix, s))
        for s in problem.stops
        if s.id not in assigned and s.id not in known and not s.is_reload  # a reload skipped is no loss
    )
    if not extra:
        return solution

    return replace(solution, unassigned=solution.unassigned + extra)
