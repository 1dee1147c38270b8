"""ansible.builtin.tempfile"""

import os
import tempfile

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_path_info, common_validate  # tm:strip

_TEMPFILE_SPEC = {
    "state": {"default": "file", "choices": ["file", "directory"]},
    "path": {"type": "path"},
    "prefix": {"default": "ansible."},
    "suffix": {"default": ""},
}


@module("ansible.builtin.tempfile", "ansible.legacy.tempfile")
def tempfile_module(params, ctx):
    p = common_validate("ansible.builtin.tempfile", params, _TEMPFILE_SPEC, ctx)
    if ctx.check_mode:
        # the module does not support check mode
        return {"changed": False, "skipped": True,
                "msg": "remote module (ansible.builtin.tempfile) does not support check mode"}
    prefix, suffix = p["prefix"], p["suffix"]
    if prefix and prefix != os.path.basename(prefix):
        raise ModuleFailed("prefix must be a valid file name component, got %r" % prefix)
    if suffix and suffix != os.path.basename(suffix):
        raise ModuleFailed("suffix must be a valid file name component, got %r" % suffix)
    try:
        if p["state"] == "file":
            handle, path = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=p["path"])
            os.close(handle)
        else:
            path = tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=p["path"])
    except Exception as ex:
        raise ModuleFailed(str(ex)) from ex
    return common_path_info({"changed": True, "path": path}, ctx)
