"""ansible.builtin.ping: the node answers with `data` (the runtime is the proof it can run)."""

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_validate  # tm:strip

_PING_SPEC = {"data": {"type": "str", "default": "pong"}}


@module("ansible.builtin.ping", "ansible.legacy.ping")
def ping_module(params, ctx):
    data = common_validate("ansible.builtin.ping", params, _PING_SPEC, ctx)["data"]
    if data == "crash":
        # the module raises Exception("boom"): Ansible reports a module failure
        raise ModuleFailed("Task failed: Module failed: boom", exception="Exception: boom")
    return {"changed": False, "ping": data}
