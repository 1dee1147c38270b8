"""containers.podman.podman_container_info, as in containers.podman 1.20 (podman CLI)."""

import json
import os
import time

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_bin_path, common_run, common_validate  # tm:strip

_PODMAN_CONTAINER_INFO_SPEC = {
    "executable": {"type": "str", "default": "podman"},
    "name": {"type": "list", "elements": "str"},
}


def podman_container_info_executable(name, ctx):
    """get_bin_path(executable, required=True), absolute paths taken as they are."""
    if os.path.isabs(name) and os.path.isfile(name) and os.access(name, os.X_OK):
        return name
    return common_bin_path(name, ctx, required=True)


def _podman_container_info_cycle(ctx, executable, names):
    inspection, stderrs = [], []
    for container in names:
        rc, out, err = common_run(ctx, [executable, "container", "inspect", container])
        if rc != 0 and "no such " not in err:
            raise ModuleFailed("Unable to gather info for %s: %s" % (container, err))
        if rc == 0 and out:
            found = json.loads(out)
            if found:
                inspection += found
        stderrs.append(err)
    return inspection, "", "\n".join(stderrs)


def _podman_container_info_facts(ctx, executable, names):
    if not names:
        command = [executable, "container", "ls", "-q", "-a"]
        rc, out, err = common_run(ctx, command)
        retry = 0
        while rc != 0 and retry <= 4:  # podman's listing can fail transiently (podman#10225)
            time.sleep(1)
            retry += 1
            rc, out, err = common_run(ctx, command)
        if rc != 0:
            raise ModuleFailed("Unable to get list of containers during 4 retries")
        names = out.split()
        if not names:
            return [], out, err
    rc, out, err = common_run(ctx, [executable, "container", "inspect"] + list(names))
    if rc == 0:
        found = json.loads(out) if out else None
        return (found, out, err) if found is not None else ([], out, err)
    if "no such " in err:
        if len(names) < 2:
            return [], out, err
        return _podman_container_info_cycle(ctx, executable, names)
    raise ModuleFailed("Unable to gather info for %s: %s" % (",".join(names), err))


@module("containers.podman.podman_container_info")
def podman_container_info_module(params, ctx):
    p = common_validate("containers.podman.podman_container_info", params,
                        _PODMAN_CONTAINER_INFO_SPEC, ctx)
    executable = podman_container_info_executable(p["executable"], ctx)
    containers, _, err = _podman_container_info_facts(ctx, executable, p["name"])
    return {"changed": False, "containers": containers, "stderr": err}
