"""community.general.cloud_init_data_facts, as in community.general 11.x.

Reads cloud-init's result.json and status.json from /var/lib/cloud/data (the
module's fixed path), both or the one `filter` names; a missing file gives {}.
The facts come back twice, as ansible_facts and at the top of the result.
"""

import json
import os
import traceback

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_validate  # tm:strip

CLOUD_INIT_DATA_FACTS_PATH = "/var/lib/cloud/data"

_CLOUD_INIT_DATA_FACTS_SPEC = {
    "filter": {"type": "str", "choices": ["result", "status"]},
}


def cloud_init_data_facts_crash(ex):
    """What ansible-core 2.19 reports for a module that raised (the module has no handler)."""
    return ModuleFailed("Task failed: Module failed: %s" % ex, exception=traceback.format_exc())


@module("community.general.cloud_init_data_facts")
def cloud_init_data_facts_module(params, ctx):
    p = common_validate("community.general.cloud_init_data_facts", params,
                        _CLOUD_INIT_DATA_FACTS_SPEC, ctx)
    facts = {}
    try:
        for name in ("result", "status"):
            if p.get("filter") not in (None, name):
                continue
            facts[name] = {}
            path = os.path.join(CLOUD_INIT_DATA_FACTS_PATH, name + ".json")
            if os.path.exists(path):
                with open(path, "rb") as stream:
                    contents = stream.read().decode("utf-8")
                if contents:
                    facts[name] = json.loads(contents)
    except (OSError, ValueError) as ex:
        raise cloud_init_data_facts_crash(ex) from ex
    result = {"cloud_init_data_facts": facts}
    return {"changed": False, "ansible_facts": dict(result), **result}
