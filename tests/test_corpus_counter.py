"""Pin the size of the real corpus (tripleo-ansible 6.0.0) with an independent counter.

The counter in tests/support/corpus.py shares no code with migrator/; these numbers are the
yardstick the converter's report.json is held to (docs/corpus.md: 1,592 task definitions in 323
task/handler files under roles/, about 2,007 with the playbooks).

Needs the sdists from the package index (pip download, cached in $TRIPLEO_MIGRATE_CACHE).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.corpus


def _load_corpus_module():
    name = "tripleo_migrate_tests_support_corpus"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parent / "support" / "corpus.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


corpus = _load_corpus_module()


@pytest.fixture(scope="module")
def tree() -> Path:
    try:
        return corpus.tripleo_ansible_tree()
    except corpus.CorpusError as exc:  # no index reachable: say so rather than fail obscurely
        pytest.skip(f"corpus unavailable: {exc}")


@pytest.fixture(scope="module")
def role_count(tree):
    return corpus.count_role_tasks_detailed(tree / "roles")


@pytest.fixture(scope="module")
def playbook_count(tree):
    return corpus.count_playbook_tasks(tree / "playbooks")


def test_role_tasks_and_files(role_count, tree):
    tasks = corpus.count_role_tasks(tree / "roles")
    assert tasks == role_count.tasks
    assert len(tasks) == 1592
    assert len(role_count.files) == 323
    # 5 of the 323 files hold only `---` (tripleo_cephadm/tasks/main.yml and four handlers/main.yml)
    assert len({rel for rel, _ in tasks}) == 318
    empty = sorted(set(role_count.files) - {rel for rel, _ in tasks})
    assert empty == [
        "roles/tripleo_cephadm/tasks/main.yml",
        "roles/tripleo_compute_node/handlers/main.yml",
        "roles/tripleo_container_standalone/handlers/main.yml",
        "roles/tripleo_keystone/handlers/main.yml",
        "roles/tripleo_nova_migration_target/handlers/main.yml",
    ]
    # nothing unusual besides those five: no non-list documents, no non-mapping items, no collisions
    assert all("only `---`" in note for note in role_count.notes), role_count.notes


def test_role_blocks(role_count):
    assert role_count.blocks == 175
    assert role_count.max_depth == 2


def test_largest_roles(role_count):
    per_role: dict[str, int] = {}
    for rel, _ in role_count.tasks:
        role = rel.split("/")[1]
        per_role[role] = per_role.get(role, 0) + 1
    assert len(per_role) <= 87
    assert per_role["tripleo_cephadm"] == 169
    assert per_role["backup_and_restore"] == 153


def test_known_task_positions(role_count):
    tasks = role_count.tasks

    def lines(rel):
        return sorted(line for r, line in tasks if r == rel)

    # quirk file: task keywords mis-indented inside the module's arguments; still two tasks
    assert lines("roles/tripleo_podman/tasks/rsyslog_cleanup.yml") == [8, 14]
    # one task, then two tasks inside a block (the block at line 35 is not a task), the second
    # an `include:` with list-form `vars:`
    assert lines("roles/tripleo_ceph_distribute_keys/tasks/main.yml") == [21, 38, 46]
    assert tasks[("roles/tripleo_ceph_distribute_keys/tasks/main.yml", 46)] == "Distribute the admin keyring via ansible"
    # task files in subdirectories of tasks/ are counted
    assert any(rel.startswith("roles/tripleo_cephadm/tasks/ganesha/") for rel, _ in tasks)


def test_playbooks(playbook_count, role_count):
    assert len(playbook_count.playbooks) == 76
    assert playbook_count.plays == 104
    assert playbook_count.import_playbooks == 12
    assert len(playbook_count.tasks) == 415
    assert len(playbook_count.tasks) + len(role_count.tasks) == 2007
    assert playbook_count.blocks + role_count.blocks == 209
    assert playbook_count.notes == []
