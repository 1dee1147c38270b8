"""What the ceph module ports share: tripleo-ansible's module_utils/ca_common.py (from
ceph-ansible), i.e. building `ceph ...` command lines, wrapped in a `run` of the
CEPH_CONTAINER_IMAGE container by CEPH_CONTAINER_BINARY when that image is set, running
them and shaping the result the modules return.

The modules read CEPH_CONTAINER_* with os.getenv in their own process, which sees the
node's environment plus the task's `environment`: ceph_common_env does the same.
"""

import datetime
import os

from migrator.runtime.api import ModuleFailed  # tm:strip
from migrator.runtime.modules.common import common_run  # tm:strip

# what every ceph module returns in check mode (it changes nothing and runs nothing)
CEPH_COMMON_CHECK_RESULT = {"changed": False, "stdout": "", "stderr": "", "rc": 0,
                            "start": "", "end": "", "delta": ""}


def ceph_common_env(ctx, name):
    """os.getenv(name) in the module's process: the node's environment plus the task's."""
    if name in ctx.environment:
        return str(ctx.environment[name])
    return os.environ.get(name)


def ceph_common_image(ctx):
    """is_containerized(): the container image, or None."""
    return ceph_common_env(ctx, "CEPH_CONTAINER_IMAGE")


def ceph_common_container(ctx, binary, image, spec_path=None, interactive=False):
    """container_exec(): `<CEPH_CONTAINER_BINARY> run ... --entrypoint=<binary> <image>`."""
    cmd = [ceph_common_env(ctx, "CEPH_CONTAINER_BINARY"), "run"]
    if interactive:
        cmd.append("--interactive")
    cmd += ["--rm", "--net=host", "-v", "/etc/ceph:/etc/ceph:z", "-v", "/var/lib/ceph/:/var/lib/ceph/:z",
            "-v", "/var/log/ceph/:/var/log/ceph/:z"]
    if spec_path:
        cmd += ["-v", "%s:%s:z" % (spec_path, spec_path)]
    return cmd + ["--entrypoint=" + binary, image]


def ceph_common_prefix(ctx, image=None, interactive=False, spec_path=None):
    """pre_generate_ceph_cmd(): how `ceph` is started."""
    if image:
        return ceph_common_container(ctx, "ceph", image, spec_path=spec_path, interactive=interactive)
    return ["ceph"]


def ceph_common_cmd(ctx, sub_cmd, args, user_key=None, cluster="ceph", user="client.admin", image=None,
                    interactive=False, spec_path=None):
    """generate_ceph_cmd(): `ceph -n <user> -k <keyring> --cluster <cluster> <sub_cmd> <args>`."""
    if not user_key:
        user_key = "/etc/ceph/%s.%s.keyring" % (cluster, user)
    cmd = ceph_common_prefix(ctx, image=image, interactive=interactive, spec_path=spec_path)
    return cmd + ["-n", user, "-k", user_key, "--cluster", cluster] + list(sub_cmd) + list(args)


def ceph_common_exec(ctx, cmd, stdin=None):
    """exec_command(): (rc, cmd, stdout, stderr); stdin goes as it is (no newline added).

    cmd is returned as built (a None in it stays there); run_command leaves None out.
    """
    argv = [arg.decode() if isinstance(arg, bytes) else arg for arg in cmd]
    rc, out, err = common_run(ctx, argv, data=stdin, binary_data=bool(stdin))
    return rc, cmd, out, err


def ceph_common_result(out, rc, cmd, err, startd, changed=False):
    """exit_module(): the result every ceph module ends with."""
    endd = datetime.datetime.now()
    return {"cmd": cmd, "start": str(startd), "end": str(endd), "delta": str(endd - startd), "rc": rc,
            "stdout": out.rstrip("\r\n"), "stderr": err.rstrip("\r\n"), "changed": changed}


def ceph_common_crash(ex):
    """An exception escaping the module: Ansible reports it as a module failure."""
    return ModuleFailed("Task failed: Module failed: %s" % ex, exception="%s: %s" % (type(ex).__name__, ex))

