"""tripleo_diff_exec (tripleo-ansible): run a shell command when state_file differs from
the copy kept beside it (state_file + state_file_suffix) after the last successful run."""

import filecmp
import os
import shutil
import traceback

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_validate  # tm:strip

_DIFF_EXEC_SPEC = {
    "command": {"type": "str", "required": True},
    "environment": {"type": "dict", "default": {}},
    "return_codes": {"type": "list", "default": [0]},
    "state_file": {"type": "str", "required": True},
    "state_file_suffix": {"type": "str", "default": "-tripleo_diff_exec"},
}


@module("tripleo_diff_exec", "ansible.legacy.tripleo_diff_exec")
def tripleo_diff_exec_module(params, ctx):
    p = common_validate("tripleo_diff_exec", params, _DIFF_EXEC_SPEC, ctx)
    if ctx.check_mode:
        return {"changed": False, "skipped": True,
                "msg": "remote module (tripleo_diff_exec) does not support check mode"}
    command, state_file = p["command"], p["state_file"]
    backup = state_file + p["state_file_suffix"]
    if not os.path.exists(state_file):
        raise ModuleFailed("State file does not exist: %s" % state_file, error="Missing state file")
    if os.path.exists(backup) and filecmp.cmp(state_file, backup, shallow=False):
        return {"changed": False}
    try:
        rc, out, err = ctx.run(command, shell=True, env=p["environment"])
        if rc in p["return_codes"]:
            shutil.copy2(state_file, backup)
            return {"changed": True}
        raise ModuleFailed("Error running %s. rc: %s, stdout: %s, stderr: %s" % (command, rc, out, err),
                           error="Failed running command")
    except ModuleFailed:
        raise
    except Exception as ex:
        raise ModuleFailed("Unhandled exception: %s" % ex, error=traceback.format_exc()) from ex
