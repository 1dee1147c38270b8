"""ceph_fs (tripleo-ansible, from ceph-ansible): create, delete and show a Ceph file system
with `ceph fs ...` as client.admin, inside the CEPH_CONTAINER_IMAGE container when that is
set.

Behaviour kept from the module: its options have no type, so they are strings; max_mds is
thus never equal to the int in `fs get`'s mdsmap (an existing file system gets `fs set
max_mds` on every run that gives max_mds), and creating a file system with max_mds
crashes after `fs new` comparing a string with 1. absent runs `fs fail` (result unused)
then `fs rm`. A non-zero rc is returned, not failed (exit_json): the executor fails the
task by rc. Check mode runs nothing.
"""

import datetime
import json

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.ceph_common import (  # tm:strip
    CEPH_COMMON_CHECK_RESULT, ceph_common_cmd, ceph_common_crash, ceph_common_exec, ceph_common_image,  # tm:strip
    ceph_common_result)  # tm:strip
from migrator.runtime.modules.common import common_validate  # tm:strip

_CEPH_FS_SPEC = {
    "cluster": {"default": "ceph"},
    "name": {"required": True},
    "state": {"default": "present", "choices": ["present", "absent", "info"]},
    "data": {},
    "metadata": {},
    "max_mds": {},
}


def _ceph_fs_cmd(ctx, p, args, image):
    return ceph_common_cmd(ctx, ["fs"], args, cluster=p["cluster"], image=image)


@module("ceph_fs", "ansible.legacy.ceph_fs")
def ceph_fs_module(params, ctx):
    p = common_validate("ceph_fs", params, _CEPH_FS_SPEC, ctx,
                        required_if=[["state", "present", ["data", "metadata"]]])
    if ctx.check_mode:
        return dict(CEPH_COMMON_CHECK_RESULT)
    try:
        return _ceph_fs_run(ctx, p)
    except ModuleFailed:
        raise
    except Exception as ex:  # the module's own crashes, and anything unforeseen
        raise ceph_common_crash(ex) from None


def _ceph_fs_run(ctx, p):
    name, state, max_mds = p["name"], p["state"], p["max_mds"]
    startd = datetime.datetime.now()
    changed = False
    image = ceph_common_image(ctx)
    get = ["get", name, "--format=json"]
    set_max_mds = ["set", name, "max_mds", str(max_mds)]
    if state == "present":
        rc, cmd, out, err = ceph_common_exec(ctx, _ceph_fs_cmd(ctx, p, get, image))
        if rc == 0:
            fs = json.loads(out)
            if max_mds and fs["mdsmap"]["max_mds"] != max_mds:
                rc, cmd, out, err = ceph_common_exec(ctx, _ceph_fs_cmd(ctx, p, set_max_mds, image))
                if rc == 0:
                    changed = True
        else:
            rc, cmd, out, err = ceph_common_exec(ctx, _ceph_fs_cmd(
                ctx, p, ["new", name, p["metadata"], p["data"]], image))
            if max_mds and max_mds > 1:  # a str against an int: TypeError, as in the module
                ceph_common_exec(ctx, _ceph_fs_cmd(ctx, p, set_max_mds, image))
            if rc == 0:
                changed = True
    elif state == "absent":
        rc, cmd, out, err = ceph_common_exec(ctx, _ceph_fs_cmd(ctx, p, get, image))
        if rc == 0:
            ceph_common_exec(ctx, _ceph_fs_cmd(ctx, p, ["fail", name], image))
            rc, cmd, out, err = ceph_common_exec(ctx, _ceph_fs_cmd(ctx, p, ["rm", name, "--yes-i-really-mean-it"],
                                                                   image))
            if rc == 0:
                changed = True
        else:
            rc = 0
            out = "Ceph File System {} doesn't exist".format(name)
    else:  # info
        rc, cmd, out, err = ceph_common_exec(ctx, _ceph_fs_cmd(ctx, p, get, image))
    return ceph_common_result(out, rc, cmd, err, startd, changed)
