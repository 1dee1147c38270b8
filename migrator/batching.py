"""Merge runs of consecutive TASK jobs into one job each.

Directord 0.12 sends a non-built-in component to the targets again before
every job that uses it (mixin.format_action: a hidden WORKDIR + ADD), which
costs about a quarter of a second per job whatever the job does. The TASK
runtime can run several tasks in order in one job (`vars: {tasks: [...]}`)
with exactly the semantics of consecutive jobs (a failure marks the host
failed in the node's state; later tasks skip or run as always/rescue), so a
run of TASK jobs becomes one job and pays for one transfer.

Only plain TASK jobs merge: a job with `assign`, `--run-once` or any other
flag in its value keeps its own job, and every other verb ends a run.
"""

from __future__ import annotations

from .model import Job, JobGroup, Orchestration

BATCH_LIMIT = 25  # tasks per job: Directord gives each job one timeout
JOB_TIMEOUT = 600  # Directord's default per job, in seconds


def batch_task_jobs(orch: Orchestration, limit: int = BATCH_LIMIT,
                    made: dict[tuple[int, ...], tuple[list[JobGroup], JobGroup]] | None = None) -> None:
    """made: runs merged before, by the identity of their groups (kept alive there, so
    that an id is not reused). A role's task-core service holds the same groups as its
    orchestration file: sharing the merged job lets both use the text the writer renders once."""
    made = {} if made is None else made
    groups: list[JobGroup] = []
    run: list[JobGroup] = []

    def close_run() -> None:
        key = tuple(id(g) for g in run)
        if key not in made:
            made[key] = (list(run), _merged(run))
        groups.append(made[key][1])
        run.clear()

    for group in orch.groups:
        if all(_batchable(job) for job in group.jobs) and group.jobs:
            run.append(group)
            if sum(len(g.jobs) for g in run) >= limit:
                close_run()
            continue
        if run:
            close_run()
        groups.append(group)
    if run:
        close_run()
    orch.groups = groups


def _batchable(job: Job) -> bool:
    return (job.verb == "TASK" and not job.assign and not job.name and job.vars is not None
            and set(job.vars) == {"task"} and job.value == job.vars["task"]["module"])


def _merged(run: list[JobGroup]) -> JobGroup:
    jobs = [job for group in run for job in group.jobs]
    if len(jobs) == 1:
        return run[0]
    # each task had Directord's default timeout as a job of its own
    value = f"--timeout {JOB_TIMEOUT * len(jobs)} " + " ".join(job.value for job in jobs)
    merged = Job("TASK", value, vars={"tasks": [job.vars["task"] for job in jobs]})
    return JobGroup(run[0].source, run[0].label, [merged], also=[(g.source, g.label) for g in run[1:]])
