"""Step ordering: Kahn's algorithm with ties broken by declaration order, and cycle spelling."""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence


def topological_order(ids: Sequence[str], needs: Mapping[str, Sequence[str]]) -> list[str]:
    """Steps whose needs are met, earliest-declared first; steps on a cycle are left out."""
    index = {step_id: i for i, step_id in enumerate(ids)}
    pending = {step_id: len(set(needs.get(step_id, ()))) for step_id in ids}
    users: dict[str, list[str]] = {step_id: [] for step_id in ids}
    for step_id in ids:
        for upstream in set(needs.get(step_id, ())):
            users[upstream].append(step_id)
    ready = [index[s] for s in ids if pending[s] == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        step_id = ids[heapq.heappop(ready)]
        order.append(step_id)
        for user in users[step_id]:
            pending[user] -= 1
            if pending[user] == 0:
                heapq.heappush(ready, index[user])
    return order


def find_cycles(ids: Sequence[str], needs: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Each distinct cycle in data-flow order: ``[a, b, a]`` means b needs a and a needs b.

    ``needs`` must name only existing steps. A cycle starts at its earliest-declared step.
    """
    ordered = set(topological_order(ids, needs))
    stuck = [s for s in ids if s not in ordered]
    cycles: list[list[str]] = []
    covered: set[str] = set()
    for start in stuck:
        if start in covered:
            continue
        path: list[str] = []
        seen: dict[str, int] = {}
        node = start
        while node not in seen:  # walk upstream; every stuck step has a stuck upstream
            seen[node] = len(path)
            path.append(node)
            node = next(u for u in needs.get(node, ()) if u not in ordered)
        cycle = path[seen[node] :]
        if not covered.intersection(cycle):
            flow = [*reversed(cycle)]
            first = min(range(len(flow)), key=lambda i: ids.index(flow[i]))
            flow = flow[first:] + flow[:first]
            cycles.append([*flow, flow[0]])
        covered.update(path)
    return cycles
