"""Host side of incremental loads: hand each step its last mark, commit new marks after the run.

The same for every adapter: marks are read here before ``prepare`` and reach the steps through
``ExecutionContext.run_options`` (a remote adapter passes them to ``python -m osiris.worker
--run-options FILE``; they never enter compiled files, so fingerprints stay deterministic). A
step reports its new mark as an ``incremental_mark`` event, which reaches the host's session
from a local or a remote run alike. A mark is committed only when its step and every write step
it feeds (directly or through transforms) succeeded; otherwise the stored mark stays, and the
next run reads the same rows again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from osiris.errors import InvalidInputError, OsirisError
from osiris.state.cursor import Mark
from osiris.state.store import StateStore, StoredMark

if TYPE_CHECKING:
    from osiris.runner.manifest import Manifest
    from osiris.session import Session

MARK_EVENT = "incremental_mark"


@dataclass
class StatePlan:
    """The incremental steps of one run, what they were handed and what they reported."""

    manifest: Manifest
    store: StateStore
    full_refresh: bool
    cursors: dict[str, str]
    stored: dict[str, StoredMark | None]
    reported: dict[str, dict[str, Any]] = field(default_factory=dict)

    def run_options(self) -> dict[str, Any]:
        """What the steps receive (``ctx.incremental``): the last mark, or None to read all."""
        return {
            "incremental": {
                step_id: {
                    "cursor": cursor,
                    "last": None
                    if self.full_refresh or self.stored[step_id] is None
                    else self.stored[step_id].mark.as_dict(),  # type: ignore[union-attr]
                }
                for step_id, cursor in self.cursors.items()
            }
        }

    def listen(self, kind: str, record: dict[str, Any]) -> None:
        """Session listener: keep each step's ``incremental_mark`` (local and remote runs)."""
        if kind == "event" and record.get("event") == MARK_EVENT and record.get("step_id"):
            self.reported[record["step_id"]] = record

    def writers(self, step_id: str) -> list[str]:
        """The write steps fed by ``step_id``, directly or through other steps."""
        consumers = self.manifest.consumers()
        seen: list[str] = []
        todo = list(consumers[step_id])
        while todo:
            current = todo.pop(0)
            if current not in seen:
                seen.append(current)
                todo.extend(consumers[current])
        return [s for s in seen if self.manifest.step(s).mode == "write"]


def read_state(
    session: Session, manifest: Manifest, *, store: StateStore, full_refresh: bool
) -> StatePlan | None:
    """Read the marks of the manifest's incremental steps (``state_read`` events); None if none."""
    cursors = {
        s.id: str(s.config["incremental"].get("cursor"))
        for s in manifest.steps
        if isinstance(s.config.get("incremental"), dict)
    }
    if not cursors:
        return None
    stored = {step_id: store.get(manifest.name, step_id) for step_id in cursors}
    for step_id, cursor in cursors.items():
        found = stored[step_id]
        if found is not None and found.cursor != cursor and not full_refresh:
            raise InvalidInputError(
                f"Step '{step_id}': the stored mark is for cursor '{found.cursor}', but the"
                f" step's cursor is now '{cursor}'.",
                hint=f"Run once with --full-refresh, or `osiris state reset {manifest.name}"
                f" --step {step_id}`.",
            )
        session.event(
            "state_read",
            step_id=step_id,
            cursor=cursor,
            found=found is not None,
            full_refresh=full_refresh,
            type=found.mark.kind if found else None,
            value=found.mark.value if found else None,
        )
    return StatePlan(manifest, store, full_refresh, cursors, stored)


def commit_state(
    session: Session, plan: StatePlan, steps: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Store the new marks the run earned, in one transaction; returns what happened per step."""
    from osiris.session.paths import utc_now_iso

    entries: list[tuple[str, str, Mark | None]] = []
    outcome: dict[str, dict[str, Any]] = {}
    for step_id, cursor in plan.cursors.items():
        previous = plan.stored[step_id]
        before = previous.mark.value if previous else None
        reason = _blocker(plan, step_id, steps)
        mark: Mark | None = None
        if reason is None:
            try:
                mark = _reported_mark(plan.reported[step_id])
            except ValueError:
                reason = "its reported mark could not be read back"
        if reason is None and mark is None and not plan.full_refresh:
            reason = "it read no rows"
        if reason is None and not plan.full_refresh and mark and before == mark.value:
            reason = "no rows past the mark"
        if reason is not None:
            session.event("state_kept", step_id=step_id, cursor=cursor, value=before, reason=reason)
            outcome[step_id] = {"cursor": cursor, "value": before, "committed": False,
                                "reason": reason}  # fmt: skip
            continue
        entries.append((step_id, cursor, mark))
        outcome[step_id] = {"cursor": cursor, "value": mark.value if mark else None,
                            "previous": before, "committed": True}  # fmt: skip
    if entries:
        try:
            plan.store.commit(
                plan.manifest.name, entries, session=session.id, updated_at=utc_now_iso()
            )
        except Exception as exc:
            raise OsirisError(
                f"The load committed, but its new marks could not be stored in"
                f" {plan.store.path} ({exc}); the next run reads the same rows again."
            ) from exc
        for step_id, cursor, mark in entries:
            session.event(
                "state_commit",
                step_id=step_id,
                cursor=cursor,
                type=mark.kind if mark else None,
                value=mark.value if mark else None,
                previous=outcome[step_id]["previous"],
            )
    return outcome


def _blocker(plan: StatePlan, step_id: str, steps: dict[str, dict[str, Any]]) -> str | None:
    """Why the step's new mark must not be stored, or None."""
    if (steps.get(step_id) or {}).get("status") != "succeeded":
        return "the step did not succeed"
    for writer in plan.writers(step_id):
        if (steps.get(writer) or {}).get("status") != "succeeded":
            return f"write step '{writer}' did not commit"
    if step_id not in plan.reported:
        return "the step reported no mark"
    return None


def _reported_mark(record: dict[str, Any]) -> Mark | None:
    if record.get("value") is None:
        return None
    return Mark.from_dict(record)


def state_line(step_id: str, mark: dict[str, Any]) -> str:
    """One summary line per incremental step: the mark stored, or kept and why."""
    value = mark.get("value")
    if mark.get("committed"):
        stored = f"= {value} (stored)" if value is not None else "mark removed (nothing read)"
        return f"  state {step_id}: {mark['cursor']} {stored}"
    kept = f"stays {value}" if value is not None else "has no mark yet"
    return f"  state {step_id}: {mark['cursor']} {kept} ({mark.get('reason')})"
