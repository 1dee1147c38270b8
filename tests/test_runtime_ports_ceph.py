"""The ceph module ports against tripleo-ansible's own modules (ceph_key, ceph_pool,
ceph_crush_rule, ceph_fs, ceph_dashboard_user), in tests/test_runtime_ports_more.py's style.

Real: the modules themselves and their module_utils (ca_common), from the cached
tripleo-ansible 6.0.0 tree (ANSIBLE_LIBRARY, ANSIBLE_MODULE_UTILS), run by ansible-core's
ansible-playbook -c local; the file attributes the ports set (mode, owner, group).

Faked: `ceph`, `ceph-authtool` and `podman` (the container binary of
CEPH_CONTAINER_BINARY, which runs the entrypoint's fake). They are one small emulator of
a cluster kept in the case's fake.json: CephX keys (auth get/get-or-create/import/del/ls,
keyring files written where a command says, inside the case's tree only), pools (stats,
ls [detail], create, set, rm, application get/enable/disable), CRUSH rules (dump,
create-replicated/-erasure, rm), file systems (get, new, set max_mds, fail, rm) and
dashboard users (ac-user-show/-create/-set-roles/-set-password/-delete, passwords read
from stdin). Every call is recorded with its arguments; a case's `fail` map makes
commands starting with a prefix fail with a given rc and message. Both sides start from
the same fake.json, so they must issue the same commands, in the same order, to end
with the same tree. A CephX secret the module generates is random: the fakes and the
comparison show one as @GENERATED@ once it is checked to have the CephX layout.
"""

import base64
import json
import re
import struct
import sys
import textwrap
import time

import pytest
from test_runtime_modules import DIR, D, Context
from test_runtime_ports import FAKE, compared, normalise, substitute
from test_runtime_ports_more import NO_URL, environment, prepare, run_playbook, snapshot
from test_runtime_ports_more import case as base_case

from migrator.runtime.api import MODULES, ModuleFailed
from migrator.runtime.modules import (  # noqa: F401  (importing registers the ports)
    ceph_crush_rule, ceph_dashboard_user, ceph_fs, ceph_key, ceph_pool)

# Its real side runs every case once per session (a session fixture): on one xdist worker only
pytestmark = pytest.mark.xdist_group("runtime_ports_ceph")

CEPH_EMULATOR = r'''
import base64, struct, time
args = sys.argv[1:]
prog = os.path.basename(sys.argv[0])
home = os.path.dirname(os.path.abspath(state_file))
if prog == "podman":  # run [--interactive] --rm --net=host -v a:b ... --entrypoint=<prog> <image> <args>
    i = 1
    while i < len(args) and not args[i].startswith("--entrypoint="):
        i += 2 if args[i] == "-v" else 1
    prog = args[i].split("=", 1)[1] if i < len(args) else "?"
    args = args[i + 2:]
db = state.setdefault("cluster", {})
out, err = [], []


def reply(value):
    out.append(value if isinstance(value, str) else json.dumps(value, sort_keys=True))


def opt(flag, within=None):
    within = args if within is None else within
    return within[within.index(flag) + 1] if flag in within and within.index(flag) + 1 < len(within) else None


def keyring(name, entry):
    lines = ["[%s]" % name, "\tkey = %s" % entry["key"]]
    return "\n".join(lines + ['\tcaps %s = "%s"' % item for item in sorted(entry["caps"].items())]) + "\n"


def write(path, text):
    if os.path.abspath(path).startswith(home + "/"):
        with open(path, "w") as stream:
            stream.write(text)
    else:
        state.setdefault("not_written", []).append(path)


def generated(secret):
    try:
        raw = base64.b64decode(secret, validate=True)
        kind, created, zero, size = struct.unpack("<hiih", raw[:12])
        return (kind, zero, size, len(raw)) == (1, 0, 16, 28) and abs(created - time.time()) < 3600
    except Exception:
        return False


def pairs(tokens):
    return dict(zip(tokens[0::2], tokens[1::2]))


if prog == "ceph-authtool":
    secret = opt("--add-key")
    if generated(secret):
        state["calls"][-1] = ["@GENERATED@" if a == secret else a for a in state["calls"][-1]]
        secret = "@GENERATED@"
    caps = {args[i + 1]: args[i + 2] for i, a in enumerate(args) if a == "--cap"}
    write(opt("--create-keyring"), keyring(opt("--name"), {"key": secret, "caps": caps}))
    reply("creating " + opt("--create-keyring"))
elif prog == "ceph":
    while args[:1] and args[0] in ("-n", "-k", "--cluster"):
        args = args[2:]
    line = " ".join(args)
    failing = [f for f in sorted(state.get("fail", {})) if line.startswith(f)]
    if failing:
        rc, message = state["fail"][failing[0]]
        err.append(message)
    elif args[:1] == ["auth"]:
        auth = db.setdefault("auth", {})
        verb, name = args[1], (args[2:3] or [None])[0]
        if verb in ("get", "del") and name not in auth:
            if verb == "get":
                rc = 2
                err.append("Error ENOENT: failed to find %s in keyring" % name)
            else:
                err.append("entity %s does not exist" % name)
        elif verb == "get":
            if "-o" in args:
                write(opt("-o"), keyring(name, auth[name]))
                err.append("exported keyring for %s" % name)
            elif opt("-f") == "json":
                reply([{"entity": name, "key": auth[name]["key"], "caps": auth[name]["caps"]}])
            else:
                reply(keyring(name, auth[name]).rstrip("\n"))
        elif verb == "del":
            del auth[name]
            err.append("updated")
        elif verb == "get-or-create":
            caps = pairs(args[3:args.index("-o")] if "-o" in args else args[3:])
            if name not in auth:
                auth[name] = {"key": "AQFAKE-" + name, "caps": caps}
            elif auth[name]["caps"] != caps:
                rc = 22
                err.append("Error EINVAL: key for %s exists but cap mon does not match" % name)
            if rc == 0 and "-o" in args:
                write(opt("-o"), keyring(name, auth[name]))
        elif verb == "import":
            path = opt("-i")
            if not os.path.isfile(path):
                rc = 2
                err.append("can't open %s: (2) No such file or directory" % path)
            else:
                entity = None
                for text in open(path).read().splitlines():
                    text = text.strip()
                    if text.startswith("["):
                        entity = text[1:-1]
                        auth[entity] = {"key": "", "caps": {}}
                    elif text.startswith("key = "):
                        auth[entity]["key"] = text[len("key = "):]
                    elif text.startswith("caps "):
                        kind, _, cap = text[len("caps "):].partition(" = ")
                        auth[entity]["caps"][kind] = cap.strip('"')
                err.append("imported keyring")
        elif verb == "ls":
            reply({"auth_dump": [dict(entity=n, **auth[n]) for n in sorted(auth)]})
        else:
            rc = 22
            err.append("unknown auth command")
    elif args[:2] == ["osd", "pool"]:
        pools = db.setdefault("pools", {})
        sub = args[2:]
        name = (sub[2:3] if sub[:1] == ["application"] else sub[1:2] or [None])[0]
        if sub and sub[-1] == "-f":
            rc = 2
            err.append("ceph: error: argument -f/--format: expected one argument")
        elif sub[0] == "ls":
            reply([pools[n] for n in sorted(pools)] if "detail" in sub else sorted(pools))
        elif sub[0] == "create":
            kind = sub[2]
            options, positional, rest = {}, [], sub[3:]
            while rest:
                if rest[0].startswith("--"):
                    options[rest[0]], rest = (rest[1:2] or ["--"])[0], rest[2:]
                else:
                    positional, rest = positional + [rest[0]], rest[1:]
            bad = [flag for flag, value in options.items() if value.startswith("--")]
            if bad:
                rc = 22
                err.append("Error EINVAL: invalid value for %s" % bad[0])
            elif name in pools:
                err.append("pool '%s' already exists" % name)
            else:
                pg_num = int(options.get("--pg_num") or 32)
                pools[name] = {
                    "pool_name": name, "pool_id": len(pools) + 1, "type": 1 if kind == "replicated" else 3,
                    "size": int(options.get("--size") or 3), "min_size": 2, "pg_num": pg_num,
                    "pg_placement_num": int(options.get("--pgp_num") or pg_num),
                    "crush_rule": positional[-1] if kind == "replicated" or len(positional) > 1 else "erasure",
                    "pg_autoscale_mode": options.get("--autoscale-mode", "on"),
                    "erasure_code_profile": positional[0] if kind == "erasure" else "",
                    "options": ({"target_size_ratio": float(options["--target_size_ratio"])}
                                if "--target_size_ratio" in options else {}),
                    "application_metadata": {}}
                err.append("pool '%s' created" % name)
        elif name not in pools:
            rc = 2
            err.append("Error ENOENT: unrecognized pool '%s'" % name)
        elif sub[0] == "stats":
            reply([{"pool_name": name, "pool_id": pools[name]["pool_id"], "recovery": {}, "recovery_rate": {},
                    "client_io_rate": {}}])
        elif sub[:2] == ["application", "get"]:
            reply(pools[name]["application_metadata"])
        elif sub[:2] == ["application", "enable"]:
            pools[name]["application_metadata"][sub[3]] = {}
            err.append("enabled application '%s' on pool '%s'" % (sub[3], name))
        elif sub[:2] == ["application", "disable"]:
            pools[name]["application_metadata"].pop(sub[3], None)
            err.append("disable application '%s' on pool '%s'" % (sub[3], name))
        elif sub[0] == "set":
            key, value = sub[2], sub[3]
            pool = pools[name]
            if key == "target_size_ratio":
                pool["options"]["target_size_ratio"] = float(value)
            elif key in ("pg_num", "size"):
                pool[key] = int(value)
            elif key == "pgp_num":
                pool["pg_placement_num"] = int(value)
            else:
                pool[key] = value
            err.append("set pool %d %s to %s" % (pool["pool_id"], key, value))
        elif sub[0] == "rm":
            del pools[name]
            err.append("pool '%s' removed" % name)
        else:
            rc = 22
            err.append("unknown pool command")
    elif args[:3] == ["osd", "crush", "rule"]:
        rules = db.setdefault("rules", {})
        sub = args[3:]
        name = sub[1]
        if sub[0] == "dump":
            if name in rules:
                reply(rules[name])
            else:
                rc = 2
                err.append("Error ENOENT: unknown crush rule '%s'" % name)
        elif sub[0].startswith("create-"):
            if name not in rules:
                rule_id = max([r["rule_id"] for r in rules.values()] + [-1]) + 1
                if sub[0] == "create-replicated":
                    root = sub[2] + ("~" + sub[4] if len(sub) > 4 else "")
                    steps = [{"op": "take", "item_name": root},
                             {"op": "chooseleaf_firstn", "num": 0, "type": sub[3]}, {"op": "emit"}]
                    rules[name] = {"rule_id": rule_id, "rule_name": name, "type": 1, "steps": steps}
                else:
                    rules[name] = {"rule_id": rule_id, "rule_name": name, "type": 3,
                                   "profile": (sub[2:3] or ["default"])[0]}
            else:
                err.append("rule %s already exists" % name)
        elif sub[0] == "rm":
            rules.pop(name, None)
    elif args[:1] == ["fs"]:
        fss = db.setdefault("fs", {})
        pools = db.setdefault("pools", {})
        name = args[2]
        if args[1] == "new":
            if args[3] not in pools or args[4] not in pools:
                rc = 2
                err.append("Error ENOENT: pool '%s' does not exist" % (args[3] if args[3] not in pools else args[4]))
            elif name in fss:
                err.append("filesystem '%s' already exists" % name)
            else:
                fss[name] = {"mdsmap": {"fs_name": name, "max_mds": 1, "metadata_pool": args[3],
                                        "data_pools": [args[4]], "joinable": True}, "id": len(fss) + 1}
                err.append("new fs with metadata pool %s and data pool %s" % (args[3], args[4]))
        elif name not in fss:
            rc = 2
            err.append("Error ENOENT: filesystem '%s' not found" % name)
        elif args[1] == "get":
            reply(fss[name])
        elif args[1] == "set":
            fss[name]["mdsmap"][args[3]] = int(args[4])
        elif args[1] == "fail":
            fss[name]["mdsmap"]["joinable"] = False
            err.append("%s marked not joinable; MDS cannot join the cluster. All MDS ranks marked failed." % name)
        elif args[1] == "rm":
            del fss[name]
    elif args[:1] == ["dashboard"]:
        users = db.setdefault("dashboard", {})
        verb = args[1]
        name = args[-1] if "-i" in args else args[2]
        password = sys.stdin.read() if opt("-i") == "-" else None
        if verb == "ac-user-create":
            if name in users:
                rc = 17
                err.append("Error EEXIST: User '%s' already exists" % name)
            else:
                users[name] = {"username": name, "password": password, "roles": [], "enabled": True}
                reply(users[name])
        elif name not in users:
            rc = 2
            err.append("Error ENOENT: User '%s' does not exist" % name)
        elif verb == "ac-user-show":
            reply(users[name])
        elif verb == "ac-user-set-roles":
            users[name]["roles"] = args[3:]
            reply(users[name])
        elif verb == "ac-user-set-password":
            users[name]["password"] = password
            reply(users[name])
        elif verb == "ac-user-delete":
            del users[name]
            err.append("User '%s' deleted" % name)
    else:
        rc = 22
        err.append("no valid command found")
else:
    rc = 127
    err.append("fake: unknown program %s" % prog)
if out:
    print("\n".join(out))
if err:
    sys.stderr.write("\n".join(err) + "\n")
'''
FAKE_PROGRAMS = ("ceph", "ceph-authtool", "podman")
CONTAINER = {"CEPH_CONTAINER_IMAGE": "quay.io/ceph/ceph:v17", "CEPH_CONTAINER_BINARY": "podman"}
TIMES = ("start", "end", "delta")
BY_RC = ("failed", "msg")  # exit_json with rc != 0: ansible-core adds failed and a msg; the TASK core adds failed


def case(id, module, args, tree=None, check=False, cluster=None, fail=None, env=None, ignore=()):
    """cluster: the fake cluster's initial state; fail: {command prefix: [rc, stderr]}."""
    fake = {"cluster": cluster or {}}
    if fail:
        fake["fail"] = fail
    return base_case(id, module, args, tree, check=check, fake=fake, env=env, ignore=TIMES + tuple(ignore))


def cephx(*caps):
    return dict(zip(caps[0::2], caps[1::2]))


KEY = "ceph_key"
GLANCE_CAPS = cephx("mgr", "allow *", "mon", "profile rbd", "osd", "profile rbd pool=images")
GLANCE = {"name": "client.glance", "caps": GLANCE_CAPS, "secret": "", "cluster": "ceph", "dest": D + "/etc",
          "mode": "0600", "owner": "167", "group": "167", "import_key": True}  # keys.yaml
FIXED = "AQBJHJ9kAAAAABAAXz5q9rKz2fU3m7tV0m6vYw=="
ETC = {"etc": DIR}
AUTH = {"auth": {"client.glance": {"key": FIXED, "caps": GLANCE_CAPS},
                 "client.bootstrap-rgw": {"key": "AQBOOT", "caps": cephx("mon", "allow profile bootstrap-rgw")}}}
INITIAL = {"auth": {name: {"key": "AQ" + name, "caps": cephx("mon", "allow *")} for name in (
    "client.admin", "client.bootstrap-mds", "client.bootstrap-mgr", "client.bootstrap-osd", "client.bootstrap-rbd",
    "client.bootstrap-rbd-mirror", "client.bootstrap-rgw", "mon.")}}
KEY_CASES = [
    case("key-create-import-container", KEY, [GLANCE] * 2, ETC, env=CONTAINER),
    case("key-given-secret-then-caps", KEY, [dict(GLANCE, secret=FIXED)] * 2 + [
        dict(GLANCE, secret=FIXED, caps=cephx("mon", "profile rbd"))], ETC),
    case("key-exists-fetched", KEY, dict(GLANCE, mode="0640"), ETC, cluster=AUTH),
    case("key-exists-other-secret", KEY, dict(GLANCE, secret="AQBotherotherotherotherotherotherother=="), ETC,
         cluster=AUTH),
    case("key-exists-file-mode", KEY, GLANCE, {"etc/ceph.client.glance.keyring": {"content": "old\n",
                                                                                 "mode": 0o644}},
         cluster=AUTH),
    case("key-other-user", KEY, [{"name": "client.rgw.x", "caps": cephx("mon", "allow rw", "osd", "allow rwx"),
                                  "user": "client.bootstrap-rgw", "dest": D + "/etc/rgw.keyring",
                                  "user_key": D + "/etc/boot.keyring"}] * 2, ETC, cluster=AUTH),
    case("key-bootstrap-dest", KEY, {"name": "client.bootstrap-osd", "caps": cephx("mon", "allow profile"),
                                     "dest": D + "/bootstrap-osd", "secret": FIXED}, {"bootstrap-osd": DIR}),
    case("key-update-container", KEY, [dict(GLANCE, state="update", caps=cephx("mon", "allow r"))] * 2, ETC,
         cluster=AUTH, env=CONTAINER),
    case("key-present-plain-crashes", KEY, dict(GLANCE, output_format="plain"), ETC, cluster=AUTH),
    case("key-no-caps", KEY, {"name": "client.nope", "dest": D + "/etc"}, ETC),
    case("key-no-import", KEY, [{"name": "client.local", "caps": cephx("mon", "allow r"), "import_key": False,
                                 "dest": D + "/etc/local.keyring"}] * 2 + [
        {"name": "client.local", "import_key": False, "dest": D + "/etc/local.keyring"}], ETC),
    case("key-create-fails", KEY, GLANCE, ETC, fail={"auth import": [1, "Error EACCES: access denied"]}),
    case("key-fetch-fails", KEY, GLANCE, ETC, cluster=AUTH, fail={"auth get client.glance -o": [13, "denied"]},
         ignore=BY_RC),
    case("key-info-json", KEY, {"name": "client.glance", "cluster": "ceph", "state": "info"}, cluster=AUTH,
         env=CONTAINER),  # export.yaml
    case("key-info-plain", KEY, {"name": "client.bootstrap-rgw", "cluster": "ceph", "output_format": "plain",
                                 "state": "info"}, cluster=AUTH, env=CONTAINER),  # nfs.yaml
    case("key-info-missing", KEY, {"name": "client.nope", "state": "info"}, cluster=AUTH),
    case("key-list", KEY, {"name": "x", "state": "list", "cluster": "ceph2"}, cluster=AUTH),
    case("key-list-fails", KEY, {"name": "x", "state": "list"}, fail={"auth ls": [110, "timed out"]}),
    case("key-absent", KEY, {"name": "client.glance", "state": "absent"}, cluster=AUTH),
    case("key-generate-secret", KEY, {"name": "x", "state": "generate_secret"}),
    case("key-fetch-initial", KEY, {"name": "x", "state": "fetch_initial_keys"}, cluster=INITIAL),
    case("key-fetch-initial-missing", KEY, {"name": "x", "state": "fetch_initial_keys"}, cluster=AUTH),
    case("key-fetch-initial-ls-fails", KEY, {"name": "x", "state": "fetch_initial_keys"},
         fail={"auth ls": [1, "no mon keyring"]}),
    case("key-bad-state", KEY, {"name": "x", "state": "gone"}),
    case("key-check", KEY, GLANCE, ETC, check=True),
]

POOL = "ceph_pool"
VOLUMES = {"name": "volumes", "cluster": "ceph", "pool_type": "replicated", "application": "rbd"}  # pools.yaml
POOLS = {"pools": {"vms": {
    "pool_name": "vms", "pool_id": 1, "type": 1, "size": 3, "min_size": 2, "pg_num": 32, "pg_placement_num": 32,
    "crush_rule": "replicated_rule", "pg_autoscale_mode": "on", "erasure_code_profile": "", "options": {},
    "application_metadata": {"cephfs": {}}}, "ec": {
    "pool_name": "ec", "pool_id": 2, "type": 3, "size": 4, "min_size": 3, "pg_num": 16, "pg_placement_num": 16,
    "crush_rule": "ec", "pg_autoscale_mode": "off", "erasure_code_profile": "myprofile",
    "options": {"target_size_ratio": 0.1}, "application_metadata": {}}}}
POOL_CASES = [
    case("pool-create-container", POOL, [VOLUMES] * 2, env=CONTAINER),
    case("pool-create-pgs", POOL, [dict(VOLUMES, pg_num=16, pgp_num=16, size=2, min_size=1,
                                        pg_autoscale_mode=False, target_size_ratio="0.2")] * 2),
    case("pool-create-ratio", POOL, dict(VOLUMES, target_size_ratio=0.3, pg_autoscale_mode="on",
                                         rule_name="fast")),
    case("pool-create-erasure", POOL, {"name": "ecp", "pool_type": "erasure", "erasure_profile": "myprofile",
                                       "rule_name": "", "expected_num_objects": 100}),
    case("pool-create-odd-values", POOL, {"name": "p", "pool_type": "1", "pg_autoscale_mode": "maybe"},
         ignore=BY_RC),
    case("pool-update", POOL, [{"name": "vms", "size": 2, "application": "rbd", "target_size_ratio": "0.2",
                                "pg_num": 64}] * 2, cluster=POOLS),
    case("pool-update-erasure", POOL, [{"name": "ec", "size": 5, "pg_num": 32, "pg_autoscale_mode": "off"}] * 2,
         cluster=POOLS),
    case("pool-autoscaled-skip", POOL, {"name": "vms", "pg_num": 64, "pgp_num": 64}, cluster=POOLS),
    case("pool-update-fails", POOL, {"name": "vms", "size": 2}, cluster=POOLS,
         fail={"osd pool set vms size": [34, "Error ERANGE: pool size must be between 1 and 10"]},
         ignore=BY_RC),
    case("pool-create-fails", POOL, VOLUMES, fail={"osd pool create": [2, "Error ENOENT: rule missing"]},
         ignore=BY_RC),
    case("pool-details-fail", POOL, {"name": "vms", "size": 2}, cluster=POOLS,
         fail={"osd pool ls": [1, "timed out"]}),
    case("pool-absent", POOL, [{"name": "vms", "state": "absent"}] * 2, cluster=POOLS),
    case("pool-list", POOL, {"name": "vms", "state": "list"}, cluster=POOLS, ignore=BY_RC),
    case("pool-bad-state", POOL, {"name": "vms", "state": "info"}),
    case("pool-check", POOL, VOLUMES, check=True),
]

RULE = "ceph_crush_rule"
HDD = {"name": "HDD", "cluster": "ceph", "rule_type": "replicated", "bucket_root": "default",
       "bucket_type": "host", "device_class": "hdd"}  # crush_rules.yaml
RULES = {"rules": {"replicated_rule": {"rule_id": 0, "rule_name": "replicated_rule", "type": 1, "steps": []},
                   "ec": {"rule_id": 1, "rule_name": "ec", "type": 3, "steps": []}}}
RULE_CASES = [
    case("crush-create-container", RULE, [HDD] * 2 + [{"name": "HDD", "state": "info"}], env=CONTAINER),
    case("crush-create-no-class", RULE, {"name": "r", "rule_type": "replicated", "bucket_root": "default",
                                         "bucket_type": "rack"}),
    case("crush-create-erasure", RULE, {"name": "e", "rule_type": "erasure", "profile": "myprofile"}),
    case("crush-info", RULE, {"name": "replicated_rule", "cluster": "ceph", "state": "info"}, cluster=RULES,
         env=CONTAINER),
    case("crush-info-missing", RULE, {"name": "nope", "state": "info"}, cluster=RULES, ignore=BY_RC),
    case("crush-convert", RULE, {"name": "ec", "rule_type": "replicated", "bucket_root": "default",
                                 "bucket_type": "host"}, cluster=RULES),
    case("crush-create-fails", RULE, HDD, fail={"osd crush rule create": [22, "Error EINVAL: bad class"]},
         ignore=BY_RC),
    case("crush-absent", RULE, [{"name": "ec", "state": "absent"}] * 2, cluster=RULES),
    case("crush-no-rule-type", RULE, {"name": "x"}),
    case("crush-bad-bucket-type", RULE, dict(HDD, bucket_type="shelf")),
    case("crush-check", RULE, HDD, check=True),
]

FS = "ceph_fs"
FS_POOLS = {"pools": {"manila_data": {}, "manila_metadata": {}}}
CEPHFS = {"name": "cephfs", "cluster": "ceph", "data": "manila_data", "metadata": "manila_metadata"}  # mds.yaml
FS_EXISTS = dict(FS_POOLS, fs={"cephfs": {"mdsmap": {"fs_name": "cephfs", "max_mds": 1}, "id": 1}})
FS_CASES = [
    case("fs-create-container", FS, [CEPHFS] * 2 + [{"name": "cephfs", "state": "info"}], cluster=FS_POOLS,
         env=CONTAINER),
    case("fs-max-mds", FS, [dict(CEPHFS, max_mds=2)] * 2, cluster=FS_EXISTS),
    case("fs-create-max-mds", FS, dict(CEPHFS, max_mds=2), cluster=FS_POOLS),
    case("fs-create-no-pool", FS, dict(CEPHFS, data="nope"), cluster=FS_POOLS, ignore=BY_RC),
    case("fs-absent", FS, [{"name": "cephfs", "state": "absent"}] * 2, cluster=FS_EXISTS),
    case("fs-info-missing", FS, {"name": "cephfs", "state": "info"}, ignore=BY_RC),
    case("fs-no-pools-given", FS, {"name": "cephfs"}),
    case("fs-check", FS, CEPHFS, check=True),
]

DASH = "ceph_dashboard_user"
ADMIN = {"name": "admin", "cluster": "ceph", "password": "s3cret", "roles": ["administrator"]}  # dashboard.yaml
USERS = {"dashboard": {"admin": {"username": "admin", "password": "old", "roles": ["read-only"],
                                 "enabled": True}}}
DASH_CASES = [
    case("dash-create-container", DASH, [ADMIN] * 2 + [{"name": "admin", "state": "info"}], env=CONTAINER),
    case("dash-roles", DASH, [dict(ADMIN, roles=["read-only", "pool-manager"])] * 2, cluster=USERS),
    case("dash-roles-change", DASH, ADMIN, cluster=USERS),
    case("dash-create-fails", DASH, ADMIN, fail={"dashboard ac-user-create": [22, "Error EINVAL: weak password"]},
         ignore=BY_RC),
    case("dash-absent", DASH, [{"name": "admin", "state": "absent"}] * 2, cluster=USERS),
    case("dash-no-password", DASH, {"name": "admin"}),
    case("dash-bad-role", DASH, dict(ADMIN, roles=["root"])),
    case("dash-check", DASH, ADMIN, check=True),
]

CASES = KEY_CASES + POOL_CASES + RULE_CASES + FS_CASES + DASH_CASES
TEST = "test_ceph_port_matches_real_module["
GENERATED = re.compile(r"AQ[A-Za-z0-9+/]{36}==")


def is_generated(secret):
    raw = base64.b64decode(secret)
    kind, created, zero, size = struct.unpack("<hiih", raw[:12])
    return (kind, zero, size, len(raw)) == (1, 0, 16, 28) and abs(created - time.time()) < 3600


def secrets(value):
    """A generated CephX secret, checked for its layout, as @GENERATED@."""
    if isinstance(value, str):
        return GENERATED.sub(lambda m: "@GENERATED@" if is_generated(m.group(0)) else m.group(0), value)
    if isinstance(value, list):
        return [secrets(item) for item in value]
    if isinstance(value, dict):
        return {key: secrets(item) for key, item in value.items()}
    return value


@pytest.fixture(scope="session")
def ceph_fakes(tmp_path_factory):
    directory = tmp_path_factory.mktemp("ceph-fakes")
    for name in FAKE_PROGRAMS:
        tool = directory / name
        tool.write_text(FAKE.format(python=sys.executable, body=textwrap.dedent(CEPH_EMULATOR)))
        tool.chmod(0o755)
    return directory


@pytest.fixture(scope="session")
def ceph_runs(request, tmp_path_factory, ceph_fakes):
    """What the real modules did, per selected case: {id: {"results", "dir", "tree"}}."""
    from support.corpus import tripleo_ansible_tree
    ids = {item.callspec.id for item in request.session.items if item.name.startswith(TEST)}
    chosen = [p for p in CASES if p.id in ids]
    plugins = tripleo_ansible_tree() / "ansible_plugins"
    library = tmp_path_factory.mktemp("ceph-library")
    for module in (plugins / "modules").glob("ceph_*.py"):
        text = module.read_text()
        if text.startswith("#!/usr/bin/env python"):  # see test_runtime_ports_more.more_runs
            text = "#!/usr/bin/python" + text[text.index("\n"):]
        (library / module.name).write_text(text)
    extra_env = {"ANSIBLE_LIBRARY": str(library), "ANSIBLE_MODULE_UTILS": str(plugins / "module_utils")}
    parts = 4
    started = []
    for chunk in (chosen[index::parts] for index in range(parts)):
        if chunk:
            root = tmp_path_factory.mktemp("ceph-real")
            started.append((chunk, root) + run_playbook(chunk, root, ceph_fakes, extra_env))
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
def test_ceph_port_matches_real_module(spec, request, ceph_runs, ceph_fakes, tmp_path):
    ran = ceph_runs[request.node.callspec.id]
    case_dir = tmp_path / "case"
    prepare(spec, case_dir)
    ctx = Context(check_mode=spec["check"], environment=environment(spec, case_dir, ceph_fakes))
    for index, args in enumerate(spec["steps"]):
        ctx.warnings = []
        try:
            got = MODULES[spec["module"]](substitute(args, case_dir, NO_URL, ceph_fakes), ctx)
        except ModuleFailed as ex:
            got = ex.result
        got = secrets(normalise(compared(dict(got), spec["ignore"]), case_dir, NO_URL))
        expected = secrets(normalise(compared(ran["results"][index], spec["ignore"]), ran["dir"], NO_URL))
        got.setdefault("changed", False)
        expected.setdefault("changed", False)
        assert got == expected, "step %d" % index
    assert snapshot(case_dir) == ran["tree"]


def test_ceph_ports_registered():
    for name in ("ceph_key", "ceph_pool", "ceph_crush_rule", "ceph_fs", "ceph_dashboard_user"):
        assert MODULES[name] is MODULES["ansible.legacy." + name]
