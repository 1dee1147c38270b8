"""ceph_crush_rule (tripleo-ansible, from ceph-ansible): create, delete and show CRUSH rules
with `ceph osd crush rule ...` as client.admin, inside the CEPH_CONTAINER_IMAGE container
when that is set.

Behaviour kept from the module: present creates the rule when `rule dump` fails (changed
even when the create fails; the rc then fails the task) and leaves an existing rule alone
unless it is of the other type (failure "Can not convert crush rule ..."); absent removes
it when it exists; info returns `rule dump`'s output; a non-zero rc is returned, not
failed (exit_json): the executor fails the task by rc; check mode runs nothing.
"""

import datetime
import json

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.ceph_common import (  # tm:strip
    CEPH_COMMON_CHECK_RESULT, ceph_common_cmd, ceph_common_crash, ceph_common_exec, ceph_common_image,  # tm:strip
    ceph_common_result)  # tm:strip
from migrator.runtime.modules.common import common_validate  # tm:strip

_CEPH_CRUSH_RULE_SPEC = {
    "name": {"type": "str", "required": True},
    "cluster": {"type": "str", "default": "ceph"},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent", "info"]},
    "rule_type": {"type": "str", "choices": ["replicated", "erasure"]},
    "bucket_root": {"type": "str"},
    "bucket_type": {"type": "str", "choices": ["osd", "host", "chassis", "rack", "row", "pdu", "pod", "room",
                                              "datacenter", "zone", "region", "root"]},
    "device_class": {"type": "str"},
    "profile": {"type": "str"},
}


def _ceph_crush_rule_cmd(ctx, p, args, image):
    return ceph_common_cmd(ctx, ["osd", "crush", "rule"], args, cluster=p["cluster"], image=image)


@module("ceph_crush_rule", "ansible.legacy.ceph_crush_rule")
def ceph_crush_rule_module(params, ctx):
    p = common_validate("ceph_crush_rule", params, _CEPH_CRUSH_RULE_SPEC, ctx, required_if=[
        ["state", "present", ["rule_type"]],
        ["rule_type", "replicated", ["bucket_root", "bucket_type"]],
        ["rule_type", "erasure", ["profile"]]])
    if ctx.check_mode:
        return dict(CEPH_COMMON_CHECK_RESULT)
    try:
        return _ceph_crush_rule_run(ctx, p)
    except ModuleFailed:
        raise
    except Exception as ex:  # the module's own crashes, and anything unforeseen
        raise ceph_common_crash(ex) from None


def _ceph_crush_rule_run(ctx, p):
    name, state, rule_type = p["name"], p["state"], p["rule_type"]
    startd = datetime.datetime.now()
    changed = False
    image = ceph_common_image(ctx)
    dump = ["dump", name, "--format=json"]
    if state == "present":
        rc, cmd, out, err = ceph_common_exec(ctx, _ceph_crush_rule_cmd(ctx, p, dump, image))
        if rc != 0:
            if rule_type == "replicated":
                args = ["create-replicated", name, p["bucket_root"], p["bucket_type"]]
                if p["device_class"]:
                    args.append(p["device_class"])
            else:
                args = ["create-erasure", name]
                if p["profile"]:
                    args.append(p["profile"])
            rc, cmd, out, err = ceph_common_exec(ctx, _ceph_crush_rule_cmd(ctx, p, args, image))
            changed = True
        else:
            rule = json.loads(out)
            if (rule["type"] == 1 and rule_type == "erasure") or (rule["type"] == 3 and rule_type == "replicated"):
                raise ModuleFailed("Can not convert crush rule {} to {}".format(name, rule_type), changed=False,
                                   rc=1)
    elif state == "absent":
        rc, cmd, out, err = ceph_common_exec(ctx, _ceph_crush_rule_cmd(ctx, p, dump, image))
        if rc == 0:
            rc, cmd, out, err = ceph_common_exec(ctx, _ceph_crush_rule_cmd(ctx, p, ["rm", name], image))
            changed = True
        else:
            rc = 0
            out = "Crush Rule {} doesn't exist".format(name)
    else:  # info
        rc, cmd, out, err = ceph_common_exec(ctx, _ceph_crush_rule_cmd(ctx, p, dump, image))
    return ceph_common_result(out, rc, cmd, err, startd, changed)
