"""Prove the test harness against the real tools: Directord 0.12.0 and ansible-playbook."""

from __future__ import annotations

import os
import stat
import textwrap
from pathlib import Path

import pytest
import yaml

from migrator.verify.ansible_run import diff_snapshots, run_playbook, snapshot_tree
from migrator.verify.cluster import ETC_COMPONENTS, DirectordCluster, directord_processes, leaked_processes
from support.job_check import check_orchestrations, validate_orchestrations

# A custom component like the ones the converter writes into OUT/components/:
# takes arbitrary text through `vars` (whitespace survives) and never lets an
# exception escape client().
TMWRITE_COMPONENT = textwrap.dedent(
    '''
    from directord import components
    from directord.components.lib import cacheargs, timeout


    class Component(components.ComponentBase):
        def __init__(self):
            super().__init__(desc="write text given in vars to a path")

        def args(self):
            super().args()
            self.parser.add_argument("path")

        def server(self, exec_array, data, arg_vars):
            super().server(exec_array=exec_array, data=data, arg_vars=arg_vars)
            data["path"] = self.known_args.path
            data["text"] = (arg_vars or {}).get("text", "")
            return data

        @timeout
        @cacheargs
        def client(self, cache, job):
            try:
                ok, path = self.blueprinter(job["path"], cache.get("args"), allow_empty_values=True)
                if not ok:
                    return None, path, False, None
                with open(path, "w") as f:
                    f.write(job["text"])
                return "wrote " + path, None, True, None
            except Exception as e:  # noqa: BLE001
                return None, str(e), False, None
    '''
)


def _mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _write_yaml(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def components_dir(tmp_path):
    d = tmp_path / "OUT" / "components"
    d.mkdir(parents=True)
    (d / "tmwrite.py").write_text(TMWRITE_COMPONENT)
    return d


# --------------------------------------------------------------------------- (a) one node


@pytest.mark.directord
def test_basic_orchestration_on_one_node(clean_directord_node, tmp_path):
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    out = tmp_path / "out"
    (out / "files").mkdir(parents=True)
    (out / "files" / "motd.j2").write_text("welcome to {{ site }}\nkeep {{ '{{' }}raw{{ '}}' }}\n")
    (out / "files" / "plain.txt").write_text("plain {{ not_rendered }}\n")
    orch = _write_yaml(out / "site.yaml", [
        {
            "name": "harness basics",
            "jobs": [
                {"RUN": f"echo hello > {sandbox}/run.txt"},
                {"ARG": "site lab-1"},
                {"RUN": f"echo {{{{ site }}}} > {sandbox}/rendered.txt"},
                {"WORKDIR": f"--chmod 0750 {sandbox}/conf/sub"},
                # relative sources: resolved in the orchestrate cwd (the file's directory)
                {"ADD": f"--chmod 0640 files/plain.txt {sandbox}/conf/sub/plain.txt"},
                {"ADD": f"--blueprint --chmod 0600 files/motd.j2 {sandbox}/conf/motd"},
            ],
        }
    ])
    assert validate_orchestrations(orch, cwd=out) == []

    result = clean_directord_node.orchestrate(orch)
    result.assert_ok()
    assert [j.verb for j in result.jobs] == ["RUN", "ARG", "RUN", "WORKDIR", "ADD", "ADD"]

    assert (sandbox / "run.txt").read_text() == "hello\n"
    assert (sandbox / "rendered.txt").read_text() == "lab-1\n"
    assert (sandbox / "conf" / "sub").is_dir()
    assert _mode(sandbox / "conf" / "sub") == 0o750
    assert (sandbox / "conf" / "sub" / "plain.txt").read_text() == "plain {{ not_rendered }}\n"
    assert _mode(sandbox / "conf" / "sub" / "plain.txt") == 0o640
    assert (sandbox / "conf" / "motd").read_text() == "welcome to lab-1\nkeep {{raw}}\n"
    assert _mode(sandbox / "conf" / "motd") == 0o600


@pytest.mark.directord
def test_failed_job_reports_why(clean_directord_node, tmp_path):
    result = clean_directord_node.orchestrate([
        {"jobs": [
            {"RUN": "echo visible-on-stderr >&2; exit 3"},
            {"RUN": "echo {{ never_defined }}"},
            {"RUN": f"touch {tmp_path}/still-runs"},  # a failure does not stop queued jobs
        ]}
    ])
    assert not result.ok
    assert result.returncode == 1  # orchestrate --wait exits 1 if any job failed
    assert [j.ok for j in result.jobs] == [False, False, True]
    summary = result.summary()
    assert "visible-on-stderr" in summary
    assert "'never_defined' is undefined" in summary
    assert (tmp_path / "still-runs").exists()
    with pytest.raises(AssertionError, match="visible-on-stderr"):
        result.assert_ok()


@pytest.mark.directord
def test_evict_caches_forgets_args(clean_directord_node, tmp_path):
    node = clean_directord_node
    node.orchestrate([{"jobs": [{"ARG": "remembered yes"}]}]).assert_ok()
    node.orchestrate([{"jobs": [{"RUN": f"echo {{{{ remembered }}}} > {tmp_path}/a"}]}]).assert_ok()
    node.evict_caches()
    result = node.orchestrate([{"jobs": [{"RUN": f"echo {{{{ remembered }}}} > {tmp_path}/b"}]}])
    assert not result.ok and "'remembered' is undefined" in result.summary()


# --------------------------------------------------------------------------- (b) three nodes


@pytest.mark.directord
def test_targets_on_three_nodes_and_custom_component(tmp_path, components_dir):
    etc_before = set(os.listdir(ETC_COMPONENTS)) if ETC_COMPONENTS.is_dir() else None
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    identities = ("node-0", "node-1", "node-2")
    with DirectordCluster(tmp_path / "c3", identities=identities, components_dir=components_dir) as cluster:
        assert sorted(cluster.list_nodes()) == list(identities)
        listed = cluster.manage("--list-nodes")  # the real CLI agrees
        assert listed.returncode == 0 and all(i in listed.stdout for i in identities), listed

        # All clients share this machine's filesystem: a per-node ARG makes the paths distinct.
        setup = [{"targets": [i], "jobs": [{"ARG": f"me {i}"}]} for i in identities]
        cluster.orchestrate(setup).assert_ok()
        orch = [
            {"name": "only node-1", "targets": ["node-1"],
             "jobs": [{"RUN": f"echo {{{{ me }}}} > {sandbox}/landed-{{{{ me }}}}"}]},
            {"name": "everyone",
             "jobs": [
                 {"RUN": f"touch {sandbox}/all-{{{{ me }}}}"},
                 {"RUN": f"touch {sandbox}/assigned-{{{{ me }}}}", "assign": ["node-2"]},
                 {"TMWRITE": f"{sandbox}/custom-{{{{me}}}}", "vars": {"text": "a  b\n\tc {{ raw }}"},
                  "assign": ["node-0"]},
             ]},
        ]
        assert validate_orchestrations(orch, component_dirs=[components_dir]) == []
        result = cluster.orchestrate(orch)
        result.assert_ok()
        assert result.jobs[0].nodes == ["node-1"]
        assert sorted(result.jobs[1].success) == list(identities)
        # the component transfer orchestrate adds for a non-built-in verb is reported apart
        assert {j.verb for j in result.hidden_jobs} <= {"WORKDIR", "ADD"}

        assert sorted(p.name for p in sandbox.iterdir()) == [
            "all-node-0", "all-node-1", "all-node-2", "assigned-node-2", "custom-node-0", "landed-node-1",
        ]
        assert (sandbox / "landed-node-1").read_text() == "node-1\n"
        assert (sandbox / "custom-node-0").read_text() == "a  b\n\tc {{ raw }}"
        pids = cluster.pids()
        socket_path = cluster.socket_path

    # stopped by PID, nothing left, /etc/directord/components restored
    assert directord_processes(marker=socket_path) == []
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists()
    if etc_before is None:
        assert not ETC_COMPONENTS.exists() or "tmwrite.py" not in os.listdir(ETC_COMPONENTS)
    else:
        assert set(os.listdir(ETC_COMPONENTS)) - etc_before == set()


@pytest.mark.directord
def test_start_failure_is_explained_and_cleaned_up(tmp_path):
    # A client whose --identity never matches what we wait for cannot happen via the
    # API, so simulate a start-up failure with a tiny timeout instead.
    cluster = DirectordCluster(tmp_path / "c", identities=("node-0",), start_timeout=0.01)
    with pytest.raises(Exception) as info:
        cluster.start()
    assert "client-node-0" in str(info.value) or "server" in str(info.value)
    assert cluster.started_pids and not set(cluster.started_pids) & set(leaked_processes())
    assert directord_processes(marker=str(cluster.root)) == []


# --------------------------------------------------------------------------- (c) job_check


def test_job_check_rejects_bad_jobs(tmp_path, components_dir):
    (components_dir / "broken.py").write_text("import does_not_exist_anywhere\n")
    bad = _write_yaml(tmp_path / "bad.yaml", [
        {"jobs": [
            {"SERVICE": "--restarted --daemon-reload x"},
            {"FROBNICATE": "now"},
            {"run": "echo lowercase verb"},
            {"RUN": ["not", "a", "string"]},
            {"RUN": "--timeout 5"},
            {"ADD": "does/not/exist.txt /tmp/x"},
            {"BROKEN": "x"},
            {"RUN": "echo a", "ARG": "two verbs"},
            {"REBOOT": ""},  # contrib component: SECONDS is required
        ]},
        {"targets": "node-0", "jobs": [{"RUN": "true"}]},
        {"name": "no jobs"},
    ])
    errors = check_orchestrations(bad, component_dirs=[components_dir], cwd=tmp_path)
    by_job = {(e.orchestration, e.job): e for e in errors}
    assert "not allowed with argument" in by_job[(0, 0)].message
    assert by_job[(0, 0)].verb == "SERVICE"
    assert "unknown verb" in by_job[(0, 1)].message
    assert "UPPERCASE" in by_job[(0, 2)].message
    assert "must be a string" in by_job[(0, 3)].message
    assert "no command" in by_job[(0, 4)].message
    assert "was not found" in by_job[(0, 5)].message
    assert "cannot load component" in by_job[(0, 6)].message
    assert "exactly one VERB" in by_job[(0, 7)].message
    assert "required" in by_job[(0, 8)].message
    assert "list of node names" in by_job[(1, None)].message
    assert "'jobs' is required" in by_job[(2, None)].message
    assert len(errors) == 11

    strings = validate_orchestrations(bad, component_dirs=[components_dir], cwd=tmp_path)
    assert len(strings) == 11
    assert strings[0].startswith(f"{bad}: orchestration[0].jobs[0] SERVICE: ")

    # in-memory data, non-JSON vars
    errs = validate_orchestrations([{"jobs": [{"RUN": "true", "vars": {"x": {1, 2}}}]}])
    assert len(errs) == 1 and "JSON" in errs[0] and errs[0].startswith("<data>")
    # invalid YAML file
    (tmp_path / "broken.yaml").write_text("- jobs: [\n")
    assert "cannot load" in validate_orchestrations(tmp_path / "broken.yaml")[0]


def test_job_check_accepts_good_jobs(tmp_path, components_dir):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "a.conf").write_text("x")
    good = _write_yaml(tmp_path / "good.yaml", [
        {"name": "all the built-ins", "targets": ["node-0"], "async": False, "jobs": [
            {"ARG": "chrony_conf /etc/chrony.conf"},
            {"ENV": "LANG C"},
            {"RUN": "--stdout-arg kernel uname -r", "name": "kernel"},
            {"ADD": "--blueprint --chmod 0644 files/*.conf /etc/x/"},
            {"COPY": "--chown root:root files/a.conf /etc/a.conf"},
            {"WORKDIR": "--chmod 0750 /var/lib/x"},
            {"SERVICE": "--restarted --enable chronyd"},
            {"SERVICE": "--daemon-reload --enable chronyd"},
            {"DNF": "--latest chrony"},
            {"WAIT": "--seconds 1"},
            {"CACHEFILE": "/etc/x.yaml"},
            {"CACHEEVICT": "all"},
            {"QUERY": "kernel"},
            {"ECHO": "contrib components are found"},
            {"TMWRITE": "/tmp/x", "vars": {"text": "a  b"}, "assign": ["node-1"]},
        ]},
    ])
    assert validate_orchestrations(good, component_dirs=[components_dir], cwd=tmp_path) == []
    # a directory is expanded to its YAML files; a list of paths works too
    assert validate_orchestrations(tmp_path, component_dirs=[components_dir], cwd=tmp_path) == []
    assert validate_orchestrations([good], component_dirs=[components_dir], cwd=tmp_path) == []
    # without our components dir the custom verb is unknown
    assert ["unknown verb" in e for e in validate_orchestrations(good, cwd=tmp_path)] == [True]


# --------------------------------------------------------------------------- (d) ansible


def test_run_playbook_and_snapshot(tmp_path):
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir(mode=0o755)
    os.chmod(sandbox, 0o755)
    play = tmp_path / "play.yml"
    play.write_text(textwrap.dedent("""\
        - hosts: localhost
          gather_facts: false
          tasks:
            - name: write a file
              ansible.builtin.copy:
                dest: "{{ sandbox }}/etc/app.conf"
                content: "key = {{ value }}\\n"
                mode: "0640"
            - name: link to it
              ansible.builtin.file:
                src: app.conf
                dest: "{{ sandbox }}/etc/app.link"
                state: link
        """))
    (sandbox / "etc").mkdir()
    os.chmod(sandbox / "etc", 0o755)

    result = run_playbook(play, extra_vars={"sandbox": str(sandbox), "value": 42})
    result.assert_ok()
    assert [(t["task"], t["status"]) for t in result.task_results] == [
        ("write a file", "changed"), ("link to it", "changed"),
    ]
    snap = snapshot_tree(sandbox)
    content_sha = __import__("hashlib").sha256(b"key = 42\n").hexdigest()
    assert snap == {
        ".": ("dir", 0o755, ""),
        "etc": ("dir", 0o755, ""),
        "etc/app.conf": ("file", 0o640, content_sha),
        "etc/app.link": ("link", 0o777, "app.conf"),
    }

    # differential comparison: an independent "other side" that differs in two ways
    other = tmp_path / "other"
    (other / "etc").mkdir(parents=True)
    os.chmod(other, 0o755)
    os.chmod(other / "etc", 0o755)
    (other / "etc" / "app.conf").write_text("key = 42\n")
    os.chmod(other / "etc" / "app.conf", 0o644)
    (other / "etc" / "extra").write_text("")
    os.chmod(other / "etc" / "extra", 0o644)
    diffs = diff_snapshots(snap, snapshot_tree(other), names=("ansible", "directord"))
    assert diffs == [
        "etc/app.conf: mode 0640 vs 0644 (ansible vs directord)",
        "etc/app.link: only in ansible (link 0777 -> app.conf)",
        f"etc/extra: only in directord (file 0644 sha256 {__import__('hashlib').sha256(b'').hexdigest()[:12]})",
    ]
    assert diff_snapshots(snap, snap) == []

    failing = run_playbook(play, extra_vars={"sandbox": "/proc/nonexistent-dir"})
    assert not failing.ok and failing.failed_tasks
    assert "write a file" in failing.summary()


@pytest.mark.directord
def test_hanging_job_times_out_with_logs(directord_cluster_factory, tmp_path):
    # Directord 0.12.0 + zeromq: an exception escaping a component's client() leaves
    # the job "processing" forever; orchestrate --wait would block for 600 s.
    comps = tmp_path / "hang"
    comps.mkdir()
    (comps / "boom.py").write_text(textwrap.dedent('''
        from directord import components

        class Component(components.ComponentBase):
            def server(self, exec_array, data, arg_vars):
                super().server(exec_array=exec_array, data=data, arg_vars=arg_vars)
                return data

            def client(self, cache, job):
                raise RuntimeError("kaboom")
        '''))
    cluster = directord_cluster_factory(components_dir=comps)
    result = cluster.orchestrate([{"jobs": [{"BOOM": "x"}]}], timeout=3)
    assert result.timed_out and not result.ok
    assert result.jobs[0].state == "processing"
    assert "Component Failure: kaboom" in result.summary()
    # the cluster still works afterwards
    cluster.orchestrate([{"jobs": [{"RUN": "true"}]}]).assert_ok()
