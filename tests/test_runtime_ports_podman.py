"""containers.podman.podman_container and tripleo_container_manage against the real modules.

Everything here is REAL: the real modules (containers.podman 1.18 from the
`ansible` package that tests/support/corpus.py caches; tripleo-ansible's
tripleo_container_manage from the cached 6.0.0 tree, which drives that
collection's PodmanManager) and the real podman (Debian's `podman`, run by
Debian's `runc`: crun cannot run containers on this machine's hybrid cgroups).
Both are installed by .ci/run; without them, or when podman cannot start a
container here, the tests are skipped.

podman keeps its state apart from this machine's: a session directory holds
its storage, run root and containers.conf (runtime runc, default ulimits this
machine allows), and an image imported from a tarball the test builds from
this machine's dash, sleep and true (no registry). A `podman` wrapper first on
PATH sets that configuration and records every call (its arguments) into the
case's podman.log before running the real podman.

Each case runs its steps once by the real module through ansible-playbook
(-c local; cases in parallel chunks, each with containers of its own names)
and once by the port, each side starting without the case's containers. The
results must agree once what podman makes up anew is blanked (container and
layer IDs, time stamps, process IDs), the podman call logs must be identical
(the same command lines in the same order), and the trees must agree.
"""

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest
from test_runtime_modules import ANSIBLE_PLAYBOOK, D, DIR, RECORD_CALLBACK, Context, make_tree
from test_runtime_ports import compared, normalise, tree_snapshot
from test_runtime_ports_more import NO_URL, age

from migrator.runtime.api import MODULES, ModuleFailed
from migrator.runtime.modules import podman_container, tripleo_container_manage  # noqa: F401  (registers the ports)

# Its real side runs every case once per session (a session fixture): on one xdist worker only
pytestmark = pytest.mark.xdist_group("runtime_ports_podman")

PODMAN = "containers.podman.podman_container"
MANAGE = "tripleo_container_manage"
IMAGE = "localhost/tm-tiny:1"
IMAGE2 = "localhost/tm-tiny:2"  # the same files, another image (a label of its own)
NAMES = re.compile(r"tmpc-[a-z0-9-]+")  # every container of a case is named so
HEX64 = re.compile(r"\b[0-9a-f]{64}\b")
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")
UNIT_DATE = re.compile(r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \w+ \d{4}")
PIDS = re.compile(r'"(Pid|ConmonPid)": \d+|(Conmon PID as )\d+')
UNSTABLE = ("podman.log",)

WRAPPER = """#!/bin/sh
if [ -n "$FAKE_STATE" ]; then
    log="${{FAKE_STATE%/*}}/podman.log"
    for arg in "$@"; do printf '%s\\037' "$arg" >> "$log"; done
    echo >> "$log"
fi
export CONTAINERS_CONF={base}/containers.conf CONTAINERS_STORAGE_CONF={base}/storage.conf
exec {podman} "$@"
"""
CONTAINERS_CONF = """[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
"""
STORAGE_CONF = """[storage]
driver = "overlay"
graphroot = "{base}/storage"
runroot = "{base}/run"
"""
IDLE = '#!/bin/sh\ntrap "exit 0" TERM INT\nwhile :; do sleep 1 & wait $!; done\n'


def case(id, module, steps, tree=None, check=False, setup=()):
    """steps: the module's arguments, one dict per run on the same containers.

    setup: podman argument lists run (unrecorded) before the steps, on both sides.
    """
    return pytest.param(dict(module=module, steps=steps if isinstance(steps, list) else [steps],
                             tree=dict(tree or {}), check=check, setup=list(setup)), id=id)


def names_of(spec):
    return sorted(set(NAMES.findall(json.dumps([spec["steps"], spec["tree"], spec["setup"]]))))


# ---------------------------------------------------------------------------
# podman_container

WEB = {"name": "tmpc-web", "image": IMAGE, "net": "host", "privileged": True, "user": "root",
       "volumes": [D + "/conf:/etc/tm:ro", D + "/data:/var/lib/tm"],
       "env": {"KOLLA_CONFIG_STRATEGY": "COPY_ALWAYS", "TRIPLEO_CONFIG_HASH": "abc"},
       "label": {"config_id": "tm"}, "cap_add": ["SYS_ADMIN"], "security_opt": ["label=disable"],
       "ulimit": ["nofile=1024", "nproc=1024:1024"], "stop_timeout": 5, "healthcheck": "/bin/true",
       "log_driver": "k8s-file", "log_opt": {"path": D + "/logs/web.log"}, "log_level": "info"}
WEB_TREE = {"conf/x.json": "{}\n", "data": DIR, "logs": DIR}
ONESHOT = {"name": "tmpc-once", "image": IMAGE, "net": "host", "detach": False,
           "command": ["/bin/sh", "-c", "echo hello from the container"]}


def run_setup(name):
    return [["run", "-d", "--name", name, "--network", "host", IMAGE]]


PODMAN_CASES = [
    case("started-idempotent-recreate-absent", PODMAN, [
        WEB, WEB, dict(WEB, env={"KOLLA_CONFIG_STRATEGY": "COPY_ALWAYS", "TRIPLEO_CONFIG_HASH": "def"}),
        {"name": "tmpc-web", "state": "absent"}, {"name": "tmpc-web", "state": "absent"}], WEB_TREE),
    case("created-started-stopped", PODMAN, [
        {"name": "tmpc-life", "image": IMAGE, "state": "created", "network": ["host"], "pid": "host",
         "ipc": "host"},
        {"name": "tmpc-life", "image": IMAGE, "state": "created", "network": ["host"], "pid": "host",
         "ipc": "host"},
        {"name": "tmpc-life", "image": IMAGE, "network": ["host"], "pid": "host", "ipc": "host"},
        {"name": "tmpc-life", "state": "stopped"}, {"name": "tmpc-life", "state": "stopped"},
        {"name": "tmpc-life", "state": "started"}]),
    case("present-stopped-creates", PODMAN, [
        {"name": "tmpc-stp", "image": IMAGE, "state": "stopped", "net": "host"},
        {"name": "tmpc-stp", "image": IMAGE, "state": "present", "net": "host", "tty": True}]),
    case("oneshot-detach-false", PODMAN, [ONESHOT, ONESHOT]),
    case("command-forms", PODMAN, [
        {"name": "tmpc-cmd", "image": IMAGE, "net": "host", "command": "/bin/idle"},
        {"name": "tmpc-cmd", "image": IMAGE, "net": "host", "command": ["/bin/idle"]},
        {"name": "tmpc-cmd", "image": IMAGE, "net": "host", "command": "/bin/sh /bin/idle"}]),
    case("image-change-recreate-force", PODMAN, [
        {"name": "tmpc-img", "image": IMAGE, "net": "host"},
        {"name": "tmpc-img", "image": IMAGE2, "net": "host"},
        {"name": "tmpc-img", "image": IMAGE2, "net": "host", "recreate": True},
        {"name": "tmpc-img", "image": IMAGE2, "net": "host", "restart": True},
        {"name": "tmpc-img", "force_restart": True, "state": "present"}]),
    # stopping an --rm container has podman remove it in the background: whether the module's inspect
    # after the stop still finds it, and whether a recreate's `podman run` finds the name free, are
    # races in podman itself (both seen in CI on the real module), so an --rm container is proven
    # created, left alone and removed, and the stop and the recreate are proven without --rm
    case("rm", PODMAN, [
        {"name": "tmpc-rm", "image": IMAGE, "net": "host", "rm": True, "stop_time": "2"},
        {"name": "tmpc-rm", "image": IMAGE, "net": "host", "rm": True, "stop_time": "2"},
        {"name": "tmpc-rm", "state": "absent"}]),
    case("stop-time", PODMAN, [
        {"name": "tmpc-stop", "image": IMAGE, "net": "host", "stop_time": "2"},
        {"name": "tmpc-stop", "image": IMAGE, "net": "host", "stop_time": "2", "hostname": "tm-host"},
        {"name": "tmpc-stop", "state": "stopped", "stop_time": "2"},
        {"name": "tmpc-stop", "state": "stopped", "stop_time": "2"},
        {"name": "tmpc-stop", "state": "absent"}]),
    case("options-of-tripleo", PODMAN, [
        {"name": "tmpc-opts", "image": IMAGE, "network_mode": "host", "conmon_pidfile": "/run/tmpc-opts.pid",
         "label": {"config_id": "tripleo_step1", "container_name": "tmpc-opts", "managed_by": "tripleo_ansible",
                   "config_data": "{'image': 'x', 'net': 'host'}"},
         "env": {"TRIPLEO_DEPLOY_IDENTIFIER": 1234}, "dns": ["192.168.24.1"], "etc_hosts": {"tm-host": "10.0.0.1"},
         "workdir": "/", "memory": "256m", "stop_signal": 15, "cpu_shares": 512, "tmpfs": {"/run/tm": "rw"},
         "annotation": {"tm.annotation": "yes"}, "cap_drop": ["NET_RAW"], "read_only": False,
         "generate_systemd": {"path": D + "/units", "new": True, "no_header": True, "restart_policy": "always"}},
        {"name": "tmpc-opts", "image": IMAGE, "network_mode": "host", "conmon_pidfile": "/run/tmpc-opts.pid",
         "label": {"config_id": "tripleo_step1", "container_name": "tmpc-opts", "managed_by": "tripleo_ansible",
                   "config_data": "{'image': 'x', 'net': 'host'}"},
         "env": {"TRIPLEO_DEPLOY_IDENTIFIER": 1234}, "dns": ["192.168.24.1"], "etc_hosts": {"tm-host": "10.0.0.1"},
         "workdir": "/", "memory": "256m", "stop_signal": 15, "cpu_shares": 512, "tmpfs": {"/run/tm": "rw"},
         "annotation": {"tm.annotation": "yes"}, "cap_drop": ["NET_RAW"], "read_only": False,
         "generate_systemd": {"path": D + "/units", "new": True, "no_header": True, "restart_policy": "always"}},
        {"name": "tmpc-opts", "state": "absent",
         "generate_systemd": {"path": D + "/units", "new": True, "no_header": True}}], {"units": DIR}),
    case("rm-of-tripleo_container_rm", PODMAN, {"name": "tmpc-gone", "state": "absent"},
         setup=run_setup("tmpc-gone")),
    case("check-create", PODMAN, [WEB, {"name": "tmpc-web", "state": "absent"}], WEB_TREE, check=True),
    case("check-existing", PODMAN, [
        {"name": "tmpc-chk", "image": IMAGE, "network": ["host"], "env": {"A": "1"}},
        {"name": "tmpc-chk", "image": IMAGE, "network": ["host"]},
        {"name": "tmpc-chk", "state": "stopped"}, {"name": "tmpc-chk", "state": "absent"}],
         check=True, setup=run_setup("tmpc-chk")),
    case("fail-command-not-found", PODMAN, [
        {"name": "tmpc-bad", "image": IMAGE, "net": "host", "command": "/bin/nope"},
        {"name": "tmpc-bad", "image": IMAGE, "net": "host", "command": "/bin/nope"}]),
    case("fail-pull", PODMAN, {"name": "tmpc-pull", "image": "localhost:1/tm-missing:1", "net": "host"}),
    case("fail-arguments", PODMAN, [
        {"name": "tmpc-args", "state": "present"},
        {"name": "tmpc-args"},
        {"name": "tmpc-args", "image": IMAGE, "no_hosts": True, "etc_hosts": {"a": "1.2.3.4"}},
        {"name": "tmpc-args", "image": IMAGE, "state": "bogus"},
        {"name": "tmpc-args", "image": IMAGE, "executable": "no-such-podman"}]),
]

# ---------------------------------------------------------------------------
# tripleo_container_manage: TripleO's container configs (the keys THT's docker_config uses)


def configs(**named):
    return {"configs/%s.json" % name: json.dumps(config) for name, config in named.items()}


STEP = {"config_id": "tripleo_step1", "config_dir": D + "/configs", "log_base_path": D + "/logs"}
INIT = {"start_order": 0, "image": IMAGE, "net": "host", "detach": False, "user": "root",
        "command": ["/bin/sh", "-c", "echo init done"], "volumes": [D + "/conf:/etc/tm:ro"]}
SERVICE = {"start_order": 1, "image": IMAGE, "net": "host", "privileged": True, "restart": "always",
           "healthcheck": {"test": "/bin/true"}, "stop_grace_period": 5, "cap_add": ["SYS_ADMIN"],
           "environment": {"KOLLA_CONFIG_STRATEGY": "COPY_ALWAYS", "TRIPLEO_CONFIG_HASH": "abc"},
           "volumes": [D + "/conf:/etc/tm:ro", D + "/data:/var/lib/tm:z"], "security_opt": ["label=disable"],
           "ulimit": ["nofile=1024", "nproc=1024:1024"], "pid": "host", "ipc": "host", "user": "root"}
EXEC = {"start_order": 2, "action": "exec", "user": "root", "privileged": False,
        "environment": {"TM_EXEC": "1", "TM_EMPTY": ""}, "command": ["tmpc-m-web", "/bin/true"]}
MANAGE_TREE = dict(configs(**{"tmpc-m-init": INIT, "tmpc-m-web": SERVICE, "tmpc-m-exec": EXEC}),
                   **{"conf/x.json": "{}\n", "data": DIR, "logs": DIR})
MANAGE_CASES = [
    case("manage-start-order-exec-idempotent-override", MANAGE, [
        STEP, STEP, dict(STEP, config_overrides={"tmpc-m-web": {"environment": {"TRIPLEO_CONFIG_HASH": "def"}}})],
         MANAGE_TREE),
    case("manage-patterns-missing-dir", MANAGE, [
        dict(STEP, config_patterns="tmpc-p-a*.json", concurrency=2, debug=True),
        dict(STEP, config_dir=D + "/nope")],
         dict(configs(**{"tmpc-p-a1": {"image": IMAGE, "net": "host", "remove": False, "check_interval": "30s"},
                         "tmpc-p-b1": {"image": IMAGE, "net": "host"}}), logs=DIR)),
    case("manage-failure-retries", MANAGE, STEP, dict(configs(**{
        "tmpc-f-bad": {"image": IMAGE, "net": "host", "command": "/bin/nope", "retries": 1, "retry_sleep": 0},
        "tmpc-f-good": {"image": IMAGE, "net": "host", "start_order": 1}}), logs=DIR)),
    case("manage-check", MANAGE, STEP, dict(configs(**{"tmpc-c-web": SERVICE}), logs=DIR), check=True),
    case("manage-bad-option-type", MANAGE, STEP, dict(configs(**{
        "tmpc-t-web": {"image": IMAGE, "net": "host", "privileged": [1]}}), logs=DIR)),
]

CASES = PODMAN_CASES + MANAGE_CASES
TEST = "test_podman_port_matches_real_module["


# ---------------------------------------------------------------------------
# podman, set apart


def build_rootfs(target):
    """A tarball of a root file system: dash, sleep, true, an idle loop that stops on TERM."""
    files = {"/bin/sh": shutil.which("dash"), "/bin/sleep": shutil.which("sleep"),
             "/bin/true": shutil.which("true")}
    libs = set()
    for binary in files.values():
        out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
        libs.update(m for m in re.findall(r"(/\S+)", out))
    with tarfile.open(target, "w") as archive:
        for inside, outside in files.items():
            archive.add(os.path.realpath(outside), arcname=inside.lstrip("/"))
        for lib in sorted(libs):
            archive.add(os.path.realpath(lib), arcname=lib.lstrip("/"))
        for name, text, mode in (("bin/idle", IDLE, 0o755),
                                 ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644),
                                 ("etc/group", "root:x:0:\n", 0o644)):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(text), mode
            archive.addfile(info, fileobj=io.BytesIO(text.encode()))


def podman_prerequisites():
    if os.geteuid() != 0:
        return "needs root"
    for tool in ("podman", "runc", "dash", "ldd"):
        if not shutil.which(tool):
            return "needs %s (apt-get install -y podman runc)" % tool
    return None


@pytest.fixture(scope="session")
def podman_env():
    """The wrapper directory and podman set apart in a session directory (or the tests skip)."""
    missing = podman_prerequisites()
    if missing:
        pytest.skip(missing)
    base = Path(tempfile.mkdtemp(prefix="tmpod", dir="/tmp"))  # short: podman's socket paths
    (base / "containers.conf").write_text(CONTAINERS_CONF)
    (base / "storage.conf").write_text(STORAGE_CONF.format(base=base))
    wrapper = base / "bin"
    wrapper.mkdir()
    (wrapper / "podman").write_text(WRAPPER.format(base=base, podman=shutil.which("podman")))
    (wrapper / "podman").chmod(0o755)
    podman = str(wrapper / "podman")

    def quiet(*args):
        return subprocess.run([podman, *args], capture_output=True, text=True)

    try:
        build_rootfs(base / "rootfs.tar")
        made = [quiet("import", "--change", 'CMD ["/bin/idle"]', str(base / "rootfs.tar"), IMAGE),
                quiet("import", "--change", 'CMD ["/bin/idle"]', "--change", "LABEL tm.variant=2",
                      str(base / "rootfs.tar"), IMAGE2),
                quiet("run", "--rm", "--network", "host", IMAGE, "/bin/true")]
        failed = [p for p in made if p.returncode != 0]
        if failed:
            pytest.skip("podman cannot run a container here: %s" % failed[0].stderr.strip()[-300:])
        yield {"wrapper": wrapper, "podman": podman, "base": base}
    finally:
        quiet("rm", "-af", "-t", "0")
        quiet("system", "reset", "-f")
        shutil.rmtree(base, ignore_errors=True)


def without_containers(podman, spec):
    names = names_of(spec)
    if names:
        subprocess.run([podman, "rm", "-f", "-i", "-t", "0", *names], capture_output=True)


def prepare(spec, case_dir, podman):
    """The case's tree (old time stamps) and containers, alike on both sides."""
    without_containers(podman, spec)
    make_tree(case_dir, {k: v.replace(D, str(case_dir)) if isinstance(v, str) else v for k, v in spec["tree"].items()})
    age(case_dir)
    for args in spec["setup"]:
        subprocess.run([podman, *args], check=True, capture_output=True)


def case_env(case_dir, wrapper):
    return {"PATH": "%s:%s" % (wrapper, os.environ["PATH"]), "FAKE_STATE": str(case_dir / "fake.json")}


def substitute(value, case_dir):
    return json.loads(json.dumps(value).replace(D, str(case_dir)))


def scrub(value, case_dir):
    """A result without what podman makes up anew: IDs, time stamps, process IDs."""
    text = json.dumps(normalise(value, case_dir, NO_URL), sort_keys=True)
    for full in set(HEX64.findall(text)):
        text = text.replace(full, "@HEX@").replace(full[:12], "@SHORT@")
    text = UNIT_DATE.sub("@DATE@", ISO_TIME.sub("@TIME@", text))
    value = json.loads(PIDS.sub(lambda m: '"%s": 0' % m.group(1) if m.group(1) else m.group(2) + "0", text))
    return sorted_env(value)


def sorted_env(value):
    """podman lists a container's environment and mounts in no fixed order."""
    if isinstance(value, dict):
        return {k: sorted(v, key=json.dumps) if k in ("Env", "Binds", "Mounts") and isinstance(v, list)
                else sorted_env(v) for k, v in value.items()}
    if isinstance(value, list):
        return [sorted_env(item) for item in value]
    return value


def calls(case_dir):
    log = case_dir / "podman.log"
    if not log.exists():
        return []
    return [line.split("\x1f")[:-1] for line in log.read_text().replace(str(case_dir), D).splitlines()]


def tree(case_dir):
    return {k: v for k, v in tree_snapshot(case_dir).items()
            if k not in UNSTABLE and not k.endswith((".pid", ".log"))}


def library_dir(tmp_path_factory):
    """tripleo-ansible's modules, `#!/usr/bin/python` so that ansible_python_interpreter applies."""
    from support.corpus import tripleo_ansible_tree
    plugins = tripleo_ansible_tree() / "ansible_plugins"
    library = tmp_path_factory.mktemp("library")
    for module in (plugins / "modules").glob("*.py"):
        text = module.read_text()
        if text.startswith("#!/usr/bin/env python"):
            text = "#!/usr/bin/python" + text[text.index("\n"):]
        (library / module.name).write_text(text)
    return library, plugins / "module_utils"


def start_playbook(chunk, root, podman_env, extra_env):
    tasks = []
    for param in chunk:
        spec = param.values[0]
        case_dir = root / param.id
        prepare(spec, case_dir, podman_env["podman"])
        for index, args in enumerate(spec["steps"]):
            tasks.append({"name": "%s#%d" % (param.id, index), "ignore_errors": True,
                          "check_mode": spec["check"], spec["module"]: substitute(args, case_dir),
                          "environment": case_env(case_dir, podman_env["wrapper"])})
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


@pytest.fixture(scope="session")
def podman_runs(request, tmp_path_factory, podman_env):
    """What the real modules did, per selected case: {id: {"results", "dir", "tree", "calls"}}."""
    from support.corpus import ansible_extras
    ids = {item.callspec.id for item in request.session.items if item.name.startswith(TEST)}
    chosen = [p for p in CASES if p.id in ids]
    library, module_utils = library_dir(tmp_path_factory)
    extra_env = {"ANSIBLE_COLLECTIONS_PATH": str(ansible_extras().collections_path),
                 "ANSIBLE_LIBRARY": str(library), "ANSIBLE_MODULE_UTILS": str(module_utils)}
    parts = 3
    started = []
    for chunk in (chosen[index::parts] for index in range(parts)):
        if chunk:
            root = tmp_path_factory.mktemp("real")
            started.append((chunk, root) + start_playbook(chunk, root, podman_env, extra_env))
    runs = {}
    for chunk, root, proc, record in started:
        output = proc.communicate()[0]
        assert record.exists(), output
        results = json.loads(record.read_text())
        for param in chunk:
            case_dir = root / param.id
            runs[param.id] = {"results": [results["%s#%d" % (param.id, i)]
                                          for i in range(len(param.values[0]["steps"]))],
                              "dir": case_dir, "tree": tree(case_dir), "calls": calls(case_dir)}
            without_containers(podman_env["podman"], param.values[0])
    return runs


@pytest.mark.parametrize("spec", CASES)
def test_podman_port_matches_real_module(spec, request, podman_runs, podman_env, tmp_path):
    ran = podman_runs[request.node.callspec.id]
    case_dir = tmp_path / "case"
    prepare(spec, case_dir, podman_env["podman"])
    ctx = Context(check_mode=spec["check"], environment=case_env(case_dir, podman_env["wrapper"]))
    try:
        for index, args in enumerate(spec["steps"]):
            ctx.warnings = []
            try:
                got = MODULES[spec["module"]](substitute(args, case_dir), ctx)
            except ModuleFailed as ex:
                got = ex.result
            got = scrub(compared(dict(got), ()), case_dir)
            expected = scrub(compared(ran["results"][index], ()), ran["dir"])
            got.setdefault("changed", False)
            expected.setdefault("changed", False)
            assert got == expected, "step %d (port warnings: %s)" % (index, ctx.warnings)
        assert calls(case_dir) == ran["calls"]
        assert tree(case_dir) == ran["tree"]
    finally:
        without_containers(podman_env["podman"], spec)
