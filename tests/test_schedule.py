"""How units are shared between the two converting processes (migrator/schedule.py, pipeline._Units)."""

from __future__ import annotations

import multiprocessing
import random

from migrator.pipeline import _Units
from migrator.schedule import plan


def _tree(tmp_path, roles: dict[str, int], playbooks: dict[str, list[str]]):
    units = []
    for name, size in roles.items():
        tasks = tmp_path / "roles" / name / "tasks"
        tasks.mkdir(parents=True)
        (tasks / "main.yml").write_text("- debug: msg=x\n" * size)
        units.append(("role", tmp_path / "roles" / name, None))
    for name, used in playbooks.items():
        path = tmp_path / f"{name}.yml"
        path.write_text("- hosts: all\n  roles:\n" + "".join(f"    - role: {r}\n" for r in used[:1])
                        + "  tasks:\n" + "".join(f"    - import_role:\n        name: tripleo.operator.{r}\n"
                                                 for r in used[1:]))
        units.append(("playbook", path, tmp_path))
    return units


def test_every_unit_is_planned_once_and_a_role_goes_with_its_playbooks(tmp_path):
    units = _tree(tmp_path, {"a": 40, "b": 40, "c": 5, "d": 5},
                  {"pa": ["a", "c"], "pa2": ["a"], "pb": ["b", "d"], "pb2": ["b"]})
    queues = plan(units)
    assert sorted(i for q in queues for i in q) == list(range(len(units)))
    side = {units[i][1].stem if units[i][0] != "role" else units[i][1].name: s
            for s, q in enumerate(queues) for i in q}
    assert side["a"] == side["pa"] == side["pa2"] == side["c"]
    assert side["b"] == side["pb"] == side["pb2"] == side["d"]
    assert side["a"] != side["b"]  # balance: each side gets one of the two big roles


def test_two_processes_take_every_unit_exactly_once_stealing_from_each_other(tmp_path):
    units = [("role", tmp_path / f"r{i}", None) for i in range(30)]
    queues = [list(range(0, 25)), list(range(25, 30))]  # a bad plan: side 1 runs dry early
    bounds = multiprocessing.get_context("fork").Array("i", [0, 25, 0, 5])
    sides = [iter(_Units(units, queues, bounds, s)) for s in (0, 1)]
    taken: list[list[int]] = [[], []]
    rng = random.Random(7)
    live = [0, 1]
    while live:
        s = rng.choice(live)
        item = next(sides[s], None)
        if item is None:
            live.remove(s)
        else:
            taken[s].append(item[0])
    assert sorted(taken[0] + taken[1]) == list(range(30))
    assert len(taken[1]) > 5  # side 1 took from side 0's queue when its own ran dry
    assert taken[0] == sorted(taken[0])  # side 0 kept its own order from the front


def test_without_a_plan_units_come_in_order(tmp_path):
    units = [("role", tmp_path / f"r{i}", None) for i in range(4)]
    assert [i for i, _ in _Units(units)] == [0, 1, 2, 3]


def test_a_playbook_that_imports_others_costs_their_roles_too(tmp_path):
    units = _tree(tmp_path, {"a": 40, "b": 40, "c": 2}, {"pa": ["a"], "pb": ["b"], "pc": ["c"]})
    top = tmp_path / "all.yml"
    top.write_text("- import_playbook: pa.yml\n- ansible.builtin.import_playbook: '{{ templated }}.yml'\n")
    units.append(("playbook", top, tmp_path))
    queues = plan(units)
    first = {units[q[0]][1].stem for q in queues}
    assert "all" in first  # the largest estimate of its queue: it converts pa and role a inline
    side = {units[i][1].stem: s for s, q in enumerate(queues) for i in q}
    assert side["all"] == side["pa"] == side["a"]
