"""Equivalent when run: each sample playbook under ansible-playbook and, converted, on Directord.

Both runs must succeed and leave the same files (paths, types, modes, contents, link
targets) in their sandbox. Ansible runs for real (`-c local`); the conversion runs on a
real Directord server and client on 127.0.0.1, with the node's caches evicted first.
The comparison is `tripleo-migrate verify`'s (migrator/verify).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.verify import verify_playbook

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "playbooks"
PLAYBOOKS = sorted(p.name for p in FIXTURES.glob("*.yml"))

pytestmark = pytest.mark.directord


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_directord_does_what_ansible_did(name, tmp_path, clean_directord_node):
    outcome = verify_playbook(FIXTURES / name, tmp_path / "run", clean_directord_node)
    assert outcome.ok, outcome.summary()
