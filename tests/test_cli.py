"""The command-line contract: exit codes, OUT handling, determinism, bad input."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path


REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "playbooks"


def run_cli(*args: str, cwd: Path = REPO, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "migrator", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=300)


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content))
    return root


def test_sample_converts_with_full_coverage(tmp_path):
    out = tmp_path / "out"
    result = run_cli("convert", str(FIXTURES), "-o", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["schema"] == "tripleo-migrate/report/v1"
    assert report["summary"]["errors"] == 0 and report["summary"]["coverage"] == 100.0
    assert (out / "playbooks" / "files.yaml").is_file()
    assert (out / "roles" / "sample_service" / "orchestration.yaml").is_file()
    assert (out / "components" / "task.py").is_file()
    assert (out / "report.md").read_text().startswith("# tripleo-migrate report")


def test_output_is_identical_whatever_the_hash_seed(tmp_path):
    digests = []
    for seed in ("0", "1", "12345"):
        out = tmp_path / f"out-{seed}"
        result = run_cli("convert", str(FIXTURES), "-o", str(out), "--quiet", env={"PYTHONHASHSEED": seed})
        assert result.returncode == 0, result.stderr
        digests.append(tree_digest(out))
    assert digests[0] == digests[1] == digests[2]


def test_path_order_does_not_change_output(tmp_path):
    a = run_cli("convert", str(FIXTURES / "files.yml"), str(FIXTURES / "commands.yml"), "-o", str(tmp_path / "a"), "--quiet")
    b = run_cli("convert", str(FIXTURES / "commands.yml"), str(FIXTURES / "files.yml"), "-o", str(tmp_path / "b"), "--quiet")
    assert a.returncode == b.returncode == 0
    strip = lambda d: {k: v for k, v in d.items() if k != ".tripleo-migrate"}  # holds the paths' fingerprint
    assert strip(tree_digest(tmp_path / "a")) == strip(tree_digest(tmp_path / "b"))


def test_refuses_foreign_non_empty_out_unless_forced(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    refused = run_cli("convert", str(FIXTURES), "-o", str(out))
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert (out / "precious.txt").read_text() == "keep me"
    forced = run_cli("convert", str(FIXTURES), "-o", str(out), "--force", "--quiet")
    assert forced.returncode == 0 and not (out / "precious.txt").exists()


def test_rerun_into_own_out_needs_no_force_and_keeps_output(tmp_path):
    out = tmp_path / "out"
    assert run_cli("convert", str(FIXTURES), "-o", str(out), "--quiet").returncode == 0
    first = tree_digest(out)
    again = run_cli("convert", str(FIXTURES), "-o", str(out))
    assert again.returncode == 0 and "unchanged" in again.stderr
    assert tree_digest(out) == first


def test_nothing_readable_is_exit_2(tmp_path):
    result = run_cli("convert", str(tmp_path / "missing"), "-o", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 2
    assert "no such file or directory" in result.stderr


def test_fail_under_gates_coverage(tmp_path):
    roles = write(tmp_path / "roles", {"r/tasks/main.yml": "- some_custom_module: a=b\n- debug: msg=hi\n"})
    result = run_cli("convert", str(roles), "-o", str(tmp_path / "out"), "--quiet", "--fail-under", "60")
    assert result.returncode == 1 and "under 60" in result.stderr
    result = run_cli("convert", str(roles), "-o", str(tmp_path / "out2"), "--quiet", "--fail-under", "50")
    assert result.returncode == 0


BAD_ROLES = {
    "badyaml/tasks/main.yml": "- name: x\n  debug: [unclosed\n",
    "tabs/tasks/main.yml": "- name: x\n\tdebug: msg=hi\n",
    "mapping/tasks/main.yml": "name: not a list\n",
    "scalar/tasks/main.yml": "- just a string\n- 42\n- debug: msg=still-converted\n",
    "dupkeys/tasks/main.yml": "- name: one\n  name: two\n  debug: msg=hi\n",
    "binary/tasks/main.yml": b"\x00\x01\x02binary",
    "latin1/tasks/main.yml": b"- name: caf\xe9\n  debug: msg=x\n",
    "empty/tasks/main.yml": "",
    "twoactions/tasks/main.yml": "- shell: echo a\n  command: echo b\n",
    "missing/tasks/main.yml": "- include_tasks: nope.yml\n",
    "cycle/tasks/main.yml": "- include_tasks: other.yml\n",
    "cycle/tasks/other.yml": "- include_tasks: main.yml\n",
    "depcycle_a/tasks/main.yml": "- debug: msg=a\n",
    "depcycle_a/meta/main.yml": "dependencies: [depcycle_b]\n",
    "depcycle_b/tasks/main.yml": "- debug: msg=b\n",
    "depcycle_b/meta/main.yml": "dependencies: [depcycle_a]\n",
    "outside/tasks/main.yml": "- copy: src=../../../../../../etc/passwd dest=/tmp/x\n",
    "deep/tasks/main.yml": "- debug: " + "[" * 3000 + "]" * 3000 + "\n",
    "good/tasks/main.yml": "- name: Good task\n  file: path=/tmp/good state=directory\n",
}


def test_bad_input_is_reported_one_line_each_and_the_rest_converts(tmp_path):
    write(tmp_path / "roles", BAD_ROLES)
    out = tmp_path / "out"
    result = run_cli("convert", "roles", "-o", str(out), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads((out / "report.json").read_text())
    errors = {(e["file"], e["line"]): e["message"] for e in report["errors"]}

    def error_for(prefix: str) -> tuple[int, str]:
        hits = [(line, msg) for (f, line), msg in errors.items() if f.startswith(f"roles/{prefix}/")]
        assert hits, f"no error reported for {prefix}: {errors}"
        return hits[0]

    assert error_for("badyaml")[0] == 2
    assert error_for("tabs")[0] == 2
    assert "YAML list" in error_for("mapping")[1]
    assert "mapping" in error_for("scalar")[1]
    assert "binary" in error_for("binary")[1]
    assert error_for("latin1") == (1, "not UTF-8 (byte 0xe9)")
    assert "conflicting action" in error_for("twoactions")[1]
    assert "not found" in error_for("missing")[1]
    assert "cycle" in error_for("cycle")[1]
    assert "cycle" in error_for("depcycle_a")[1] or "cycle" in error_for("depcycle_b")[1]
    assert "nesting" in error_for("deep")[1]
    # Every error is on stderr too, one line each, as file:line: error: message.
    for (file, line), message in errors.items():
        assert f"{file}:{line}: error: {message}" in result.stderr.splitlines()
    # The rest converts: tasks of good roles (and good tasks of bad files) are there.
    tasks = {(t["file"], t["line"]): t for t in report["tasks"]}
    assert tasks[("roles/good/tasks/main.yml", 1)]["outcome"] == "native"
    assert tasks[("roles/scalar/tasks/main.yml", 3)]["outcome"] == "component"
    dup = tasks[("roles/dupkeys/tasks/main.yml", 1)]
    assert dup["name"] == "two" and any("duplicate key" in f["message"] for f in dup["findings"])
    # A source outside the input tree is reported, never copied.
    outside = tasks[("roles/outside/tasks/main.yml", 1)]
    assert outside["outcome"] == "unsupported"
    assert any("outside the input tree" in f["message"] for f in outside["findings"])
    assert not any("passwd" in p.name for p in out.rglob("*"))


def test_symlink_loop_does_not_hang(tmp_path):
    roles = write(tmp_path / "roles", {"r/tasks/main.yml": "- debug: msg=hi\n"})
    (roles / "r" / "tasks" / "loop").symlink_to(roles / "r" / "tasks")
    (roles / "r" / "tasks" / "self.yml").symlink_to(roles / "r" / "tasks" / "self.yml")
    result = run_cli("convert", str(roles), "-o", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert any("self.yml" in e["file"] for e in report["errors"])
