"""Equivalent when run: each sample playbook under ansible-playbook and, converted, on Directord.

Both runs must succeed and leave the same files (paths, types, modes, contents, link
targets) in their sandbox. Ansible runs for real (`-c local`); the conversion runs on a
real Directord server and client on 127.0.0.1, with the node's caches evicted first.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from support.ansible_run import diff_snapshots, run_playbook, snapshot_tree

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "playbooks"
PLAYBOOKS = sorted(p.name for p in FIXTURES.glob("*.yml"))

pytestmark = pytest.mark.directord


def convert(playbook: Path, out: Path, sandbox: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "migrator", "convert", str(playbook), "-o", str(out), "--quiet",
                             "-e", f"sandbox={sandbox}"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_directord_does_what_ansible_did(name, tmp_path, clean_directord_node):
    playbook = FIXTURES / name
    ansible_box, directord_box = tmp_path / "ansible", tmp_path / "directord"
    ansible_box.mkdir()
    directord_box.mkdir()

    ansible = run_playbook(playbook, extra_vars={"sandbox": str(ansible_box)}, cwd=FIXTURES)
    ansible.assert_ok()

    out = tmp_path / "out"
    convert(playbook, out, directord_box)
    orchestration = out / "playbooks" / (playbook.stem + ".yaml")
    result = clean_directord_node.orchestrate([orchestration], cwd=out, components_dir=out / "components")
    result.assert_ok()

    differences = diff_snapshots(snapshot_tree(ansible_box), snapshot_tree(directord_box),
                                 names=("ansible", "directord"))
    assert differences == []
