"""tripleo_nftables_from_files (tripleo-ansible): the firewall rules of every YAML file in
`src`, in one list sorted by rule_name."""

import os

import yaml

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_validate  # tm:strip

_NFTABLES_FROM_FILES_SPEC = {"src": {"type": "str", "required": True}}


@module("tripleo_nftables_from_files", "ansible.legacy.tripleo_nftables_from_files")
def tripleo_nftables_from_files_module(params, ctx):
    source = common_validate("tripleo_nftables_from_files", params, _NFTABLES_FROM_FILES_SPEC, ctx)["src"]
    if ctx.check_mode:
        return {"changed": False, "skipped": True,
                "msg": "remote module (tripleo_nftables_from_files) does not support check mode"}
    if not os.path.exists(source):
        error = "Missing directory on host: {}".format(source)
        raise ModuleFailed(error, sucess=False, error=error)
    rules = []
    try:
        for name in os.listdir(source):
            path = os.path.join(source, name)
            with open(path) as stream:
                try:
                    parsed = yaml.safe_load(stream)
                except Exception as ex:
                    error = "Unable to parse {}".format(path)
                    raise ModuleFailed(error, sucess=False, error=error) from ex
            rules.extend(parsed)
        rules = sorted(rules, key=lambda rule: rule["rule_name"])
    except ModuleFailed:
        raise
    except Exception as ex:  # the module crashes: None from an empty file, a rule without rule_name
        raise ModuleFailed("Task failed: Module failed: %s" % (
            "'%s'" % ex.args[0] if isinstance(ex, KeyError) else ex)) from ex
    return {"changed": False, "sucess": False, "error": "", "rules": rules, "success": True}
