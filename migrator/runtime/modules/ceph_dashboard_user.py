"""ceph_dashboard_user (tripleo-ansible, from ceph-ansible): manage a Ceph Dashboard user
with `ceph dashboard ac-user-...` as client.admin, inside the CEPH_CONTAINER_IMAGE
container (`run --interactive` where the password goes on stdin) when that is set.

Behaviour kept from the module: present sets the roles when they differ (sorted) and then
always sets the password again (changed only by the roles); a new user is created with
the password on stdin, then given its roles; absent deletes an existing user; info
returns `ac-user-show`'s output. A non-zero rc is returned, not failed (exit_json): the
executor fails the task by rc. Check mode runs nothing. The password option is not
no_log in the module either (Ansible warns about it).
"""

import datetime
import json

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.ceph_common import (  # tm:strip
    CEPH_COMMON_CHECK_RESULT, ceph_common_cmd, ceph_common_crash, ceph_common_exec, ceph_common_image,  # tm:strip
    ceph_common_result)  # tm:strip
from migrator.runtime.modules.common import common_validate  # tm:strip

_CEPH_DASHBOARD_USER_SPEC = {
    "cluster": {"type": "str", "default": "ceph"},
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent", "info"]},
    "password": {"type": "str"},
    "roles": {"type": "list", "default": [],
              "choices": ["administrator", "read-only", "block-manager", "rgw-manager", "cluster-manager",
                          "pool-manager", "cephfs-manager"]},
}


def _ceph_dashboard_user_cmd(ctx, p, args, image, interactive=False):
    return ceph_common_cmd(ctx, ["dashboard"], args, cluster=p["cluster"], image=image, interactive=interactive)


@module("ceph_dashboard_user", "ansible.legacy.ceph_dashboard_user")
def ceph_dashboard_user_module(params, ctx):
    p = common_validate("ceph_dashboard_user", params, _CEPH_DASHBOARD_USER_SPEC, ctx,
                        required_if=[["state", "present", ["password"]]])
    # AnsibleModule warns about every option named like a password that is not no_log, set or not
    ctx.warn("Module did not set no_log for password")
    if ctx.check_mode:
        return dict(CEPH_COMMON_CHECK_RESULT)
    try:
        return _ceph_dashboard_user_run(ctx, p)
    except ModuleFailed:
        raise
    except Exception as ex:  # the module's own crashes, and anything unforeseen
        raise ceph_common_crash(ex) from None


def _ceph_dashboard_user_run(ctx, p):
    name, state, roles, password = p["name"], p["state"], p["roles"], p["password"]
    startd = datetime.datetime.now()
    changed = False
    image = ceph_common_image(ctx)
    show = ["ac-user-show", name, "--format=json"]
    set_roles = ["ac-user-set-roles", name] + roles
    if state == "present":
        rc, cmd, out, err = ceph_common_exec(ctx, _ceph_dashboard_user_cmd(ctx, p, show, image))
        if rc == 0:
            user = json.loads(out)
            user["roles"].sort()
            roles.sort()
            if user["roles"] != roles:
                rc, cmd, out, err = ceph_common_exec(ctx, _ceph_dashboard_user_cmd(
                    ctx, p, ["ac-user-set-roles", name] + roles, image))
                changed = True
            rc, cmd, out, err = ceph_common_exec(ctx, _ceph_dashboard_user_cmd(
                ctx, p, ["ac-user-set-password", "-i", "-", name], image, interactive=True), stdin=password)
        else:
            rc, cmd, out, err = ceph_common_exec(ctx, _ceph_dashboard_user_cmd(
                ctx, p, ["ac-user-create", "-i", "-", name], image, interactive=True), stdin=password)
            rc, cmd, out, err = ceph_common_exec(ctx, _ceph_dashboard_user_cmd(ctx, p, set_roles, image))
            changed = True
    elif state == "absent":
        rc, cmd, out, err = ceph_common_exec(ctx, _ceph_dashboard_user_cmd(ctx, p, show, image))
        if rc == 0:
            rc, cmd, out, err = ceph_common_exec(ctx, _ceph_dashboard_user_cmd(ctx, p, ["ac-user-delete", name],
                                                                               image))
            changed = True
        else:
            rc = 0
            out = "Dashboard User {} doesn't exist".format(name)
    else:  # info
        rc, cmd, out, err = ceph_common_exec(ctx, _ceph_dashboard_user_cmd(ctx, p, show, image))
    return ceph_common_result(out, rc, cmd, err, startd, changed)
