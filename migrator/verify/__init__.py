"""Prove a translation by running both sides: `tripleo-migrate verify PLAYBOOK`.

The playbook runs under the real ansible-playbook (`-c local`) with
`-e <sandbox var>=<dir A>`; its conversion runs on a real Directord server and
client started on 127.0.0.1 with `-e <sandbox var>=<dir B>`. Both runs must
succeed and leave the same tree under their sandbox (paths, types, modes,
contents, link targets). The test suite's differential test uses this too.

Needs root (Directord's server chowns its socket) and the `test` extra
(directord). Meant for a throwaway machine: the playbook really runs, twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .ansible_run import PlaybookResult, diff_snapshots, run_playbook, snapshot_tree


@dataclass
class Verification:
    playbook: Path
    ansible: PlaybookResult
    directord: Any  # cluster.OrchestrateResult
    differences: list[str]
    ansible_seconds: float
    directord_seconds: float
    conversion_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.ansible.ok and self.directord.ok and not self.differences
                and not self.conversion_errors)

    def summary(self) -> str:
        lines = [f"{self.playbook}: {'equivalent' if self.ok else 'DIFFERENT'}",
                 f"  ansible-playbook: {'ok' if self.ansible.ok else 'FAILED'} in {self.ansible_seconds:.2f} s",
                 f"  directord:        {'ok' if self.directord.ok else 'FAILED'} in {self.directord_seconds:.2f} s"
                 + (f" ({self.directord.server_seconds:.2f} s on the server)"
                    if self.directord.server_seconds is not None else "")]
        lines += [f"  conversion: {e}" for e in self.conversion_errors]
        if not self.ansible.ok:
            lines += ["  " + line for line in self.ansible.summary().splitlines()]
        if not self.directord.ok:
            lines += ["  " + line for line in self.directord.summary().splitlines()]
        lines += [f"  differs: {d}" for d in self.differences]
        return "\n".join(lines)


def verify_playbook(playbook: Path, workdir: Path, cluster, extra_vars: dict[str, Any] | None = None,
                    sandbox_var: str = "sandbox") -> Verification:
    """Run `playbook` both ways in `workdir` (which must be empty) on a started cluster
    whose nodes hold no state from earlier runs (a new one, or caches evicted)."""
    from ..pipeline import Options, run

    playbook = Path(playbook).resolve()
    extra = dict(extra_vars or {})
    ansible_box, directord_box, out = workdir / "ansible", workdir / "directord", workdir / "out"
    ansible_box.mkdir(parents=True)
    directord_box.mkdir()

    started = time.monotonic()
    ansible = run_playbook(playbook, extra_vars={**extra, sandbox_var: str(ansible_box)}, cwd=playbook.parent)
    ansible_seconds = time.monotonic() - started

    result = run(Options(paths=[playbook], out=out, extra_vars={**extra, sandbox_var: str(directord_box)}))
    errors = [f"{e['file']}:{e['line']}: {e['message']}" for e in result.report["errors"]]
    orchestration = out / "playbooks" / (playbook.stem + ".yaml")
    directord = cluster.orchestrate([orchestration], cwd=out, components_dir=out / "components")

    differences = diff_snapshots(snapshot_tree(ansible_box), snapshot_tree(directord_box),
                                 names=("ansible", "directord"))
    return Verification(playbook, ansible, directord, differences, ansible_seconds, directord.duration, errors)
