"""ansible.builtin.replace"""

import os
import re

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_backup_local, common_validate  # tm:strip
from migrator.runtime.modules.lineinfile import (  # tm:strip
    lineinfile_check_attrs, lineinfile_write)  # tm:strip

_REPLACE_SPEC = {
    "path": {"type": "path", "required": True, "aliases": ["dest", "destfile", "name"]},
    "regexp": {"required": True},
    "replace": {"default": ""},
    "after": {},
    "before": {},
    "backup": {"type": "bool", "default": False},
    "validate": {},
    "encoding": {"default": "utf-8"},
}


@module("ansible.builtin.replace", "ansible.legacy.replace")
def replace_module(params, ctx):
    p = common_validate("ansible.builtin.replace", params, _REPLACE_SPEC, ctx, file_common=True)
    path, encoding = p["path"], p["encoding"]
    result = {"rc": 0}
    if os.path.isdir(path):
        raise ModuleFailed("Path %s is a directory !" % path, rc=256)
    if not os.path.exists(path):
        raise ModuleFailed("Path %s does not exist !" % path, rc=257)
    with open(path, "rb") as stream:
        contents = stream.read().decode(encoding, "surrogateescape")

    pattern = ""
    if p["after"] and p["before"]:
        pattern = "%s(?P<subsection>.*?)%s" % (p["after"], p["before"])
    elif p["after"]:
        pattern = "%s(?P<subsection>.*)" % p["after"]
    elif p["before"]:
        pattern = "(?P<subsection>.*)%s" % p["before"]
    if pattern:
        match = re.search(re.compile(pattern, re.DOTALL), contents)
        if not match:
            result.update(changed=False, msg="Pattern for before/after params did not match "
                                             "the given file: %s" % pattern)
            return result
        section = match.group("subsection")
        indices = [match.start("subsection"), match.end("subsection")]
    else:
        section = contents

    try:
        new_section, count = re.subn(re.compile(p["regexp"], re.MULTILINE), p["replace"],
                                     section, 0)
    except re.error as ex:
        raise ModuleFailed("Unable to process replace due to error: %s" % ex) from ex

    if count > 0 and section != new_section:
        if pattern:
            new_section = contents[:indices[0]] + new_section + contents[indices[1]:]
        msg, changed = "%s replacements made" % count, True
    else:
        msg, changed = "", False
    if changed and not ctx.check_mode:
        if p["backup"] and os.path.exists(path):
            result["backup_file"] = common_backup_local(path, ctx)
        lineinfile_write(p, new_section.encode(encoding, "surrogateescape"),
                         os.path.realpath(path), ctx)
    result["msg"], result["changed"] = lineinfile_check_attrs(p, changed, msg, ctx)
    return result
