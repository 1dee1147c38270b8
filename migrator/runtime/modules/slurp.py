"""ansible.builtin.slurp"""

import base64
import errno

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_validate  # tm:strip

_SLURP_SPEC = {"src": {"type": "path", "required": True, "aliases": ["path"]}}


@module("ansible.builtin.slurp", "ansible.legacy.slurp")
def slurp_module(params, ctx):
    source = common_validate("ansible.builtin.slurp", params, _SLURP_SPEC, ctx)["src"]
    try:
        with open(source, "rb") as stream:
            data = base64.b64encode(stream.read()).decode()
    except OSError as ex:
        if ex.errno == errno.ENOENT:
            msg = "File not found: %s" % source
        elif ex.errno == errno.EACCES:
            msg = "File is not readable: %s" % source
        elif ex.errno == errno.EISDIR:
            msg = "Source is a directory and must be a file: %s" % source
        else:
            msg = "Unable to slurp file: {source}"  # sic: the module forgot the f-string
        raise ModuleFailed(msg) from ex
    return {"changed": False, "content": data, "source": source, "encoding": "base64"}
