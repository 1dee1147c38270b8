"""Failure: a killed conversion, --force next to precious files, an unwritable or full OUT.

- SIGKILL at moments spread over a real run (fixtures/playbooks: 50 playbooks, converted by
  two processes) over an OUT made from other input leaves OUT byte-identical to the previous
  tree or to the complete new one; what a killed run leaves beside OUT is only its staging
  directory `.<OUT>.new-<pid>-*`, and the next run removes it and succeeds.
- --force deletes nothing outside OUT: a symbolic link OUT, `/`, $HOME (or above it), an OUT
  that is or holds an input, and a foreign OUT holding links that lead outside are refused
  with one line and exit 2; whatever the links point to survives.
- A read-only OUT (tmpfs remounted ro) and a full one (a 1 MiB tmpfs) give one line, exit 2,
  no traceback, and the previous OUT stays as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "playbooks"


def convert(*args, cwd: Path, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "migrator", "convert", *map(str, args), "--quiet"],
                          capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          env={**os.environ, **(env or {})})


def tree_hash(root: Path) -> dict[str, str]:
    """Every entry below root: relative path -> kind and content hash (or link target)."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[rel] = "link:" + os.readlink(path)
        elif path.is_dir():
            found[rel] = "dir"
        elif rel == ".tripleo-migrate":
            # its fingerprint covers the converter's own files, which may be edited meanwhile
            marker = json.loads(path.read_text())
            marker.pop("fingerprint", None)
            found[rel] = json.dumps(marker, sort_keys=True)
        else:
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def one_line_error(result: subprocess.CompletedProcess, *words: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def small_playbook(directory: Path, text: str = "old") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    playbook = directory / "small.yml"
    # native jobs only: no TASK component, a few KiB of output
    playbook.write_text(f"- hosts: all\n  gather_facts: false\n  tasks:\n"
                        f"    - file: {{path: /tmp/{text}, state: directory}}\n")
    return playbook


# --------------------------------------------------------------------------- SIGKILL


def test_a_killed_run_leaves_the_previous_or_the_new_tree(tmp_path):
    work = tmp_path / "work"
    old_input = small_playbook(tmp_path / "old")
    out, ref = work / "out", tmp_path / "ref" / "out"

    started = time.monotonic()
    done = convert(FIXTURES, "-o", ref, cwd=tmp_path)
    duration = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    new_tree = tree_hash(ref)

    def make_previous():
        shutil.rmtree(out, ignore_errors=True)
        made = convert(old_input, "-o", out, cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        return tree_hash(out)

    old_tree = make_previous()
    assert old_tree != new_tree
    rng = random.Random(int(os.environ.get("FAILURE_SEED", "0")) or None)
    # 15 moments over the whole run and past its usual end (the swap; runs vary in length)
    delays = sorted(rng.uniform(0.05, duration * 1.6) for _ in range(15))
    seen = {"old": 0, "new": 0, "leftovers": 0}
    for delay in delays:
        proc = subprocess.Popen([sys.executable, "-m", "migrator", "convert", str(FIXTURES), "-o", str(out),
                                 "--quiet"], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        time.sleep(0.05)  # the worker dies with its parent (PR_SET_PDEATHSIG)
        now = tree_hash(out)
        assert now in (old_tree, new_tree), f"killed after {delay:.2f}s: OUT is neither tree"
        # nothing beside OUT but OUT and staging directories named after it
        strays = [p.name for p in work.iterdir() if p.name != "out" and not p.name.startswith(".out.new-")]
        assert strays == [], strays
        seen["leftovers"] += sum(1 for p in work.iterdir() if p.name.startswith(".out.new-"))
        if now == new_tree:
            seen["new"] += 1
            make_previous()
        else:
            seen["old"] += 1
    print(f"kills: {seen}, delays {[round(d, 2) for d in delays]}, full run {duration:.2f}s")
    assert seen["old"], seen  # most kills land before the swap

    # the next run succeeds, gives the new tree and removes every leftover
    final = convert(FIXTURES, "-o", out, cwd=tmp_path)
    assert final.returncode == 0, final.stderr
    assert tree_hash(out) == new_tree
    assert [p.name for p in work.iterdir()] == ["out"]


def test_the_next_run_removes_only_leftovers_of_dead_runs(tmp_path):
    playbook = small_playbook(tmp_path / "in")
    out = tmp_path / "work" / "out"
    probe = subprocess.Popen(["true"])  # a pid that has exited
    probe.wait()
    (tmp_path / "work").mkdir()
    stale = tmp_path / "work" / f".out.new-{probe.pid}-abc"
    live = tmp_path / "work" / f".out.new-{os.getpid()}-def"  # a run still going (this process)
    other = tmp_path / "work" / ".other.new-1-x"
    for directory in (stale, live, other):
        (directory / "roles").mkdir(parents=True)
    result = convert(playbook, "-o", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not stale.exists() and live.exists() and other.exists()


# --------------------------------------------------------------------------- --force


@pytest.fixture
def precious(tmp_path):
    """Files outside OUT that nothing may delete."""
    keep = tmp_path / "precious"
    (keep / "dir").mkdir(parents=True)
    (keep / "dir" / "a").write_text("a")
    (keep / "file").write_text("f")
    return keep


def test_force_refuses_an_out_holding_links_to_outside(tmp_path, precious):
    playbook = small_playbook(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine").write_text("x")
    (out / "to-dir").symlink_to(precious / "dir")
    (out / "sub").mkdir()
    (out / "sub" / "to-file").symlink_to(precious / "file")
    before = tree_hash(precious)
    one_line_error(convert(playbook, "-o", out, "--force", cwd=tmp_path), "symbolic link", "outside")
    assert tree_hash(precious) == before and (out / "mine").exists()


def test_force_replaces_a_foreign_out_with_inner_links_only(tmp_path, precious):
    """Links that stay inside OUT are OUT's own: replaced, and the rest survives."""
    playbook = small_playbook(tmp_path / "in")
    out = tmp_path / "out"
    (out / "d").mkdir(parents=True)
    (out / "d" / "f").write_text("x")
    (out / "inner").symlink_to(out / "d")
    (precious / "link-into-out").symlink_to(out / "d" / "f")
    before = tree_hash(precious)
    result = convert(playbook, "-o", out, "--force", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (out / "inner").exists() and (out / "report.json").is_file()
    assert tree_hash(precious) == before


def test_force_refuses_a_symlink_out(tmp_path, precious):
    playbook = small_playbook(tmp_path / "in")
    out = tmp_path / "out"
    out.symlink_to(precious / "dir")
    before = tree_hash(precious)
    one_line_error(convert(playbook, "-o", out, "--force", cwd=tmp_path), "symbolic link")
    assert out.is_symlink() and tree_hash(precious) == before


@pytest.mark.parametrize("where", ["input", "input-parent", "root", "home", "home-parent"])
def test_force_refuses_an_out_that_is_or_holds_what_it_must_not_delete(tmp_path, where):
    home = tmp_path / "home" / "user"
    home.mkdir(parents=True)
    (home / ".bashrc").write_text("keep")
    inputs = tmp_path / "work" / "project"
    playbook = small_playbook(inputs)
    out = {"input": inputs, "input-parent": inputs.parent, "root": Path("/"), "home": home,
           "home-parent": home.parent}[where]
    before = tree_hash(tmp_path)
    message = one_line_error(convert(playbook, "-o", out, "--force", cwd=tmp_path, env={"HOME": str(home)}))
    assert {"input": "input", "input-parent": "input", "root": "root directory", "home": "home directory",
            "home-parent": "home directory"}[where] in message
    assert tree_hash(tmp_path) == before


def test_out_inside_the_input_tree_is_fine(tmp_path):
    """The pre-commit hook's case: convert . -o ./out."""
    small_playbook(tmp_path / "repo")
    result = convert(".", "-o", "out", cwd=tmp_path / "repo")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "repo" / "out" / "report.json").is_file() and (tmp_path / "repo" / "small.yml").is_file()


# --------------------------------------------------------------------------- unwritable, full


def _mount_tmpfs(path: Path, options: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): {done.stderr.strip()}")


@pytest.fixture
def tmpfs(tmp_path):
    """mount(options) -> a fresh tmpfs mount point; unmounted at teardown."""
    mounts = []

    def mount(options: str) -> Path:
        path = tmp_path / f"mnt{len(mounts)}"
        _mount_tmpfs(path, options)
        mounts.append(path)
        return path

    yield mount
    for path in reversed(mounts):
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_a_read_only_out_is_one_line_and_keeps_the_previous_tree(tmp_path, tmpfs):
    mount = tmpfs("size=4m")
    out = mount / "out"
    made = convert(small_playbook(tmp_path / "old"), "-o", out, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    previous = tree_hash(out)
    remounted = subprocess.run(["mount", "-o", "remount,ro", str(mount)], capture_output=True, text=True)
    assert remounted.returncode == 0, remounted.stderr
    one_line_error(convert(FIXTURES, "-o", out, cwd=tmp_path), str(out), "Read-only file system")
    assert tree_hash(out) == previous


def test_a_full_out_is_one_line_and_keeps_the_previous_tree(tmp_path, tmpfs):
    # room for a small previous OUT (its TASK component is ~0.5 MiB), not for the new one
    mount = tmpfs("size=1m")
    out = mount / "out"
    made = convert(small_playbook(tmp_path / "old"), "-o", out, "--report", "json", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    previous = tree_hash(out)
    one_line_error(convert(FIXTURES, "-o", out, cwd=tmp_path), str(out), "No space left on device")
    assert tree_hash(out) == previous
    assert [p.name for p in mount.iterdir()] == ["out"]  # the staging directory is gone


def test_an_out_below_a_regular_file_is_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    one_line_error(convert(small_playbook(tmp_path / "in"), "-o", tmp_path / "file" / "out", cwd=tmp_path),
                   "cannot write here")
