"""community.general.sefcontext, as in community.general 8-10, through `semanage fcontext`.

The module uses policycoreutils' seobject (Python bindings a node's Python
need not have); the port drives the semanage CLI that wraps the same calls:

- the mappings: `semanage fcontext -l` (policy and local rules, then the
  distribution and local path equivalences, distribution first as the
  module's lookup prefers them);
- add/modify a rule: `semanage fcontext -a|-m -t SETYPE -f FTYPE -r RANGE -s USER TARGET`;
- delete: `semanage fcontext -d -f FTYPE TARGET`;
- substitutions: `semanage fcontext -a|-m|-d -e SUBSTITUTE TARGET`;
- reload=false adds `-N`.

Results, check mode and the diff are the module's; a semanage failure gives
the module's message, "<Exception>: <text>\n", which is what semanage prints.
"""

import os
import re

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import (  # tm:strip
    common_bin_path, common_run, common_validate)  # tm:strip
from migrator.runtime.modules.seboolean import seboolean_selinux_enabled  # tm:strip

_SEFCONTEXT_TYPES = {
    "a": "all files",
    "b": "block device",
    "c": "character device",
    "d": "directory",
    "f": "regular file",
    "l": "symbolic link",
    "p": "named pipe",
    "s": "socket",
}

_SEFCONTEXT_SPEC = {
    "ignore_selinux_state": {"type": "bool", "default": False},
    "target": {"type": "str", "required": True, "aliases": ["path"]},
    "ftype": {"type": "str", "default": "a", "choices": list(_SEFCONTEXT_TYPES)},
    "setype": {"type": "str"},
    "substitute": {"type": "str"},
    "seuser": {"type": "str"},
    "selevel": {"type": "str", "aliases": ["serange"]},
    "state": {"type": "str", "default": "present", "choices": ["absent", "present"]},
    "reload": {"type": "bool", "default": True},
}

_SEFCONTEXT_RULE = re.compile(r"^(\S+)\s+(%s)\s+(\S+)\s*$" % "|".join(_SEFCONTEXT_TYPES.values()))
_SEFCONTEXT_EQUAL = re.compile(r"^(\S+) = (\S+)$")


def _sefcontext_semanage(ctx, args):
    semanage = common_bin_path("semanage", ctx)
    if not semanage:
        raise ModuleFailed("Failed to find required executable semanage "
                           "(policycoreutils-python-utils) in paths: %s"
                           % ctx.environment.get("PATH", os.environ.get("PATH", "")))
    rc, out, err = common_run(ctx, [semanage, "fcontext"] + args)
    if rc != 0:
        text = err.strip() or out.strip()
        if not re.match(r"^\w+: ", text):
            text = "ValueError: " + text
        raise ModuleFailed(text + "\n")
    return out


def _sefcontext_records(ctx):
    """({(target, type text): (user, role, type, range) or None}, {target: substitute})."""
    rules, equal = {}, {}
    for line in _sefcontext_semanage(ctx, ["-l"]).splitlines():
        found = _SEFCONTEXT_RULE.match(line)
        if found:
            context = found.group(3)
            parts = context.split(":", 3) if context != "<<None>>" else None
            if parts is not None and len(parts) == 3:
                parts.append("")
            rules[(found.group(1), found.group(2))] = tuple(parts) if parts else None
            continue
        found = _SEFCONTEXT_EQUAL.match(line)
        if found:
            equal.setdefault(found.group(1), found.group(2))  # distribution rules come first
    return rules, equal


@module("community.general.sefcontext")
def sefcontext_module(params, ctx):
    p = common_validate("community.general.sefcontext", params, _SEFCONTEXT_SPEC, ctx,
                        mutually_exclusive=[("setype", "substitute"), ("substitute", "ftype"),
                                            ("substitute", "seuser"), ("substitute", "selevel")],
                        required_if=[("state", "present", ("setype", "substitute"), True)])
    if not p["ignore_selinux_state"] and not seboolean_selinux_enabled(ctx):
        raise ModuleFailed("SELinux is disabled on this host.")
    target, ftype, setype = p["target"], p["ftype"], p["setype"]
    substitute, seuser, serange = p["substitute"], p["seuser"], p["selevel"]
    result = {"target": target, "ftype": ftype, "setype": setype, "substitute": substitute,
              "state": p["state"]}
    noreload = [] if p["reload"] else ["-N"]
    rules, equal = _sefcontext_records(ctx)
    exists = rules.get((target, _SEFCONTEXT_TYPES[ftype]))
    substitute_exists = equal.get(target)
    changed = False
    diff = ""

    if p["state"] == "present":
        if substitute is None:
            if exists:
                orig_seuser, orig_serole, orig_setype, orig_serange = exists
                seuser = orig_seuser if seuser is None else seuser
                serange = orig_serange if serange is None else serange
                if setype != orig_setype or seuser != orig_seuser or serange != orig_serange:
                    if not ctx.check_mode:
                        _sefcontext_semanage(ctx, ["-m"] + noreload + [
                            "-t", setype, "-f", ftype, "-r", serange, "-s", seuser, target])
                    changed = True
                    diff += "# Change to semanage file context mappings\n"
                    diff += "-%s      %s      %s:%s:%s:%s\n" % (
                        target, ftype, orig_seuser, orig_serole, orig_setype, orig_serange)
                    diff += "+%s      %s      %s:%s:%s:%s\n" % (
                        target, ftype, seuser, orig_serole, setype, serange)
            else:
                seuser = "system_u" if seuser is None else seuser
                serange = "s0" if serange is None else serange
                if not ctx.check_mode:
                    _sefcontext_semanage(ctx, ["-a"] + noreload + [
                        "-t", setype, "-f", ftype, "-r", serange, "-s", seuser, target])
                changed = True
                diff += "# Addition to semanage file context mappings\n"
                diff += "+%s      %s      %s:%s:%s:%s\n" % (
                    target, ftype, seuser, "object_r", setype, serange)
        elif substitute_exists:
            if substitute != substitute_exists:
                if not ctx.check_mode:
                    _sefcontext_semanage(ctx, ["-m"] + noreload + ["-e", substitute, target])
                changed = True
                diff += "# Change to semanage file context path substitutions\n"
                diff += "-%s = %s\n" % (target, substitute_exists)
                diff += "+%s = %s\n" % (target, substitute)
        else:
            if not ctx.check_mode:
                _sefcontext_semanage(ctx, ["-a"] + noreload + ["-e", substitute, target])
            changed = True
            diff += "# Addition to semanage file context path substitutions\n"
            diff += "+%s = %s\n" % (target, substitute)
        result.update(seuser=seuser, serange=serange)
    else:
        if exists and substitute is None:
            if not ctx.check_mode:
                _sefcontext_semanage(ctx, ["-d"] + noreload + ["-f", ftype, target])
            changed = True
            diff += "# Deletion to semanage file context mappings\n"
            diff += "-%s      %s      %s:%s:%s:%s\n" % ((target, ftype) + tuple(exists))
        if substitute_exists and setype is None and (
                substitute is None or substitute_exists == substitute):
            if not ctx.check_mode:
                _sefcontext_semanage(ctx, ["-d"] + noreload + ["-e", substitute_exists, target])
            changed = True
            diff += "# Deletion to semanage file context path substitutions\n"
            diff += "-%s = %s\n" % (target, substitute_exists)
    if ctx.diff and diff:
        result["diff"] = {"prepared": diff}
    result["changed"] = changed
    return result
