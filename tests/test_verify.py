"""`tripleo-migrate verify`: both sides run for real, differences are printed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.directord


def verify(playbook: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "migrator", "verify", str(playbook), *args],
                          capture_output=True, text=True, timeout=600, cwd=playbook.parent)


def test_an_equivalent_playbook_exits_0(tmp_path):
    playbook = tmp_path / "same.yml"
    playbook.write_text(textwrap.dedent("""\
        - hosts: all
          gather_facts: false
          tasks:
            - copy: {content: "a  b\\n", dest: "{{ sandbox }}/f", mode: "0640"}
            - file: {path: "{{ sandbox }}/d", state: directory}
        """))
    result = verify(playbook)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "same.yml: equivalent" in result.stdout


def test_a_difference_is_named_and_exits_1(tmp_path):
    # inventory_hostname is "localhost" under ansible-playbook -i localhost, and the
    # node's identity under Directord: a real difference verify must show.
    playbook = tmp_path / "host.yml"
    playbook.write_text(textwrap.dedent("""\
        - hosts: all
          gather_facts: false
          tasks:
            - copy: {content: "{{ inventory_hostname }}", dest: "{{ sandbox }}/host"}
        """))
    keep = tmp_path / "kept"
    result = verify(playbook, "--keep", str(keep))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "host.yml: DIFFERENT" in result.stdout
    assert any(line.strip().startswith("differs: host: content") for line in result.stdout.splitlines())
    assert (keep / "run" / "ansible" / "host").read_text() == "localhost"


def test_verify_refuses_a_non_empty_keep_dir(tmp_path):
    playbook = tmp_path / "p.yml"
    playbook.write_text("- hosts: all\n  tasks: []\n")
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "x").write_text("")
    result = verify(playbook, "--keep", str(tmp_path / "kept"))
    assert result.returncode == 2 and "not empty" in result.stderr
