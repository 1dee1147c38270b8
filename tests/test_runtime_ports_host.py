"""Ports of modules that work on the host's fixed paths, against the real modules.

community.general.cloud_init_data_facts, modprobe and timezone, ansible.posix.selinux
and tripleo-ansible's lvm2_physical_devices_facts and tripleo_os_net_config read and
write fixed system paths (/var/lib/cloud/data, /proc/modules, /etc/modprobe.d,
/etc/localtime, /etc/selinux/config, /etc/os-net-config, ...). Each scenario below
is a sequence of steps (set-up shell scripts, module tasks, snapshots of the paths
that matter) run twice: once with the real modules through ansible-playbook (-c
local; the `ansible` package's collections, tripleo-ansible 6.0.0's modules from the
cached tree) and once with the ports (a small driver calling MODULES), each side in
its own private mount namespace (`unshare -m`) where /etc, /var/lib and /usr/lib
are overlays whose upper layers are the side's own directory: both sides start from
this machine's real files, change them for real, and nothing of it reaches the
machine. Results, set-up outputs and snapshots must agree step by step.

What is real and what is faked:
- cloud_init_data_facts: real files in /var/lib/cloud/data (written by the set-up).
- lvm2_physical_devices_facts: the real `lvs` (Debian's lvm2) on this machine, which
  has no volume group (no device-mapper here, so none can be active), and failing
  with a broken LVM_SYSTEM_DIR; fake `lvs`/`vgs` for active volume groups.
- modprobe: /proc/modules cannot exist here (no module support): in the namespace
  /proc is a tmpfs of links to the real proc plus a /proc/modules file of the
  scenario's; /usr/lib/modules/<release>/modules.builtin, /etc/modules-load.d and
  /etc/modprobe.d are real files. The real `modprobe` (kmod) for a module that does
  not exist; a fake `modprobe` that "loads" by editing /proc/modules otherwise.
- timezone: the real `timedatectl` fails here (no systemd), so the module's
  no-systemd way runs with the real `ln`, `cp` and `dpkg-reconfigure tzdata`, real
  /etc/timezone, /etc/localtime, /etc/default/rcS, /etc/adjtime, /etc/sysconfig/clock
  and tzdata's zone files; `hwclock` is faked (no RTC in a VM). The Red Hat way is
  run with dpkg-reconfigure hidden (/dev/null bound over it). The systemd way runs
  with a fake `timedatectl`.
- selinux: SELinux is disabled in this kernel. The real libselinux (Debian's
  python3-selinux, to which the module respawns; the port's probe loads
  libselinux.so.1) with real /etc/selinux/config files; a fake `selinux` Python
  binding on PYTHONPATH (both sides import it) for a kernel where SELinux is
  enabled; a fake `grubby`.
- tripleo_os_net_config: a fake `os-net-config` and `ip`; /sys/class/net is this
  machine's; /etc/os-net-config and /etc/udev/rules.d are real files.
Fakes record their calls in the side's fake.json, which the snapshots show.
"""

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from test_runtime_modules import ANSIBLE_PLAYBOOK, RECORD_CALLBACK
from test_runtime_ports import FAKE

# Its real side runs every case once per session (a session fixture): on one xdist worker only
pytestmark = pytest.mark.xdist_group("runtime_ports_host")

ROOT = Path(__file__).resolve().parent.parent
S = "@S@"  # the side's own directory (fakes, their state, scratch files)
BIN = S + "/bin"
FAKE_ENV = {"PATH": BIN + ":" + os.environ.get("PATH", "/usr/bin:/bin"), "FAKE_STATE": S + "/fake.json"}
RELEASE = platform.release()

# runs in the new mount namespace: overlays, the fake /proc/modules, hidden programs
NAMESPACE = r"""
set -e
S=$1; shift
for d in /etc /var/lib /var/cache /usr/lib; do
  mkdir -p "$S/upper$d" "$S/work$d"
  mount -t overlay overlay -o "lowerdir=$d,upperdir=$S/upper$d,workdir=$S/work$d" "$d"
done
if [ -f "$S/proc_modules" ]; then
  mkdir -p "$S/realproc"
  mount --bind /proc "$S/realproc"
  mount -t tmpfs tmproc /proc
  for e in "$S"/realproc/*; do ln -s "$e" "/proc/${e##*/}"; done
  cp "$S/proc_modules" /proc/modules
fi
if [ -f "$S/hide" ]; then
  while read -r p; do mount --bind /dev/null "$p"; done < "$S/hide"
fi
exec "$@"
"""

# prints what the listed paths hold: type, mode, content or link target
SNAP = r"""
import json, os, stat, sys
found = {}
for path in sys.argv[1:]:
    todo = [path]
    while todo:
        p = todo.pop()
        if not os.path.lexists(p):
            found[p] = None
            continue
        st = os.lstat(p)
        if stat.S_ISLNK(st.st_mode):
            found[p] = {"link": os.readlink(p)}
        elif stat.S_ISDIR(st.st_mode):
            found[p] = {"dir": oct(stat.S_IMODE(st.st_mode))}
            todo.extend(os.path.join(p, n) for n in sorted(os.listdir(p)))
        else:
            data = open(p, "rb").read()
            try:
                data = data.decode()
            except UnicodeDecodeError:
                data = "%d bytes" % len(data)
            found[p] = {"mode": oct(stat.S_IMODE(st.st_mode)), "uid": st.st_uid, "content": data}
print(json.dumps(found, indent=1, sort_keys=True))
"""

# the port side: runs the steps in the namespace, prints their results as JSON
DRIVER = r"""
import json, subprocess, sys, traceback
sys.path.insert(0, sys.argv[1])
import importlib, pkgutil
import migrator.runtime.modules as package
for info in pkgutil.iter_modules(package.__path__):
    importlib.import_module("migrator.runtime.modules." + info.name)
from migrator.runtime.api import MODULES, ModuleContext, ModuleFailed
steps = json.load(open(sys.argv[2]))
results = []
for step in steps:
    if step["kind"] == "sh":
        import os
        proc = subprocess.run(["/bin/sh", "-c", step["script"]], capture_output=True, text=True,
                              env=dict(os.environ, **step["env"]))
        results.append({"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr})
        continue
    ctx = ModuleContext(check_mode=step["check"], environment=step["env"])
    try:
        got = MODULES[step["module"]](step["args"], ctx)
    except ModuleFailed as ex:
        got = ex.result
    except Exception:
        got = {"failed": True, "msg": "escaped: " + traceback.format_exc()}
    if ctx.warnings:
        got["warnings"] = ctx.warnings
    results.append(got)
json.dump(results, open(sys.argv[3], "w"), default=str)
"""


def sh(script, env=None, ignore=()):
    return {"kind": "sh", "script": textwrap.dedent(script).strip() + "\n", "env": dict(env or {}),
            "ignore": list(ignore)}


def snap(*paths, then=None):
    """A snapshot of the paths (its output is compared), then the set-up script `then`."""
    script = "%s -c %s %s" % (sys.executable, _quote(SNAP), " ".join(paths))
    return sh(script + (" && " + textwrap.dedent(then).strip() if then else ""))


def fake_state(**state):
    """Set-up: the fakes' state file holds `state`."""
    return sh("printf '%%s' %s > %s/fake.json" % (_quote(json.dumps(state)), S))


def task(module, args, check=False, env=None, ignore=()):
    return {"kind": "task", "module": module, "args": args, "check": check, "env": dict(env or {}),
            "ignore": list(ignore)}


def _quote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


def scenario(id, steps, fakes=None, proc_modules=None, hide=(), files=None):
    """fakes: {name: body} fake programs in @S@/bin; proc_modules: the fake /proc/modules;
    hide: programs hidden in the namespace; files: {relative path: text} in @S@."""
    return pytest.param({"steps": steps, "fakes": dict(fakes or {}), "proc_modules": proc_modules,
                         "hide": list(hide), "files": dict(files or {})}, id=id)


def substitute(value, side_dir):
    return json.loads(json.dumps(value).replace(S, str(side_dir)))


def prepare(spec, side_dir):
    side_dir.mkdir(parents=True)
    (side_dir / "bin").mkdir()
    for name, body in spec["fakes"].items():
        tool = side_dir / "bin" / name
        tool.write_text(FAKE.format(python=sys.executable, body=textwrap.dedent(body)))
        tool.chmod(0o755)
    (side_dir / "fake.json").write_text("{}")
    for rel, text in spec["files"].items():
        path = side_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace(S, str(side_dir)))
    if spec["proc_modules"] is not None:
        (side_dir / "proc_modules").write_text(spec["proc_modules"])
    if spec["hide"]:
        (side_dir / "hide").write_text("".join(p + "\n" for p in spec["hide"]))
    (side_dir / "namespace.sh").write_text(NAMESPACE)


def in_namespace(side_dir, argv):
    return ["unshare", "-m", "--propagation", "private", "/bin/sh", str(side_dir / "namespace.sh"),
            str(side_dir)] + argv


def start_real(spec, side_dir, extra_env):
    tasks = []
    for index, step in enumerate(substitute(spec["steps"], side_dir)):
        name = "step#%d" % index
        if step["kind"] == "sh":
            entry = {"name": name, "ignore_errors": True, "ansible.builtin.shell": step["script"]}
        else:
            entry = {"name": name, "ignore_errors": True, "check_mode": step["check"], step["module"]: step["args"]}
        if step["env"]:
            entry["environment"] = step["env"]
        tasks.append(entry)
    playbook = side_dir / "playbook.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    (side_dir / "callbacks").mkdir()
    (side_dir / "callbacks" / "record.py").write_text(RECORD_CALLBACK)
    env = dict(os.environ)
    env.update(extra_env, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_STDOUT_CALLBACK="record",
               ANSIBLE_CALLBACK_PLUGINS=str(side_dir / "callbacks"), RECORD_FILE=str(side_dir / "record.json"),
               ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_PIPELINING="1",
               ANSIBLE_LOCAL_TEMP=str(side_dir / "ansible-tmp"), ANSIBLE_REMOTE_TEMP=str(side_dir / "ansible-tmp"))
    argv = [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local", str(playbook),
            "-e", "ansible_python_interpreter=" + sys.executable]
    return subprocess.Popen(in_namespace(side_dir, argv), env=env, cwd=side_dir,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def start_port(spec, side_dir):
    (side_dir / "steps.json").write_text(json.dumps(substitute(spec["steps"], side_dir)))
    (side_dir / "driver.py").write_text(DRIVER)
    argv = [sys.executable, str(side_dir / "driver.py"), str(ROOT), str(side_dir / "steps.json"),
            str(side_dir / "results.json")]
    return subprocess.Popen(in_namespace(side_dir, argv), cwd=side_dir, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def usable():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return "needs root and unshare (mount namespaces)"
    with tempfile.TemporaryDirectory() as scratch:
        probe = subprocess.run(["unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
                                "mkdir u w && mount -t overlay overlay -o lowerdir=/etc,upperdir=u,workdir=w /etc"],
                               cwd=scratch, capture_output=True)
    if probe.returncode != 0:
        return "needs overlay mounts in a mount namespace: %s" % probe.stderr.decode().strip()
    return None


# ---------------------------------------------------------------------------
# scenarios

CLOUD = "community.general.cloud_init_data_facts"
CLOUD_DATA = "/var/lib/cloud/data"
STATUS = json.dumps({"v1": {"datasource": "DataSourceNoCloud", "errors": [], "stage": None}})
RESULT = json.dumps({"v1": {"datasource": "DataSourceNoCloud", "errors": [],
                            "init": {"errors": [], "finished": 1522066377.0185432, "start": 1522066375.26}}})
CLOUD_STEPS = [
    sh("rm -rf %s" % CLOUD_DATA),
    task(CLOUD, {}),  # no cloud-init: empty facts
    task(CLOUD, {"filter": "status"}),
    sh("mkdir -p {d} && printf '%s' '{s}' > {d}/status.json && printf '%s' '{r}' > {d}/result.json".format(
        d=CLOUD_DATA, s=STATUS, r=RESULT)),
    task(CLOUD, {}),
    task(CLOUD, {"filter": "status"}),  # what tripleo's "Wait for cloud-init to finish" reads
    task(CLOUD, {"filter": "result"}, check=True),
    sh("printf '%s' '{\"v1\": {\"stage\": \"modules-config\"}}' > " + CLOUD_DATA + "/status.json"),
    task(CLOUD, {"filter": "status"}),
    sh(": > %s/result.json" % CLOUD_DATA),  # an empty file counts as missing
    task(CLOUD, {"filter": "result"}),
    task(CLOUD, {"filter": "nope"}),
    sh("echo '{not json' > %s/status.json" % CLOUD_DATA),
    task(CLOUD, {"filter": "status"}),
]

LVM = "lvm2_physical_devices_facts"
FAKE_LVM = {
    "lvs": '''
print(state.get("lvs_out", ""), end="")
if state.get("lvs_rc"):
    sys.stderr.write("  lvs failed\\n"); rc = state["lvs_rc"]
''',
    "vgs": '''
vg = sys.argv[-1]
print(state.get("vgs", {}).get(vg, ""), end="")
if vg in state.get("vgs_fail", []):
    sys.stderr.write("  Volume group \\"%s\\" not found\\n" % vg); rc = 5
''',
}


LVM_STEPS = [
    task(LVM, {}),  # the real lvs: no volume group here
    task(LVM, {}, check=True),
    task(LVM, {}, env={"LVM_SYSTEM_DIR": S + "/badlvm"}, ignore=("err",)),
    task(LVM, {"x": 1}),
    fake_state(lvs_out="  vg_data\n  vg_root\n  vg_data\n",
              vgs={"vg_root": "  /dev/sda2\n", "vg_data": "  /dev/sdb\n  /dev/sdc1\n  /dev/sda2\n"}),
    task(LVM, {}, env=FAKE_ENV),
    task(LVM, {}, env=FAKE_ENV, check=True),
    fake_state(lvs_out="\n"),
    task(LVM, {}, env=FAKE_ENV),
    fake_state(lvs_out="  vg_gone\n", vgs_fail=["vg_gone"]),
    task(LVM, {}, env=FAKE_ENV),
    fake_state(lvs_rc=3),
    task(LVM, {}, env=FAKE_ENV),
    snap(S + "/fake.json"),
]
LVM_FILES = {"badlvm/lvm.conf": "global {\n  this is not lvm.conf\n"}

MODPROBE = "community.general.modprobe"
FAKE_MODPROBE = {"modprobe": '''
args = [a for a in sys.argv[1:] if a not in ("-n", "--first-time")]
dry = "-n" in sys.argv
name = [a for a in args if not a.startswith("-")][0]
loaded = open("/proc/modules").read().splitlines()
if name in state.get("fails", []):
    print("some output"); sys.stderr.write("modprobe: ERROR: could not insert '%s': Operation not permitted\\n" % name); rc = 1
elif "--first-time" in sys.argv:
    sys.stderr.write("modprobe: ERROR: could not insert '%s': Module already in kernel\\n" % name); rc = 1
elif dry or name in state.get("noop", []):
    pass
elif "-r" in args:
    open("/proc/modules", "w").write("".join(l + "\\n" for l in loaded if not l.startswith(name.replace("-", "_") + " ")))
else:
    open("/proc/modules", "a").write("%s 16384 0 - Live 0x0\\n" % name.replace("-", "_"))
'''}
PROC_MODULES = "br_netfilter 32768 0 - Live 0x0\nip_tables 32768 0 - Live 0x0\n"
BUILTIN = "/usr/lib/modules/%s/modules.builtin" % RELEASE
MODPROBE_PATHS = ("/proc/modules", "/etc/modules-load.d", "/etc/modprobe.d", S + "/fake.json")
MODPROBE_STEPS = [
    # no modules.builtin: a module not in /proc/modules cannot be looked up
    task(MODPROBE, {"name": "dummy"}, env=FAKE_ENV, ignore=("exception",)),
    task(MODPROBE, {"name": "br_netfilter"}, env=FAKE_ENV),  # loaded: nothing to do
    sh("mkdir -p %s && printf 'kernel/net/ipv4/tcp_bbr.ko\\nkernel/drivers/block/loop.ko\\n' > %s" % (
        os.path.dirname(BUILTIN), BUILTIN)),
    task(MODPROBE, {"name": "loop"}, env=FAKE_ENV),  # built in
    task(MODPROBE, {"name": "dummy", "params": "numdummies=2"}, env=FAKE_ENV),
    task(MODPROBE, {"name": "dummy", "params": "numdummies=2"}, env=FAKE_ENV),
    task(MODPROBE, {"name": "vhost_net"}, env=FAKE_ENV, check=True),
    task(MODPROBE, {"name": "ip_tables", "state": "absent"}, env=FAKE_ENV, check=True),
    task(MODPROBE, {"name": "ip_tables", "state": "absent"}, env=FAKE_ENV),
    task(MODPROBE, {"name": "ip_tables", "state": "absent"}, env=FAKE_ENV),
    fake_state(noop=["nf_conntrack"], fails=["kvm-amd"]),
    task(MODPROBE, {"name": "nf_conntrack", "params": "hashsize=4096"}, env=FAKE_ENV),  # still not loaded: a warning
    task(MODPROBE, {"name": "kvm-amd"}, env=FAKE_ENV),
    task(MODPROBE, {"name": "br_netfilter", "state": "absent"}, env={"PATH": "/nowhere"}),  # the real modprobe
    # persistence
    snap(*MODPROBE_PATHS, then="rm -rf /etc/modules-load.d /etc/modprobe.d && "
         "mkdir /etc/modules-load.d /etc/modprobe.d && "
         "printf 'br_netfilter\\n# comment\\n' > /etc/modules-load.d/tripleo.conf && "
         "printf 'options dummy numdummies=1\\noptions dummy other=x # c\\nblacklist foo\\n' > /etc/modprobe.d/old.conf"),
    task(MODPROBE, {"name": "dummy", "params": "numdummies=2", "persistent": "present"}, env=FAKE_ENV, check=True),
    snap(*MODPROBE_PATHS),
    task(MODPROBE, {"name": "dummy", "params": "numdummies=2", "persistent": "present"}, env=FAKE_ENV),
    task(MODPROBE, {"name": "dummy", "params": "numdummies=2", "persistent": "present"}, env=FAKE_ENV),
    snap(*MODPROBE_PATHS),
    task(MODPROBE, {"name": "br_netfilter", "persistent": "present"}, env=FAKE_ENV),
    task(MODPROBE, {"name": "dummy", "state": "absent", "persistent": "absent"}, env=FAKE_ENV),
    task(MODPROBE, {"name": "br_netfilter", "state": "absent", "persistent": "absent"}, env=FAKE_ENV),
    snap(*MODPROBE_PATHS, then="rm -rf /etc/modules-load.d"),
    task(MODPROBE, {"name": "loop", "persistent": "present"}, env=FAKE_ENV,
         ignore=("msg", "module_stderr", "module_stdout", "exception")),
    task(MODPROBE, {"name": "loop", "state": "gone"}),
    task(MODPROBE, {"state": "present"}),
    # the real modprobe: no such module under /lib/modules
    task(MODPROBE, {"name": "tm_no_such_module"}),
    task(MODPROBE, {"name": "tm_no_such_module"}, check=True),
    snap(*MODPROBE_PATHS),
]

TIMEZONE = "community.general.timezone"
FAKE_HWCLOCK = {"hwclock": ""}
TZ_PATHS = ("/etc/timezone", "/etc/localtime", "/etc/default/rcS", "/etc/adjtime", "/etc/sysconfig/clock",
            S + "/fake.json")
TIMEZONE_DEBIAN_STEPS = [
    sh("ln -sf /usr/share/zoneinfo/Etc/UTC /etc/localtime && echo Etc/UTC > /etc/timezone && "
       "rm -f /etc/adjtime /etc/default/rcS"),
    task(TIMEZONE, {"name": "Etc/UTC"}, env=FAKE_ENV),
    task(TIMEZONE, {"name": "Europe/Paris"}, env=FAKE_ENV, check=True),
    snap(*TZ_PATHS),
    task(TIMEZONE, {"name": "Europe/Paris"}, env=FAKE_ENV),
    task(TIMEZONE, {"name": "Europe/Paris"}, env=FAKE_ENV),
    snap(*TZ_PATHS),
    task(TIMEZONE, {"name": "Mars/Olympus"}, env=FAKE_ENV),
    task(TIMEZONE, {"rtc": "local"}, env=FAKE_ENV),  # hwclock leaves /etc/adjtime at UTC: a failure
    sh("echo LOCAL > /etc/adjtime"),
    task(TIMEZONE, {"hwclock": "local", "name": "Asia/Tokyo"}, env=FAKE_ENV),
    task(TIMEZONE, {"hwclock": "UTC"}, env=FAKE_ENV),
    task(TIMEZONE, {"hwclock": "utc"}),
    task(TIMEZONE, {}),
    snap(*TZ_PATHS, then="rm /etc/timezone && ln -sf /nowhere/zone /etc/localtime"),
    task(TIMEZONE, {"name": "America/New_York"}, env=FAKE_ENV),
    snap(*TZ_PATHS),
]
TIMEZONE_REDHAT_STEPS = [
    sh("mkdir -p /etc/sysconfig && rm -f /etc/sysconfig/clock /etc/adjtime && "
       "ln -sf /usr/share/zoneinfo/Etc/UTC /etc/localtime"),
    task(TIMEZONE, {"name": "Europe/Paris"}, env=FAKE_ENV),  # no /etc/sysconfig/clock: ZONE= appended
    task(TIMEZONE, {"name": "Europe/Paris"}, env=FAKE_ENV),
    snap(*TZ_PATHS, then="printf '# clock\\nZONE=\"Europe/Paris\"\\nUTC=true\\nZONE=x\\n' > /etc/sysconfig/clock"),
    task(TIMEZONE, {"name": "Asia/Tokyo", "hwclock": "local"}, env=FAKE_ENV),
    snap(*TZ_PATHS, then="printf 'TIMEZONE=\"Europe/Berlin\"\\nUTC=no\\n' > /etc/sysconfig/clock && "
         "cp --remove-destination /usr/share/zoneinfo/Europe/Berlin /etc/localtime"),
    task(TIMEZONE, {"name": "Europe/Rome"}, env=FAKE_ENV, check=True),
    task(TIMEZONE, {"name": "Europe/Rome"}, env=FAKE_ENV),
    snap(*TZ_PATHS, then="rm /etc/sysconfig/clock && mkdir /etc/sysconfig/clock"),  # unreadable: not a file
    task(TIMEZONE, {"hwclock": "local"}, env=FAKE_ENV),
    snap(*TZ_PATHS),
]
FAKE_TIMEDATECTL = {"timedatectl": '''
args = sys.argv[1:]
tz = state.get("tz", "UTC")
rtc = state.get("rtc", "no")
if not args or args == ["status"]:
    print("               Local time: Wed 2026-12-02 06:00:00 %s" % tz)
    print("                Time zone: %s (%s, +0000)" % (tz, tz))
    print("          RTC in local TZ: %s" % rtc)
elif args[0] == "set-timezone" and not state.get("stuck"):
    if args[1] == "Europe/Vienna":
        sys.stderr.write("Failed to set time zone: Invalid or not installed time zone\\n"); rc = 1
    state["tz"] = args[1]
elif args[0] == "set-local-rtc" and not state.get("stuck"):
    state["rtc"] = args[1]
'''}
TIMEZONE_SYSTEMD_STEPS = [
    task(TIMEZONE, {"name": "UTC"}, env=FAKE_ENV),
    task(TIMEZONE, {"name": "Europe/Paris", "hwclock": "local"}, env=FAKE_ENV, check=True),
    task(TIMEZONE, {"name": "Europe/Paris", "hwclock": "local"}, env=FAKE_ENV),
    task(TIMEZONE, {"name": "Europe/Paris", "hwclock": "local"}, env=FAKE_ENV),
    task(TIMEZONE, {"hwclock": "UTC"}, env=FAKE_ENV),
    task(TIMEZONE, {"name": "Nowhere/Land"}, env=FAKE_ENV),
    task(TIMEZONE, {"name": "Europe/Vienna"}, env=FAKE_ENV),
    fake_state(stuck=True),
    task(TIMEZONE, {"name": "Asia/Tokyo", "hwclock": "local"}, env=FAKE_ENV),
    snap(S + "/fake.json"),
]

SELINUX = "ansible.posix.selinux"
SE_PATHS = ("/etc/selinux/config", S + "/other.conf", S + "/fake.json")
SE_CONFIG = "# This file controls the state of SELinux\nSELINUX=enforcing\n# SELINUXTYPE=mls\nSELINUXTYPE=targeted\n"
SELINUX_REAL_STEPS = [
    sh("rm -rf /etc/selinux/config /etc/selinux/targeted && mkdir -p /etc/selinux/targeted/policy && "
       "printf %s > /etc/selinux/config && chmod 0640 /etc/selinux/config" % _quote(SE_CONFIG)),
    task(SELINUX, {"policy": "targeted", "state": "enforcing"}),  # what tripleo sets: a reboot is needed
    task(SELINUX, {"policy": "targeted", "state": "permissive"}, check=True),
    task(SELINUX, {"policy": "targeted", "state": "permissive"}),
    task(SELINUX, {"policy": "targeted", "state": "permissive"}),
    snap(*SE_PATHS),
    task(SELINUX, {"policy": "mls", "state": "permissive"}),
    task(SELINUX, {"policy": "mls", "state": "permissive"}, check=True),
    task(SELINUX, {"state": "enforcing"}),
    task(SELINUX, {"state": "disabled"}),
    task(SELINUX, {"state": "disabled"}),
    # no SELINUXTYPE: libselinux's own default is the running policy
    snap(*SE_PATHS, then="printf 'SELINUX=permissive\\n' > /etc/selinux/config"),
    task(SELINUX, {"policy": "targeted", "state": "permissive"}),
    task(SELINUX, {"policy": "targeted", "state": "permissive"}),
    snap(*SE_PATHS, then="printf 'SELINUX=disabled\\n' > %s/other.conf" % S),
    task(SELINUX, {"policy": "targeted", "state": "enforcing", "configfile": S + "/other.conf"}),
    task(SELINUX, {"policy": "targeted", "state": "enforcing", "conf": S + "/nope.conf"}),
    task(SELINUX, {"state": "on"}),
    task(SELINUX, {"policy": "targeted"}),
    # grubby
    fake_state(grubby='kernel="/boot/vmlinuz-1"\nargs="ro quiet"\nkernel="/boot/vmlinuz-2"\nargs="ro selinux=0"\n'),
    task(SELINUX, {"policy": "targeted", "state": "enforcing", "update_kernel_param": True}, env=FAKE_ENV,
         check=True),
    task(SELINUX, {"policy": "targeted", "state": "enforcing", "update_kernel_param": True}, env=FAKE_ENV),
    task(SELINUX, {"policy": "targeted", "state": "enforcing", "update_kernel_param": True}, env=FAKE_ENV),
    task(SELINUX, {"state": "disabled", "update_kernel_param": True}, env=FAKE_ENV),
    fake_state(grubby_rc=1),
    task(SELINUX, {"state": "disabled", "update_kernel_param": True}, env=FAKE_ENV),
    task(SELINUX, {"state": "disabled", "update_kernel_param": True}, env=dict(FAKE_ENV, PATH="/nowhere")),
    snap(*SE_PATHS),
]
FAKE_GRUBBY = {"grubby": '''
if "--info=ALL" in sys.argv:
    print(state.get("grubby", ""), end="")
elif "--args" in sys.argv:
    state["grubby"] = state.get("grubby", "").replace('args="ro quiet"', 'args="ro quiet selinux=0"')
else:
    state["grubby"] = state.get("grubby", "").replace(" selinux=0", "")
rc = state.get("grubby_rc", 0)
'''}
# a Python binding for a kernel where SELinux is enabled; both sides import it (PYTHONPATH)
FAKE_BINDING = '''
import json, os
def _load():
    return json.load(open(os.environ["FAKE_STATE"]))
def is_selinux_enabled():
    return _load().get("enabled", 1)
def selinux_getpolicytype():
    return [0, _load().get("policy", "targeted")]
def security_getenforce():
    return _load().get("enforce", 1)
def security_setenforce(value):
    state = _load()
    state["enforce"] = value
    state.setdefault("calls", []).append(["security_setenforce", value])
    json.dump(state, open(os.environ["FAKE_STATE"], "w"), indent=1, sort_keys=True)
    return 0
'''
BINDING_ENV = dict(FAKE_ENV, PYTHONPATH=S + "/pylib")
SELINUX_BINDING_STEPS = [
    sh("mkdir -p /etc/selinux/targeted/policy && printf %s > /etc/selinux/config" % _quote(SE_CONFIG)),
    task(SELINUX, {"policy": "targeted", "state": "enforcing"}, env=BINDING_ENV),
    task(SELINUX, {"policy": "targeted", "state": "permissive"}, env=BINDING_ENV, check=True),
    task(SELINUX, {"policy": "targeted", "state": "permissive"}, env=BINDING_ENV),
    task(SELINUX, {"policy": "targeted", "state": "permissive"}, env=BINDING_ENV),
    task(SELINUX, {"policy": "targeted", "state": "enforcing"}, env=BINDING_ENV),
    task(SELINUX, {"state": "disabled"}, env=BINDING_ENV, check=True),
    task(SELINUX, {"state": "disabled"}, env=BINDING_ENV),
    task(SELINUX, {"state": "disabled"}, env=BINDING_ENV),
    fake_state(policy="mls", enforce=0),
    task(SELINUX, {"policy": "targeted", "state": "enforcing"}, env=BINDING_ENV, check=True),
    task(SELINUX, {"policy": "targeted", "state": "enforcing"}, env=BINDING_ENV),
    snap(*SE_PATHS),
]

NET_CONFIG = "tripleo_os_net_config"
FAKE_NET = {
    "os-net-config": 'print("applying %s" % " ".join(sys.argv[1:])); sys.stderr.write("warn\\r\\n"); '
                     'rc = state.get("rc", 0)',
    "ip": "",
}
NET_PATHS = ("/etc/os-net-config", "/etc/udev/rules.d/99-dhcp-all-interfaces.rules", S + "/fake.json")
NET_CONFIG_STEPS = [
    sh("rm -rf /etc/os-net-config && mkdir -p /etc/os-net-config /etc/udev/rules.d && "
       "echo 'network_config: []' > /etc/os-net-config/config.yaml && "
       "echo 'SUBSYSTEM==\"net\"' > /etc/udev/rules.d/99-dhcp-all-interfaces.rules"),
    task(NET_CONFIG, {}, env=FAKE_ENV),
    # what tripleo_network_config runs
    task(NET_CONFIG, {"config_file": "/etc/os-net-config/tripleo_config.yaml", "debug": False,
                      "detailed_exit_codes": True, "safe_defaults": False, "use_nmstate": False}, env=FAKE_ENV),
    task(NET_CONFIG, {"config_file": "/etc/os-net-config/tripleo_config.yaml", "debug": True, "cleanup": True,
                      "detailed_exit_codes": True, "use_nmstate": "yes"}, env=FAKE_ENV, check=True),
    fake_state(rc=2),
    task(NET_CONFIG, {"detailed_exit_codes": True}, env=FAKE_ENV, check=True),
    snap(*NET_PATHS, then="echo 'SUBSYSTEM==\"net\"' > /etc/udev/rules.d/99-dhcp-all-interfaces.rules"),
    task(NET_CONFIG, {"detailed_exit_codes": True}, env=FAKE_ENV),
    task(NET_CONFIG, {}, env=FAKE_ENV),  # 2 without detailed exit codes: a failure
    fake_state(rc=1),
    task(NET_CONFIG, {"detailed_exit_codes": True}, env=FAKE_ENV, check=True),
    task(NET_CONFIG, {"detailed_exit_codes": True, "safe_defaults": True, "debug": True}, env=FAKE_ENV),
    snap(*NET_PATHS, then="rm -rf /etc/os-net-config"),
    task(NET_CONFIG, {"safe_defaults": True}, env=FAKE_ENV, ignore=("msg", "module_stderr", "module_stdout")),
    task(NET_CONFIG, {"debug": "maybe"}, env=FAKE_ENV, ignore=("msg",)),  # Ansible lists a set
    snap(*NET_PATHS),
]

SCENARIOS = [
    scenario("cloud_init_data_facts", CLOUD_STEPS),
    scenario("lvm2_physical_devices_facts", LVM_STEPS, FAKE_LVM, files=LVM_FILES),
    scenario("modprobe", MODPROBE_STEPS, FAKE_MODPROBE, proc_modules=PROC_MODULES),
    scenario("timezone-debian", TIMEZONE_DEBIAN_STEPS, FAKE_HWCLOCK),
    scenario("timezone-redhat", TIMEZONE_REDHAT_STEPS, FAKE_HWCLOCK, hide=["/usr/sbin/dpkg-reconfigure"]),
    scenario("timezone-systemd", TIMEZONE_SYSTEMD_STEPS, FAKE_TIMEDATECTL),
    scenario("selinux-libselinux", SELINUX_REAL_STEPS, FAKE_GRUBBY),
    scenario("selinux-enabled", SELINUX_BINDING_STEPS, files={"pylib/selinux.py": FAKE_BINDING}),
    scenario("tripleo_os_net_config", NET_CONFIG_STEPS, FAKE_NET),
]
TEST = "test_port_matches_real_module_on_host["


@pytest.fixture(scope="session")
def host_runs(request, tmp_path_factory):
    """Both sides of every selected scenario, all started at once: {id: (real, port, spec)}."""
    from support.corpus import ansible_extras, tripleo_ansible_tree
    ids = {item.callspec.id for item in request.session.items if item.name.startswith(TEST)}
    chosen = [p for p in SCENARIOS if p.id in ids]
    plugins = tripleo_ansible_tree() / "ansible_plugins"
    library = tmp_path_factory.mktemp("library")
    for name in ("lvm2_physical_devices_facts.py", "tripleo_os_net_config.py"):
        text = (plugins / "modules" / name).read_text()
        if text.startswith("#!/usr/bin/env python"):  # see test_runtime_ports_more.more_runs
            text = "#!/usr/bin/python" + text[text.index("\n"):]
        (library / name).write_text(text)
    extra_env = {"ANSIBLE_COLLECTIONS_PATH": str(ansible_extras().collections_path),
                 "ANSIBLE_LIBRARY": str(library), "ANSIBLE_MODULE_UTILS": str(plugins / "module_utils")}
    started = {}
    for param in chosen:
        spec = param.values[0]
        base = tmp_path_factory.mktemp(param.id)
        real_dir, port_dir = base / "real", base / "port"
        prepare(spec, real_dir)
        prepare(spec, port_dir)
        started[param.id] = (spec, real_dir, start_real(spec, real_dir, extra_env),
                             port_dir, start_port(spec, port_dir))
    runs = {}
    for name, (spec, real_dir, real, port_dir, port) in started.items():
        real_out, port_out = real.communicate()[0], port.communicate()[0]
        record, results = real_dir / "record.json", port_dir / "results.json"
        assert record.exists(), real_out
        assert results.exists(), port_out
        recorded = json.loads(record.read_text())
        runs[name] = {"real": [recorded.get("step#%d" % i) for i in range(len(spec["steps"]))],
                      "port": json.loads(results.read_text()), "real_dir": real_dir, "port_dir": port_dir}
    return runs


DROPPED = ("invocation", "deprecations", "exception", "_ansible_no_log", "stdout_lines", "stderr_lines",
           "start", "end", "delta", "cmd", "_ansible_verbose_always", "_ansible_verbose_override")


def comparable(result, step, side_dir):
    result = json.loads(json.dumps(result).replace(str(side_dir), S))
    if step["kind"] == "sh":
        # ansible.builtin.shell drops the outputs' last newline
        return {"rc": result.get("rc"), "stdout": (result.get("stdout") or "").rstrip("\n"),
                "stderr": (result.get("stderr") or "").rstrip("\n")}
    kept = {k: v for k, v in result.items()
            if k not in DROPPED and k not in step["ignore"] and not k.startswith("_ansible")}
    kept.setdefault("changed", False)
    if kept.get("failed") is False:
        del kept["failed"]
    if kept.get("ansible_facts", {}).get("lvm2_active_pvs"):
        kept["ansible_facts"]["lvm2_active_pvs"] = sorted(kept["ansible_facts"]["lvm2_active_pvs"])
    return kept


@pytest.mark.skipif(usable() is not None, reason=str(usable()))
@pytest.mark.parametrize("spec", SCENARIOS)
def test_port_matches_real_module_on_host(spec, request, host_runs):
    ran = host_runs[request.node.callspec.id]
    assert len(ran["port"]) == len(spec["steps"])
    for index, step in enumerate(spec["steps"]):
        expected = ran["real"][index]
        assert expected is not None, "step %d did not run under ansible-playbook" % index
        expected = comparable(expected, step, ran["real_dir"])
        got = comparable(ran["port"][index], step, ran["port_dir"])
        what = step.get("module") or step["script"][:200]
        assert got == expected, "step %d: %s %s" % (index, what, json.dumps(step.get("args")))
