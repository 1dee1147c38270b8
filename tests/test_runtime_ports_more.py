"""More ports against the real modules, in tests/test_runtime_ports.py's style.

Each case runs twice on identical inputs: once by the real module through
ansible-playbook (-c local; all cases of a session at once, in parallel
chunks) and once by the port, each on its own copy of the case's tree; the
results and the trees must agree.

- ansible.builtin ping, yum_repository (through `reposdir`), service_facts
  (this machine's `service`, and fake `service`/`chkconfig`/`initctl` in the
  case's tree) and git (on local repositories made once per session; a
  checkout is compared by HEAD, branches, remotes and status, not by the bytes
  of its .git) run with ansible-core.
- ansible.posix.acl and community.general.archive run with the real
  collections (the `ansible` package that tests/support/corpus.py caches); acl
  with the real getfacl/setfacl (Debian's `acl` package; skipped without it).
  The tree snapshot does not hold ACLs, so every acl case ends with a
  `state: query` step whose `acl` field is compared; archives are compared by
  what they hold (compression adds time stamps).
- tripleo-ansible's own modules (ceph_mkspec, container_config_data,
  tripleo_findif_for_ip, tripleo_diff_exec, tripleo_nftables_snippet) run
  from the cached tripleo-ansible 6.0.0 tree (ANSIBLE_LIBRARY,
  ANSIBLE_MODULE_UTILS), with fake `ceph`, `podman` and `ip` programs that
  record their calls into the case's tree where a case says so.
- iptables runs both sides one after the other against the real `iptables`,
  on chains of the test's own (see test_iptables_matches_real_module).
"""

import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile

import pytest
import yaml
from test_runtime_modules import ANSIBLE_PLAYBOOK, D, DIR, RECORD_CALLBACK, Context, make_tree
from test_runtime_ports import FAKE, OLD, compared, normalise, substitute, tree_snapshot

from migrator.runtime.api import MODULES, ModuleFailed
from migrator.runtime.modules import (  # noqa: F401  (importing registers the ports)
    acl, archive, ceph_mkspec, ceph_spec_bootstrap, container_config_data, git, iptables, ping, service_facts, tripleo_diff_exec,
    tripleo_findif_for_ip, tripleo_nftables_from_files, tripleo_nftables_snippet, tripleo_os_net_config_mappings,
    yum_repository)

# Its real side runs every case once per session (a session fixture): on one xdist worker only
pytestmark = pytest.mark.xdist_group("runtime_ports_more")

NO_URL = "http://unused"
FAKE_BODIES = {
    "ceph": 'print("Scheduled update"); rc = state.get("ceph_rc", 0)',
    "podman": 'print("Scheduled update (podman)")',
    "ip": '''
print("lo               UNKNOWN        127.0.0.1/8 ::1/128 ")
print("")
print("eth0             UP             192.168.24.5/24 192.168.24.50/32 fd00:fd00::5/64 fe80::1/64 ")
print("br-ex            DOWN           ")
''',
}


def case(id, module, args, tree=None, check=False, fake=None, env=None, ignore=(), setup=None):
    """args: a dict, or a list of dicts run one after the other on the same tree.

    fake: the fakes' initial state (the fakes come first on PATH and record their
    calls in the tree's fake.json); env: the task's environment; ignore: result
    keys not compared.
    """
    tree = dict(tree or {})
    if fake is not None:
        tree["fake.json"] = json.dumps(fake)
    return pytest.param(dict(module=module, steps=args if isinstance(args, list) else [args],
                             tree=tree, check=check, fake=fake is not None, env=dict(env or {}),
                             ignore=frozenset(ignore), setup=setup), id=id)


def environment(spec, case_dir, fakes_dir):
    env = {key: value.replace(D, str(case_dir)) for key, value in spec["env"].items()}
    if spec["fake"]:
        env.update(PATH="%s:%s" % (fakes_dir, os.environ["PATH"]), FAKE_STATE=str(case_dir / "fake.json"))
    return env


ARCHIVE_SUFFIXES = (".tar", ".gz", ".tgz", ".bz2", ".xz", ".zip")


def listing(data):
    """What an archive holds, without the time stamps compression adds when it is written."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            return [["tar", m.name, m.type.decode(), oct(m.mode), m.size, m.mtime, m.uid, m.uname,
                     hashlib.sha256(archive.extractfile(m).read()).hexdigest() if m.isfile() else None]
                    for m in archive.getmembers()]
    except tarfile.TarError:
        pass
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [["zip", i.filename, i.CRC, i.external_attr, i.date_time] for i in archive.infolist()]
    except zipfile.BadZipFile:
        pass
    for opener in (gzip.decompress, bz2.decompress, lzma.decompress):
        try:
            return ["compressed", opener.__module__, base64_text(opener(data))]
        except Exception:
            continue
    return None


def base64_text(data):
    return data.decode("latin-1")


def sort_labels(value):
    """ceph_spec_bootstrap's host labels come out of a set: their order is arbitrary."""
    if isinstance(value, dict):
        return {k: sorted(v) if k == "labels" and isinstance(v, list) else sort_labels(v) for k, v in value.items()}
    if isinstance(value, list):
        return [sort_labels(item) for item in value]
    return value


def snapshot(root):
    """tree_snapshot, with archives shown by what they hold, git checkouts by their state and
    cephadm spec files by their documents (labels sorted)."""
    found = tree_snapshot(root)
    for rel, entry in found.items():
        if entry.get("type") == "file" and rel.endswith("ceph_spec.yaml"):
            entry["content"] = sort_labels(list(yaml.safe_load_all((root / rel).read_text())))
    for rel in [r for r in found if r.endswith("/.git") or r == ".git"]:
        found = {k: v for k, v in found.items() if not k.startswith(rel + "/")}
        found[rel] = git_state(root / rel[:-len(".git")])
    for rel, entry in found.items():
        if entry.get("type") == "file" and rel.endswith(ARCHIVE_SUFFIXES):
            held = listing((root / rel).read_bytes())
            if held is not None:
                entry["content"] = held
    return found


GIT_ORIGINS = {}  # placeholder -> repository made once per session (git_origins)


def prepare(spec, case_dir):
    """The case's tree, old time stamps, then its setup command (both sides alike)."""
    make_tree(case_dir, spec["tree"])
    if spec["setup"]:
        command = spec["setup"].replace(D, str(case_dir))
        for name, path in GIT_ORIGINS.items():
            command = command.replace(name, str(path))
        subprocess.run(command, shell=True, cwd=case_dir, check=True, capture_output=True, env=GIT_ENV)
    age(case_dir)


GIT_ENV = dict(os.environ, GIT_AUTHOR_NAME="tm", GIT_AUTHOR_EMAIL="tm@example.org", GIT_COMMITTER_NAME="tm",
               GIT_COMMITTER_EMAIL="tm@example.org", GIT_AUTHOR_DATE="2020-01-01T12:00:00Z",
               GIT_COMMITTER_DATE="2020-01-01T12:00:00Z", GIT_CONFIG_NOSYSTEM="1", HOME="/nonexistent")


def git_state(repo):
    """A checkout as git sees it (its .git holds time stamps and stat data that differ)."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True).stdout.strip()
    return {"head": git("rev-parse", "HEAD"), "branch": git("symbolic-ref", "-q", "HEAD"),
            "branches": git("branch", "-a", "--no-color"), "remotes": git("remote", "-v"),
            "status": git("status", "--porcelain"), "tags": git("tag"),
            "shallow": os.path.exists(os.path.join(repo, ".git", "shallow"))}


def age(root):
    """Old time stamps on the case's tree: archived members carry them."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.utime(os.path.join(dirpath, name), (OLD, OLD), follow_symlinks=False)
    os.utime(root, (OLD, OLD))


def with_origins(value):
    text = json.dumps(value)
    for name, path in GIT_ORIGINS.items():
        text = text.replace(name, str(path))
    return json.loads(text)


def without_origins(value):
    text = json.dumps(value)
    for name, path in GIT_ORIGINS.items():
        text = text.replace(str(path), name)
    return json.loads(text)


def run_playbook(cases, root, fakes_dir, extra_env):
    tasks = []
    for param in cases:
        spec = param.values[0]
        case_dir = root / param.id
        prepare(spec, case_dir)
        for index, args in enumerate(spec["steps"]):
            task = {"name": "%s#%d" % (param.id, index), "ignore_errors": True, "check_mode": spec["check"],
                    spec["module"]: with_origins(substitute(args, case_dir, NO_URL, fakes_dir))}
            env = environment(spec, case_dir, fakes_dir)
            if env:
                task["environment"] = env
            tasks.append(task)
    playbook = root / "playbook.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    (root / "callbacks").mkdir()
    (root / "callbacks" / "record.py").write_text(RECORD_CALLBACK)
    record = root / "record.json"
    env = dict(os.environ)
    env.update(extra_env, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_STDOUT_CALLBACK="record",
               ANSIBLE_CALLBACK_PLUGINS=str(root / "callbacks"), RECORD_FILE=str(record),
               ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_PIPELINING="1")
    proc = subprocess.Popen(
        [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local", str(playbook),
         "-e", "ansible_python_interpreter=" + sys.executable],
        env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, record


PING = "ansible.builtin.ping"
PING_CASES = [
    case("ping-default", PING, {}),
    case("ping-data", PING, {"data": "hello"}),
    case("ping-crash", PING, {"data": "crash"}),
    case("ping-check", PING, {"data": "x"}, check=True),
]

YUM = "ansible.builtin.yum_repository"
EPEL = {"name": "epel", "description": "EPEL YUM repo", "reposdir": D + "/repos",
        "baseurl": "https://example.org/epel/$releasever/$basearch/"}
REPOS = {"repos": DIR}
EXISTING = {"repos/ext.repo": "[other]\nname = Other\nbaseurl = http://o/\nenabled = 0\n\n"
                              "[epel]\nname = Old\nbaseurl = http://old/\n\n"}
YUM_CASES = [
    case("yum_repository-new", YUM, [EPEL] * 2, REPOS),
    case("yum_repository-options", YUM, [dict(
        EPEL, baseurl=["http://a/", "http://b/"], gpgcheck=False, enabled="yes",
        gpgkey=["file:///k1", "file:///k2"], exclude=["kernel*", "foo"], priority="10",
        includepkgs="a,b", sslverify=False, module_hotfixes=True, mode="0600")] * 2, REPOS),
    case("yum_repository-absent-removes-file", YUM, [
        {"name": "epel", "state": "absent", "reposdir": D + "/repos"},
        {"name": "other", "state": "absent", "reposdir": D + "/repos", "file": "ext"},
        {"name": "epel", "state": "absent", "reposdir": D + "/repos", "file": "ext"}],
        dict(REPOS, **EXISTING)),
    case("yum_repository-no-reposdir", YUM, dict(EPEL, reposdir=D + "/nope"), REPOS),
    case("yum_repository-check", YUM, dict(EPEL, file="ext"), dict(REPOS, **EXISTING), check=True),

]

ACL = "ansible.posix.acl"
QUERY = {"path": D + "/f", "state": "query"}
ACL_TREE = {"f": "x\n", "d": DIR, "d/inner": "y\n"}
ACL_CASES = [
    case("acl-query", ACL, QUERY, ACL_TREE),
    case("acl-user", ACL, [{"path": D + "/f", "entity": "daemon", "etype": "user",
                            "permissions": "rw", "state": "present"}] * 2 + [QUERY], ACL_TREE),
    case("acl-entry", ACL, [{"path": D + "/f", "entry": "group:bin:r", "state": "present"}] * 2 +
         [{"path": D + "/f", "entry": "g:bin", "state": "absent"}] * 2 + [QUERY], ACL_TREE),
    case("acl-default-recursive", ACL, [
        {"path": D + "/d", "entry": "default:user:daemon:rx", "state": "present"},
        {"path": D + "/d", "etype": "user", "entity": "bin", "permissions": "r",
         "recursive": True, "state": "present"},
        {"path": D + "/d", "etype": "user", "entity": "bin", "recursive": True, "state": "absent",
         "recalculate_mask": "no_mask"},
        {"path": D + "/d", "state": "query", "default": True},
        {"path": D + "/d/inner", "state": "query"}], ACL_TREE),
    case("acl-check", ACL, [{"path": D + "/f", "etype": "user", "entity": "daemon",
                             "permissions": "rwx", "state": "present"}, QUERY], ACL_TREE,
         check=True),
    case("acl-no-such-user", ACL, {"path": D + "/f", "entity": "tm-nobody", "etype": "user",
                                   "permissions": "r", "state": "present"}, ACL_TREE),
]
if not (shutil.which("setfacl") and shutil.which("getfacl")):
    ACL_CASES = [pytest.param(*p.values, id=p.id, marks=pytest.mark.skip(
        reason="needs getfacl/setfacl (apt-get install -y acl)")) for p in ACL_CASES]

MKSPEC = "ceph_mkspec"
SPECS = {"specs": DIR}
CEPH_ENV = {"CEPH_CONTAINER_IMAGE": "quay.io/ceph/ceph:v17", "CEPH_CONTAINER_BINARY": "podman"}
TIMES = ("start", "end", "delta")
CEPH_MKSPEC_CASES = [
    case("ceph_mkspec-pattern-labels", MKSPEC, {"service_type": "node-exporter", "service_id": "ignored",
                                                "host_pattern": "*", "labels": ["mon"],
                                                "networks": "10.0.0.0/8,fd00::/64"}),
    case("ceph_mkspec-rgw-spec", MKSPEC, {"service_type": "rgw", "hosts": ["h1"], "spec": {
        "rgw_frontend_port": "8080", "rgw_realm": "default", "rgw_zone": "", "ssl": True,
        "rgw_frontend_ssl_certificate": "-----BEGIN-----\nabc\n-----END-----\n"}}),
    case("ceph_mkspec-bad-spec-key", MKSPEC, {"service_type": "nfs", "spec": {"nope": 1}}),
    case("ceph_mkspec-apply-container", MKSPEC, {
        "service_type": "ingress", "service_name": "ingress.nfs", "cluster": "ceph2", "apply": True,
        "hosts": ["h1"], "render_path": D + "/specs", "spec": {
            "backend_service": "nfs.nfs", "frontend_port": 2049, "monitor_port": "9049",
            "virtual_ip": "10.0.0.5", "virtual_interface_networks": ["10.0.0.0/24"]}},
         SPECS, fake={}, env=CEPH_ENV, ignore=TIMES),
    case("ceph_mkspec-apply-fails", MKSPEC, {"service_type": "mds", "apply": True,
                                             "render_path": D + "/specs"},
         # rc 22 with exit_json: ansible-core's executor then adds failed and msg "Action failed:
         # Unknown error."; the TASK core adds failed from rc (tests/test_runtime_core.py)
         SPECS, fake={"ceph_rc": 22}, ignore=TIMES + ("failed", "msg")),
    case("ceph_mkspec-apply-missing-dir", MKSPEC, {"service_type": "mds", "apply": True,
                                                   "render_path": D + "/nope"}, fake={}),
    case("ceph_mkspec-check", MKSPEC, {"service_type": "mds", "apply": True, "render_path": D + "/specs"},
         SPECS, fake={}, check=True),
]

FINDIF = "tripleo_findif_for_ip"
FINDIF_CASES = [
    case("findif-v4", FINDIF, {"ip_address": "192.168.24.50"}, fake={}),
    case("findif-invalid", FINDIF, {"ip_address": "127.1"}, fake={}),
    case("findif-zone", FINDIF, {"ip_address": "fe80::1%eth0"}, fake={}),
    case("findif-real-ip", FINDIF, {"ip_address": "127.0.0.1"}),  # this machine's own `ip`
]

DIFF_EXEC = "tripleo_diff_exec"
STATE = {"state": "a: 1\n"}
DIFF_EXEC_CASES = [
    case("diff_exec-first", DIFF_EXEC, [{"command": "echo run >> %s/log" % D, "state_file": D + "/state"}] * 2,
         STATE),
    case("diff_exec-changed", DIFF_EXEC, {"command": "echo $TM_X >> %s/log" % D, "state_file": D + "/state",
                                          "state_file_suffix": ".old", "environment": {"TM_X": "from-env"}},
         dict(STATE, **{"state.old": "a: 0\n"})),
    case("diff_exec-same", DIFF_EXEC, {"command": "echo run >> %s/log" % D, "state_file": D + "/state"},
         dict(STATE, **{"state-tripleo_diff_exec": "a: 1\n"})),
    case("diff_exec-rc-fails", DIFF_EXEC, {"command": "echo out; echo err >&2; exit 2",
                                           "state_file": D + "/state"}, STATE),
    case("diff_exec-no-state", DIFF_EXEC, {"command": "true", "state_file": D + "/nope"}),
    case("diff_exec-check", DIFF_EXEC, {"command": "echo run >> %s/log" % D, "state_file": D + "/state"},
         STATE, check=True),
]

SNIPPET = "tripleo_nftables_snippet"
RULES = "- rule:\n    proto: tcp\n    dport: [22, 80]\n    state: []\n"
SNIPPET_CASES = [
    case("nftables_snippet-present", SNIPPET, [{"dest": D + "/fw/ci.yaml", "content": RULES}] * 2,
         {"fw": DIR}),
    case("nftables_snippet-absent", SNIPPET, [{"dest": D + "/fw/ci.yaml", "state": "absent"}] * 2,
         {"fw/ci.yaml": "x: 1\n"}),
    case("nftables_snippet-no-dir", SNIPPET, {"dest": D + "/nope/ci.yaml", "content": RULES}),
    case("nftables_snippet-bad-yaml", SNIPPET, {"dest": D + "/fw/ci.yaml", "content": "a: [1"}, {"fw": DIR}),
    case("nftables_snippet-check", SNIPPET, {"dest": D + "/fw/ci.yaml", "content": RULES}, {"fw": DIR},
         check=True),
]

CONFIG_DATA = "container_config_data"
STARTUP = {"step_1/haproxy.json": json.dumps({"image": "r/haproxy:1", "net": "host"}),
           "step_1/keystone.json": json.dumps({"image": "r/keystone:1", "privileged": False}),
           "step_1/notes.txt": "not json", "step_2": DIR}
CONFIG_DATA_CASES = [
    case("container_config_data-all", CONFIG_DATA, {"config_path": D + "/step_1"}, STARTUP),
    case("container_config_data-overrides", CONFIG_DATA, {
        "config_path": D + "/step_1", "config_overrides": {
            "nova": {"image": "x"}, "keystone": {"image": "r/keystone:2", "user": "root"},
            "haproxy": {"image": "never"}}}, STARTUP),
    case("container_config_data-bad-json", CONFIG_DATA, {"config_path": D + "/step_1",
                                                         "config_pattern": "*.txt"}, STARTUP),

]

ARCHIVE = "community.general.archive"
SOURCES = {"src/a.txt": "alpha\n", "src/sub/b.sh": {"content": "echo b\n", "mode": 0o755},
           "src/sub/skip.log": "log\n", "one.txt": "one\n", "two.txt": "two\n", "out": DIR}
ARCHIVE_CASES = [
    case("archive-tgz-dir", ARCHIVE, [{"path": D + "/src", "dest": D + "/out/src.tgz"}] * 2, SOURCES),
    case("archive-zip-exclude", ARCHIVE, {"path": D + "/src", "dest": D + "/out/src.zip", "format": "zip",
                                          "exclusion_patterns": ["*.log"]}, SOURCES),
    case("archive-single-gz-remove", ARCHIVE, [{"path": D + "/one.txt", "remove": True}] * 2, SOURCES),
    case("archive-glob-bz2", ARCHIVE, {"path": D + "/*.txt", "exclude_path": [D + "/two.txt"], "format": "bz2",
                                       "dest": D + "/out/t.tar.bz2"}, SOURCES),
    case("archive-xz-files", ARCHIVE, {"path": [D + "/one.txt", D + "/two.txt"], "format": "xz",
                                       "dest": D + "/out/t.tar.xz", "mode": "0600", "owner": "daemon"}, SOURCES),
    case("archive-incomplete", ARCHIVE, {"path": [D + "/one.txt", D + "/nope.txt"], "dest": D + "/out/i.tgz"},
         SOURCES),
    case("archive-remove-tree", ARCHIVE, {"path": D + "/src", "dest": D + "/out/s.zip", "format": "zip",
                                          "remove": True}, SOURCES),
    case("archive-no-paths", ARCHIVE, {"path": D + "/*.none"}, SOURCES),
    case("archive-dest-inside-removed", ARCHIVE, {"path": D + "/src", "dest": D + "/src/s.tgz", "remove": True},
         SOURCES),

]

SERVICE_FACTS = "ansible.builtin.service_facts"


def fake_tool(body):
    return {"content": FAKE.format(python=sys.executable, body=textwrap.dedent(body)), "mode": 0o755}


FAKE_SERVICE = fake_tool('''
args = sys.argv[1:]
sysv = state.get("sysv", {})
if args == ["--status-all"]:
    for name, up in sorted(sysv.items()):
        print(" [ %s ]  %s" % ("+" if up else "-", name))
elif len(args) == 2 and args[1] == "status":
    rc = 0 if sysv.get(args[0]) else 3
    if args[0] == "secret":
        sys.stderr.write("permission denied\\n"); rc = 4
''')
FAKE_CHKCONFIG = fake_tool('''
print("\\n".join(state.get("chkconfig", [])))
''')
FAKE_INITCTL = fake_tool('''
print(state.get("initctl", ""))
''')
TOOLS_ENV = {"PATH": D + "/bin:" + os.environ.get("PATH", "/usr/bin:/bin"), "FAKE_STATE": D + "/fake.json"}
SYSV = {"sysv": {"cron": True, "ssh": False, "secret": False}}
SERVICE_FACTS_CASES = [
    case("service_facts-here", SERVICE_FACTS, {}),
    case("service_facts-sysv", SERVICE_FACTS, {}, {"bin/service": FAKE_SERVICE, "fake.json": json.dumps(SYSV)},
         env=TOOLS_ENV),
    case("service_facts-chkconfig", SERVICE_FACTS, {}, {
        "bin/service": FAKE_SERVICE, "bin/chkconfig": FAKE_CHKCONFIG, "fake.json": json.dumps(dict(SYSV, chkconfig=[
            "cron           0:off   1:off   2:on    3:on    4:on    5:on    6:off",
            "ssh            0:off   1:off   2:off   3:off   4:off   5:off   6:off",
            "secret         0:off   1:off   2:on    3:on    4:on    5:on    6:off",
            "junk line"]))}, env=TOOLS_ENV),
    case("service_facts-upstart", SERVICE_FACTS, {}, {
        "bin/service": FAKE_SERVICE, "bin/initctl": FAKE_INITCTL, "fake.json": json.dumps(dict(
            SYSV, initctl="tty1 start/running, process 812\nrc stop/waiting\nnot a job line"))}, env=TOOLS_ENV),
    case("service_facts-unknown-option", SERVICE_FACTS, {"name": "x"}),

]

GIT = "ansible.builtin.git"
CLONE = "git clone -q @ORIGIN@ %s/co" % D
GIT_CASES = [
    case("git-clone-head", GIT, [{"repo": "@ORIGIN@", "dest": D + "/co"}] * 2),
    case("git-clone-versions", GIT, [{"repo": "@ORIGIN@", "dest": D + "/co", "version": "stable"},
                                     {"repo": "@ORIGIN@", "dest": D + "/co", "version": "master"},
                                     {"repo": "@ORIGIN@", "dest": D + "/co", "version": "v1"},
                                     {"repo": "@ORIGIN@", "dest": D + "/co", "version": "v2"}]),
    case("git-clone-depth", GIT, [{"repo": "file://@ORIGIN@", "dest": D + "/co", "depth": 1},
                                  {"repo": "file://@ORIGIN@", "dest": D + "/co", "depth": 1,
                                   "version": "stable"}]),
    case("git-local-mods", GIT, {"repo": "@ORIGIN@", "dest": D + "/co"},
         setup=CLONE + " && git -C co checkout -q HEAD~1 && echo mod > co/file"),
    case("git-local-mods-force", GIT, {"repo": "@ORIGIN@", "dest": D + "/co", "force": True,
                                       "version": "stable"},
         setup=CLONE + " && echo mod > co/file && echo new > co/untracked"),
    case("git-new-remote-url", GIT, {"repo": "@OTHER@", "dest": D + "/co"}, setup=CLONE),
    case("git-sha", GIT, {"repo": "@ORIGIN@", "dest": D + "/co", "version": "HEAD~2"}, setup=CLONE),
    case("git-bad-version", GIT, {"repo": "@ORIGIN@", "dest": D + "/co", "version": "nope"}),
    case("git-check-clone", GIT, {"repo": "@ORIGIN@", "dest": D + "/co", "version": "v1"}, check=True),
    case("git-check-behind", GIT, {"repo": "@ORIGIN@", "dest": D + "/co"}, check=True,
         setup=CLONE + " && git -C co reset -q --hard HEAD~1"),

]

FROM_FILES = "tripleo_nftables_from_files"
FIREWALL = {"fw/ssh.yaml": "- rule_name: 003 ssh\n  rule: {proto: tcp, dport: 22}\n",
            "fw/base.yaml": "- rule_name: 000 accept related\n  rule: {proto: all, state: [RELATED]}\n"
                            "- rule_name: 001 icmp\n  rule: {proto: icmp}\n"}
FROM_FILES_CASES = [
    case("nftables_from_files", FROM_FILES, {"src": D + "/fw"}, FIREWALL),
    case("nftables_from_files-missing", FROM_FILES, {"src": D + "/nope"}),
    case("nftables_from_files-bad-yaml", FROM_FILES, {"src": D + "/fw"}, {"fw/bad.yaml": "- [a"}),
    case("nftables_from_files-no-name", FROM_FILES, {"src": D + "/fw"}, {"fw/x.yaml": "- rule: {}\n"}),

]

NET_MAPPINGS = "tripleo_os_net_config_mappings"


def this_machines_mac():
    for name in sorted(os.listdir("/sys/class/net")):
        try:
            mac = open("/sys/class/net/%s/address" % name).read().strip()
        except OSError:
            continue
        if name != "lo" and mac and mac != "00:00:00:00:00:00":
            return mac
    return "00:00:00:00:00:00"


DMIDECODE = {"bin/dmidecode": fake_tool('''
print({"system-product-name": "PowerEdge R630", "system-uuid": "A8C85861-1B16"}.get(sys.argv[2], ""))
'''), "fake.json": "{}"}
NET_MAPPINGS_CASES = [
    case("os_net_config_mappings-mac", NET_MAPPINGS, {"net_config_data_lookup": {
        "other": {"nic1": "00:11:22:33:44:55"}, "me": {"nic1": this_machines_mac().upper(), "nic2": "EM2"}}}),
    case("os_net_config_mappings-dmi", NET_MAPPINGS, {"net_config_data_lookup": {
        "cisco": {"dmiString": "system-product-name", "id": "UCSB-B200-M4", "nic1": "enp7s0"},
        "dell": {"dmiString": "system-product-name", "id": "poweredge r630", "nic1": "em3", "nic2": "EM1"}}},
         DMIDECODE, env=TOOLS_ENV),
    case("os_net_config_mappings-no-dmidecode", NET_MAPPINGS, {"net_config_data_lookup": {
        "x": {"dmiString": "system-uuid", "id": "nope", "nic1": "em1"}}}, env={"PATH": D + "/empty"}),
    case("os_net_config_mappings-check", NET_MAPPINGS, {"net_config_data_lookup": {"x": {"nic1": "em1"}}},
         check=True),
]

SPEC_BOOTSTRAP = "ceph_spec_bootstrap"
INVENTORY_DATA = {
    "Controller": {"hosts": {"ctl-0": {"ansible_host": "192.168.24.10", "canonical_hostname":
                                       "ctl-0.example.org"}}},
    "CephStorage": {"hosts": {"ceph-0": {"ansible_host": "192.168.24.20", "canonical_hostname":
                                         "ceph-0.example.org"},
                              "ceph-1": {"ansible_host": "192.168.24.21", "canonical_hostname":
                                         "ceph-1.example.org"}}},
    "Compute": {"hosts": {"cmp-0": {"ansible_host": "192.168.24.30", "canonical_hostname": "cmp-0.x"}}},
    "ceph_mon": {"children": {"Controller": {}}}, "ceph_mgr": {"children": {"Controller": {}}},
    "ceph_osd": {"children": {"CephStorage": {}}}}
INVENTORY = yaml.safe_dump(INVENTORY_DATA)
# a role group with only children: the module finds its hosts for the addresses, then fails on the roles
CHILDREN_INVENTORY = yaml.safe_dump(dict(INVENTORY_DATA, Controller={"children": {"overcloud_Controller": {}}},
                                         overcloud_Controller=INVENTORY_DATA["Controller"]))
METAL = yaml.safe_dump({"parameter_defaults": {
    "DeployedServerPortMap": {"ctl-0-ctlplane": {"fixed_ips": [{"ip_address": "192.168.24.10"}]},
                              "ceph-0-ctlplane": {"fixed_ips": [{"ip_address": "192.168.24.20"}]}},
    "HostnameMap": {"oc-controller-0": "ctl-0", "oc-cephstorage-0": "ceph-0"},
    "ControllerHostnameFormat": "%stackname%-controller-%index%",
    "CephStorageHostnameFormat": "%stackname%-cephstorage-%index%"}})
ROLES = yaml.safe_dump([
    {"name": "Controller", "ServicesDefault": ["OS::TripleO::Services::CephMon", "OS::TripleO::Services::CephMgr",
                                               "OS::TripleO::Services::Keystone"]},
    {"name": "CephStorage", "ServicesDefault": ["OS::TripleO::Services::CephOSD"]}])
CEPH_FILES = {"inventory.yaml": INVENTORY, "metal.yaml": METAL, "roles.yaml": ROLES, "out": DIR}
SPEC_BOOTSTRAP_CASES = [
    case("ceph_spec_bootstrap-inventory", SPEC_BOOTSTRAP, {
        "new_ceph_spec": D + "/out/ceph_spec.yaml", "tripleo_ansible_inventory": D + "/inventory.yaml",
        "fqdn": True, "crush_hierarchy": {"ceph-0.example.org": {"rack": "r1"}},
        "osd_spec": {"data_devices": {"rotational": 1}}}, CEPH_FILES),
    case("ceph_spec_bootstrap-inventory-children", SPEC_BOOTSTRAP, {
        "new_ceph_spec": D + "/out/ceph_spec.yaml", "tripleo_ansible_inventory": D + "/inventory.yaml"},
         dict(CEPH_FILES, **{"inventory.yaml": CHILDREN_INVENTORY})),
    case("ceph_spec_bootstrap-metalsmith", SPEC_BOOTSTRAP, {
        "new_ceph_spec": D + "/out/ceph_spec.yaml", "deployed_metalsmith": D + "/metal.yaml",
        "tripleo_roles": D + "/roles.yaml", "ceph_service_types": ["mon", "osd"]}, CEPH_FILES),
    case("ceph_spec_bootstrap-standalone", SPEC_BOOTSTRAP, {
        "new_ceph_spec": D + "/out/ceph_spec.yaml", "standalone": True, "mon_ip": "192.168.24.1"}, CEPH_FILES),
    case("ceph_spec_bootstrap-invalid", SPEC_BOOTSTRAP, {
        "new_ceph_spec": D + "/nope/ceph_spec.yaml", "deployed_metalsmith": D + "/metal.yaml",
        "tripleo_roles": D + "/missing.yaml", "ceph_service_types": ["mds"], "fqdn": True}, CEPH_FILES),
    case("ceph_spec_bootstrap-no-source", SPEC_BOOTSTRAP, {"new_ceph_spec": D + "/out/ceph_spec.yaml"}),
    case("ceph_spec_bootstrap-bad-metal", SPEC_BOOTSTRAP, {
        "new_ceph_spec": D + "/out/ceph_spec.yaml", "deployed_metalsmith": D + "/roles.yaml",
        "tripleo_roles": D + "/roles.yaml"}, CEPH_FILES),
    case("ceph_spec_bootstrap-check-writes", SPEC_BOOTSTRAP, {
        "new_ceph_spec": D + "/out/ceph_spec.yaml", "tripleo_ansible_inventory": D + "/inventory.yaml"},
         CEPH_FILES, check=True),
]

CASES = (PING_CASES + YUM_CASES + ACL_CASES + CEPH_MKSPEC_CASES + FINDIF_CASES + DIFF_EXEC_CASES +
         SNIPPET_CASES + CONFIG_DATA_CASES + ARCHIVE_CASES + SERVICE_FACTS_CASES +
         GIT_CASES + FROM_FILES_CASES + NET_MAPPINGS_CASES + SPEC_BOOTSTRAP_CASES)
TEST = "test_port_matches_real_module_more["


@pytest.fixture(scope="session")
def fakes(tmp_path_factory):
    directory = tmp_path_factory.mktemp("fakes")
    for name, body in FAKE_BODIES.items():
        tool = directory / name
        tool.write_text(FAKE.format(python=sys.executable, body=textwrap.dedent(body)))
        tool.chmod(0o755)
    return directory


@pytest.fixture(scope="session")
def git_origins(tmp_path_factory):
    """@ORIGIN@: master (3 commits, tags v1 annotated and v2 light), branch stable; @OTHER@: another repo."""
    root = tmp_path_factory.mktemp("origins")
    script = """
set -e
git init -q -b master origin && cd origin
echo one > file && git add file && git commit -qm one && git tag -a v1 -m v1
git branch stable
echo two > file && git commit -qam two && git tag v2
git checkout -q stable && echo stable > file && git commit -qam stable && git checkout -q master
echo three > file && git commit -qam three
cd .. && git init -q -b master other && cd other && echo other > o && git add o && git commit -qm other
"""
    subprocess.run(script, shell=True, cwd=root, check=True, capture_output=True, env=GIT_ENV)
    GIT_ORIGINS.update({"@ORIGIN@": root / "origin", "@OTHER@": root / "other"})
    return GIT_ORIGINS


@pytest.fixture(scope="session")
def more_runs(request, tmp_path_factory, fakes, git_origins):
    """What the real modules did, per selected case: {id: {"results", "dir", "tree"}}."""
    from support.corpus import ansible_extras, tripleo_ansible_tree
    ids = {item.callspec.id for item in request.session.items if item.name.startswith(TEST)}
    chosen = [p for p in CASES if p.id in ids and not p.marks]
    plugins = tripleo_ansible_tree() / "ansible_plugins"
    # ansible-core 2.19 runs a `#!/usr/bin/env python3` module as the one word '/usr/bin/env python3'
    # (not found); the copies here start `#!/usr/bin/python`, so ansible_python_interpreter applies
    library = tmp_path_factory.mktemp("library")
    for module in (plugins / "modules").glob("*.py"):
        text = module.read_text()
        if text.startswith("#!/usr/bin/env python"):
            text = "#!/usr/bin/python" + text[text.index("\n"):]
        (library / module.name).write_text(text)
    extra_env = {"ANSIBLE_COLLECTIONS_PATH": str(ansible_extras().collections_path),
                 "ANSIBLE_LIBRARY": str(library),
                 "ANSIBLE_MODULE_UTILS": str(plugins / "module_utils")}
    parts = max(4, 2 * (os.cpu_count() or 2))  # they wait on subprocesses much of the time
    started = []
    for chunk in (chosen[index::parts] for index in range(parts)):
        if chunk:
            root = tmp_path_factory.mktemp("real")
            started.append((chunk, root) + run_playbook(chunk, root, fakes, extra_env))
    runs = {}
    for chunk, root, proc, record in started:
        output = proc.communicate()[0]
        assert record.exists(), output
        results = json.loads(record.read_text())
        for param in chunk:
            steps = range(len(param.values[0]["steps"]))
            runs[param.id] = {"results": [results["%s#%d" % (param.id, i)] for i in steps],
                              "dir": root / param.id, "tree": snapshot(root / param.id)}
    return runs


@pytest.mark.parametrize("spec", CASES)
def test_port_matches_real_module_more(spec, request, more_runs, fakes, git_origins, tmp_path):
    ran = more_runs[request.node.callspec.id]
    case_dir = tmp_path / "case"
    prepare(spec, case_dir)
    ctx = Context(check_mode=spec["check"], environment=environment(spec, case_dir, fakes))
    for index, args in enumerate(spec["steps"]):
        ctx.warnings = []
        try:
            got = MODULES[spec["module"]](with_origins(substitute(args, case_dir, NO_URL, fakes)), ctx)
        except ModuleFailed as ex:
            got = ex.result
        got = without_origins(got)
        got_facts = normalise(got, case_dir, NO_URL)
        got = normalise(compared(dict(got), spec["ignore"]), case_dir, NO_URL)
        expected = normalise(compared(without_origins(ran["results"][index]), spec["ignore"]), ran["dir"], NO_URL)
        got.setdefault("changed", False)
        expected.setdefault("changed", False)
        if spec["module"] == SPEC_BOOTSTRAP:
            got, expected = sort_labels(got), sort_labels(expected)
        assert got == expected, "step %d" % index
        if spec["module"] == SERVICE_FACTS:  # compared() leaves facts out: they are this module's result
            facts = normalise(ran["results"][index].get("ansible_facts"), ran["dir"], NO_URL)
            assert got_facts.get("ansible_facts") == facts, "step %d" % index
    assert snapshot(case_dir) == ran["tree"]


# ---------------------------------------------------------------------------
# iptables: the real module and the port, one after the other, on chains of their
# own in the real filter table (no rule of the built-in chains jumps to them, so
# nothing changes for this machine's traffic); the chains' rules are compared.


def iptables_usable():
    try:
        return os.geteuid() == 0 and subprocess.run(["iptables", "-n", "-L", "INPUT"],
                                                     capture_output=True).returncode == 0
    except OSError:
        return False


@pytest.mark.skipif(not iptables_usable(), reason="needs root and a working iptables (apt-get install -y iptables)")
def test_iptables_matches_real_module(tmp_path):
    chain, other = "TM_PORT_%d" % os.getpid(), "TM_PORT_%d_B" % os.getpid()
    nfs = {"chain": chain, "protocol": "tcp", "destination_port": "111", "ctstate": ["NEW"], "jump": "ACCEPT",
           "comment": "Accept new NFS connections (111).", "action": "insert", "rule_num": "1"}
    steps = [
        (nfs, False), (nfs, False),
        ({"chain": chain, "protocol": "tcp", "destination_ports": ["80", "443"], "jump": "ACCEPT",
          "source": "!10.0.0.0/8", "match": ["multiport"]}, False),
        ({"chain": chain, "protocol": "udp", "log_prefix": "tm: ", "log_level": "info"}, False),
        ({"chain": chain, "protocol": "icmp", "icmp_type": "echo-request", "jump": "DROP",
          "syn": "ignore", "in_interface": "lo"}, True),
        ({"chain": chain, "protocol": "tcp", "jump": "REJECT", "reject_with": "tcp-reset",
          "tcp_flags": {"flags": ["ALL"], "flags_set": ["SYN"]}}, False),
        (dict(nfs, state="absent"), False),
        ({"chain": other, "chain_management": True}, False),
        ({"chain": other, "state": "absent", "chain_management": True}, True),
        ({"chain": "INPUT", "policy": "ACCEPT"}, False),  # what it is: never DROP on a shared machine
        ({"chain": chain, "protocol": "tcp", "jump": "NOPE_TARGET"}, False),
        ({"chain": chain, "log_prefix": "x", "jump": "ACCEPT"}, False),
        ({"chain": chain, "flush": True}, True),
    ]

    def reset():
        for name in (chain, other):
            subprocess.run(["iptables", "-F", name], capture_output=True)
            subprocess.run(["iptables", "-X", name], capture_output=True)
        subprocess.run(["iptables", "-N", chain], check=True)

    def rules():
        return [subprocess.run(["iptables", "-S", name], capture_output=True, text=True).stdout
                for name in (chain, other)]

    try:
        reset()
        tasks = [{"name": "iptables#%d" % i, "ignore_errors": True, "check_mode": check,
                  "ansible.builtin.iptables": args} for i, (args, check) in enumerate(steps)]
        playbook = tmp_path / "playbook.yml"
        playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
        (tmp_path / "callbacks").mkdir()
        (tmp_path / "callbacks" / "record.py").write_text(RECORD_CALLBACK)
        record = tmp_path / "record.json"
        env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
                   ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_STDOUT_CALLBACK="record",
                   ANSIBLE_CALLBACK_PLUGINS=str(tmp_path / "callbacks"), RECORD_FILE=str(record),
                   ANSIBLE_PIPELINING="1")
        out = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local", str(playbook),
                              "-e", "ansible_python_interpreter=" + sys.executable],
                             env=env, capture_output=True, text=True).stdout
        assert record.exists(), out
        ran = json.loads(record.read_text())
        real_rules = rules()
        # the real module did change things: the rule went in once, out once, the chain came and went
        assert [ran["iptables#%d" % i]["changed"] for i in (0, 1, 6, 7, 8, 9)] == [
            True, False, True, True, True, False]
        reset()
        ctx = Context()
        for index, (args, check) in enumerate(steps):
            ctx.check_mode = check
            try:
                got = MODULES["ansible.builtin.iptables"](json.loads(json.dumps(args)), ctx)
            except ModuleFailed as ex:
                got = ex.result
            expected = compared(ran["iptables#%d" % index], ())
            got = compared(dict(got), ())
            got.setdefault("changed", False)
            if got.get("failed") is False:  # ansible-core drops failed: false from a result
                del got["failed"]
            assert got == expected, "step %d: %s" % (index, args)
        assert rules() == real_rules
    finally:
        for name in (chain, other):
            subprocess.run(["iptables", "-F", name], capture_output=True)
            subprocess.run(["iptables", "-X", name], capture_output=True)
