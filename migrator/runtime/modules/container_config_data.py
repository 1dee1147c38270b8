"""container_config_data (tripleo-ansible): the container configs (JSON files matching
config_pattern in config_path, keyed by file stem), with config_overrides applied.

As in the module, overrides apply to the first overridden container that has a
config only (the module stops at it).
"""

import glob
import json
import os

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_validate  # tm:strip

_CONTAINER_CONFIG_DATA_SPEC = {
    "config_path": {"type": "str", "required": True},
    "config_pattern": {"type": "str", "default": "*.json"},
    "config_overrides": {"type": "dict", "default": {}},
    "debug": {"type": "bool", "default": False},
}


@module("container_config_data", "ansible.legacy.container_config_data")
def container_config_data_module(params, ctx):
    p = common_validate("container_config_data", params, _CONTAINER_CONFIG_DATA_SPEC, ctx)
    path = p["config_path"]
    if not os.path.exists(path):
        return {"changed": False, "configs": {}}
    configs = {}
    for found in glob.glob(os.path.join(path, p["config_pattern"])):
        name = os.path.splitext(os.path.basename(found))[0]
        try:
            with open(found) as stream:
                text = stream.read()
            configs[name] = json.loads(text)
        except (OSError, ValueError) as ex:  # the module crashes
            raise ModuleFailed("Task failed: Module failed: %s" % ex) from ex
    for name, overrides in (p["config_overrides"] or {}).items():
        if name in configs:
            if not isinstance(overrides, dict):
                raise ModuleFailed("Task failed: Module failed: '%s' object has no attribute 'items'"
                                   % type(overrides).__name__)
            configs[name].update(overrides)
            break
    return {"changed": False, "configs": configs}
