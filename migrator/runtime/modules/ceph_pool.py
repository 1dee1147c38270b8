"""ceph_pool (tripleo-ansible, from ceph-ansible): create, update, delete and list Ceph
pools with `ceph osd pool ...` as client.admin, inside the CEPH_CONTAINER_IMAGE container
when that is set.

Behaviour kept from the module:
- present: `osd pool stats` tells whether the pool exists. An existing pool is compared
  (pg_num, size, pg_autoscale_mode, target_size_ratio as strings, and the first
  application) and updated with `osd pool set` / application disable+enable; size on an
  erasure-coded pool and pg_num/pgp_num on an autoscaled pool are never updated. A new
  pool is created (then its application enabled): changed is true even when `create`
  failed, and rc is the application command's when there is one.
- list: the module passes its arguments one place off, so the command runs as
  `-n <pool name> -k client.admin` with `-f` and no format (the None it builds stays in
  the returned cmd; run_command leaves it out).
- absent: `osd pool rm <name> <name> --yes-i-really-really-mean-it` when the pool exists.
- a non-zero rc is returned, not failed (exit_json): the executor fails the task by rc.
- check mode: nothing runs; an empty command result.
"""

import datetime
import json

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.ceph_common import (  # tm:strip
    CEPH_COMMON_CHECK_RESULT, ceph_common_cmd, ceph_common_crash, ceph_common_exec, ceph_common_image,  # tm:strip
    ceph_common_result)  # tm:strip
from migrator.runtime.modules.common import common_validate  # tm:strip

_CEPH_POOL_SPEC = {
    "cluster": {"type": "str", "default": "ceph"},
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent", "list"]},
    "size": {"type": "str"},
    "min_size": {"type": "str"},
    "pg_num": {"type": "str"},
    "pgp_num": {"type": "str"},
    "pg_autoscale_mode": {"type": "str", "default": "on"},
    "target_size_ratio": {"type": "str"},
    "pool_type": {"type": "str", "default": "replicated"},
    "erasure_profile": {"type": "str", "default": "default"},
    "rule_name": {"type": "str", "default": "replicated_rule"},
    "expected_num_objects": {"type": "str", "default": "0"},
    "application": {"type": "str"},
}


def _ceph_pool_cmd(ctx, cluster, args, user, user_key, image):
    return ceph_common_cmd(ctx, ["osd", "pool"], args, user_key=user_key, cluster=cluster, user=user,
                           image=image)


def _ceph_pool_details(ctx, cluster, name, user, user_key, image):
    """get_pool_details(): the pool's `ls detail` entry plus target_size_ratio and application."""
    rc, cmd, out, err = ceph_common_exec(ctx, _ceph_pool_cmd(ctx, cluster, ["ls", "detail", "-f", "json"], user,
                                                             user_key, image))
    if rc == 0:
        out = [pool for pool in json.loads(out.strip()) if pool["pool_name"] == name][0]
    _, _, applications, _ = ceph_common_exec(ctx, _ceph_pool_cmd(
        ctx, cluster, ["application", "get", name, "-f", "json"], user, user_key, image))
    if "target_size_ratio" in out["options"].keys():
        out["target_size_ratio"] = out["options"]["target_size_ratio"]
    else:
        out["target_size_ratio"] = None
    application = list(json.loads(applications.strip()).keys())
    out["application"] = application[0] if application else ""
    return rc, cmd, out, err


def _ceph_pool_delta(wanted, running):
    """compare_pool_config()."""
    delta = {}
    for key in ("pg_num", "pg_placement_num", "size", "pg_autoscale_mode", "target_size_ratio"):
        if str(running[key]) != wanted[key]["value"] and wanted[key]["value"]:
            delta[key] = wanted[key]
    if running["application"] != wanted["application"]["value"] and wanted["application"]["value"]:
        new = wanted["application"]["value"]
        delta["application"] = {"new_application": new, "value": new, "old_application": running["application"]}
    return delta


def _ceph_pool_create_args(wanted):
    """create_pool()'s arguments to `osd pool`."""
    value = {key: entry["value"] for key, entry in wanted.items()}
    args = ["create", value["pool_name"], value["type"]]
    if value["pg_autoscale_mode"] != "on":
        args += ["--pg_num", value["pg_num"], "--pgp_num", value["pgp_num"]]
    elif value["target_size_ratio"]:
        args += ["--target_size_ratio", value["target_size_ratio"]]
    if value["type"] == "replicated":
        args += [value["crush_rule"], "--expected_num_objects", value["expected_num_objects"],
                 "--autoscale-mode", value["pg_autoscale_mode"]]
    if value["size"] and value["type"] == "replicated":
        args += ["--size", value["size"]]
    elif value["type"] == "erasure":
        args.append(value["erasure_profile"])
        if value["crush_rule"]:
            args.append(value["crush_rule"])
        args += ["--expected_num_objects", value["expected_num_objects"], "--autoscale-mode",
                 value["pg_autoscale_mode"]]
    return args


def _ceph_pool_update(ctx, cluster, name, user, user_key, delta, image):
    """update_pool(): one `osd pool set` per changed key, the application swapped; stops at a failure."""
    report = ""
    rc, cmd, out, err = 0, None, "", ""
    for key in delta:
        if key != "application":
            rc, cmd, out, err = ceph_common_exec(ctx, _ceph_pool_cmd(
                ctx, cluster, ["set", name, delta[key]["cli_set_opt"], delta[key]["value"]], user, user_key,
                image))
            if rc != 0:
                return rc, cmd, out, err
        else:
            for args in (["application", "disable", name, delta["application"]["old_application"],
                          "--yes-i-really-mean-it"],
                         ["application", "enable", name, delta["application"]["new_application"]]):
                rc, cmd, out, err = ceph_common_exec(ctx, _ceph_pool_cmd(ctx, cluster, args, user, user_key, image))
                if rc != 0:
                    return rc, cmd, out, err
        report = report + "\n" + "{} has been updated: {} is now {}".format(name, key, delta[key]["value"])
    return rc, cmd, report, err


@module("ceph_pool", "ansible.legacy.ceph_pool")
def ceph_pool_module(params, ctx):
    p = common_validate("ceph_pool", params, _CEPH_POOL_SPEC, ctx)
    try:
        return _ceph_pool_run(ctx, p)
    except ModuleFailed:
        raise
    except Exception as ex:  # the module's own crashes, and anything unforeseen
        raise ceph_common_crash(ex) from None


def _ceph_pool_run(ctx, p):
    cluster, name, state = p["cluster"], p["name"], p["state"]
    autoscale = p["pg_autoscale_mode"].lower()
    autoscale = "on" if autoscale in ("true", "on", "yes") else "off" if autoscale in ("false", "off", "no") \
        else "warn"
    pool_type = {"1": "replicated", "3": "erasure"}.get(p["pool_type"], p["pool_type"])
    rule_name = p["rule_name"] or ("replicated_rule" if pool_type == "replicated" else None)
    wanted = {
        "pool_name": {"value": name},
        "pg_num": {"value": p["pg_num"], "cli_set_opt": "pg_num"},
        "pgp_num": {"value": p["pgp_num"], "cli_set_opt": "pgp_num"},
        "pg_autoscale_mode": {"value": autoscale, "cli_set_opt": "pg_autoscale_mode"},
        "target_size_ratio": {"value": p["target_size_ratio"], "cli_set_opt": "target_size_ratio"},
        "application": {"value": p["application"]},
        "type": {"value": pool_type},
        "erasure_profile": {"value": p["erasure_profile"]},
        "crush_rule": {"value": rule_name, "cli_set_opt": "crush_rule"},
        "expected_num_objects": {"value": p["expected_num_objects"]},
        "size": {"value": p["size"], "cli_set_opt": "size"},
        "min_size": {"value": p["min_size"]},
    }
    if ctx.check_mode:
        return dict(CEPH_COMMON_CHECK_RESULT)
    startd = datetime.datetime.now()
    changed = False
    image = ceph_common_image(ctx)
    user = "client.admin"
    user_key = "/etc/ceph/%s.%s.keyring" % (cluster, user)
    stats = ["stats", name, "-f", "json"]
    if state == "present":
        rc, cmd, out, err = ceph_common_exec(ctx, _ceph_pool_cmd(ctx, cluster, stats, user, user_key, image))
        if rc == 0:
            details = _ceph_pool_details(ctx, cluster, name, user, user_key, image)[2]
            wanted["pg_placement_num"] = {"value": str(details["pg_placement_num"]), "cli_set_opt": "pgp_num"}
            delta = _ceph_pool_delta(wanted, details)
            if delta:
                keys = list(delta)
                if details["erasure_code_profile"] and "size" in keys:
                    del delta["size"]
                if details["pg_autoscale_mode"] == "on":
                    delta.pop("pg_num", None)
                    delta.pop("pgp_num", None)
                if not delta:
                    out = "Skipping pool {}.\nUpdating either 'size' on an erasure-coded pool or " \
                          "'pg_num'/'pgp_num' on a pg autoscaled pool is incompatible".format(name)
                else:
                    rc, cmd, out, err = _ceph_pool_update(ctx, cluster, name, user, user_key, delta, image)
                    if rc == 0:
                        changed = True
            else:
                out = "Pool {} already exists and there is nothing to update.".format(name)
        else:
            rc, cmd, out, err = ceph_common_exec(ctx, _ceph_pool_cmd(ctx, cluster, _ceph_pool_create_args(wanted),
                                                                     user, user_key, image))
            if wanted["application"]["value"]:
                rc = ceph_common_exec(ctx, _ceph_pool_cmd(
                    ctx, cluster, ["application", "enable", name, wanted["application"]["value"]], user, user_key,
                    image))[0]
            changed = True
    elif state == "list":
        # list_pools(cluster, name, user, user_key, details, ...) against its signature
        # (cluster, user, user_key, details, output_format, ...): everything one place off
        args = ["ls"] + (["detail"] if user_key else []) + ["-f", None]
        rc, cmd, out, err = ceph_common_exec(ctx, ceph_common_cmd(ctx, ["osd", "pool"], args, user_key=user,
                                                                  cluster=cluster, user=name, image=image))
        if rc != 0:
            out = "Couldn't list pool(s) present on the cluster"
    else:  # absent
        rc, cmd, out, err = ceph_common_exec(ctx, _ceph_pool_cmd(ctx, cluster, stats, user, user_key, image))
        if rc == 0:
            rc, cmd, out, err = ceph_common_exec(ctx, _ceph_pool_cmd(
                ctx, cluster, ["rm", name, name, "--yes-i-really-really-mean-it"], user, user_key, image))
            changed = True
        else:
            rc = 0
            out = "Skipped, since pool {} doesn't exist".format(name)
    return ceph_common_result(out, rc, cmd, err, startd, changed)
