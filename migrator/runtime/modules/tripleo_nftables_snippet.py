"""tripleo_nftables_snippet (tripleo-ansible): write a YAML firewall snippet (re-dumped
with yaml.dump, as the module does) or remove it."""

import os

import yaml

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_validate  # tm:strip

_NFTABLES_SNIPPET_SPEC = {
    "dest": {"type": "str", "required": True},
    "content": {"type": "str"},
    "state": {"type": "str", "default": "present"},
}


def _nftables_snippet_fail(msg, error=None):
    return ModuleFailed(msg, sucess=False, error=error if error is not None else msg, changed=False)


@module("tripleo_nftables_snippet", "ansible.legacy.tripleo_nftables_snippet")
def tripleo_nftables_snippet_module(params, ctx):
    p = common_validate("tripleo_nftables_snippet", params, _NFTABLES_SNIPPET_SPEC, ctx)
    if ctx.check_mode:
        return {"changed": False, "skipped": True,
                "msg": "remote module (tripleo_nftables_snippet) does not support check mode"}
    dest, content, state = p["dest"], p["content"], p["state"]
    if not os.path.isabs(dest):
        raise _nftables_snippet_fail('"dest" parameter must be an absolute path')
    if state == "present" and content is None:
        raise _nftables_snippet_fail("Missing required parameter: content")
    if not os.path.exists(os.path.dirname(dest)):
        raise _nftables_snippet_fail("Directory {} doesn't exist, please create it before trying to push "
                                     "files in there".format(os.path.dirname(dest)),
                                     "Destination directory does not exist")
    changed = False
    if state == "present":
        try:
            parsed = yaml.safe_load(content)
        except Exception as ex:
            raise _nftables_snippet_fail("Content doesn't look like a valid YAML.") from ex
        try:
            with open(dest, "w") as stream:
                yaml.dump(parsed, stream)
        except OSError as ex:  # the module crashes here
            raise ModuleFailed("Task failed: Module failed: %s" % ex) from ex
        changed = True
    elif os.path.exists(dest):
        try:
            os.remove(dest)
        except Exception as ex:
            raise _nftables_snippet_fail("Unable to remove {}".format(dest)) from ex
        changed = True
    return {"sucess": False, "error": "", "changed": changed, "success": True}
