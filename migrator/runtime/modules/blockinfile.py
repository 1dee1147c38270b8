"""ansible.builtin.blockinfile (works on bytes, like the module)."""

import os
import re

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_backup_local, common_validate  # tm:strip
from migrator.runtime.modules.lineinfile import (  # tm:strip
    lineinfile_check_attrs, lineinfile_write)  # tm:strip

_BLOCKINFILE_SPEC = {
    "path": {"type": "path", "required": True, "aliases": ["dest", "destfile", "name"]},
    "state": {"default": "present", "choices": ["absent", "present"]},
    "marker": {"default": "# {mark} ANSIBLE MANAGED BLOCK"},
    "block": {"default": "", "aliases": ["content"]},
    "insertafter": {},
    "insertbefore": {},
    "create": {"type": "bool", "default": False},
    "backup": {"type": "bool", "default": False},
    "validate": {},
    "marker_begin": {"default": "BEGIN"},
    "marker_end": {"default": "END"},
    "append_newline": {"type": "bool", "default": False},
    "prepend_newline": {"type": "bool", "default": False},
}


def _blockinfile_bytes(text):
    return text.encode("utf-8", "surrogateescape")


@module("ansible.builtin.blockinfile", "ansible.legacy.blockinfile")
def blockinfile_module(params, ctx):
    p = common_validate("ansible.builtin.blockinfile", params, _BLOCKINFILE_SPEC, ctx,
                        file_common=True, mutually_exclusive=[["insertbefore", "insertafter"]])
    path = p["path"]
    if os.path.isdir(path):
        raise ModuleFailed("Path %s is a directory !" % path, rc=256)
    path_exists = os.path.exists(path)
    if not path_exists:
        if not p["create"]:
            raise ModuleFailed("Path %s does not exist !" % path, rc=257)
        destpath = os.path.dirname(path)
        if destpath and not os.path.exists(destpath) and not ctx.check_mode:
            try:
                os.makedirs(destpath)
            except OSError as ex:
                raise ModuleFailed("Error creating %s Error code: %s Error description: %s"
                                   % (destpath, ex.errno, ex.strerror)) from ex
        original = None
        lines = []
    else:
        with open(path, "rb") as stream:
            original = stream.read()
        lines = original.splitlines(True)

    insertbefore, insertafter = p["insertbefore"], p["insertafter"]
    block = _blockinfile_bytes(p["block"])
    marker = _blockinfile_bytes(p["marker"])
    present = p["state"] == "present"
    linesep = _blockinfile_bytes(os.linesep)
    if not present and not path_exists:
        return {"changed": False, "msg": "File %s not present" % path}
    if insertbefore is None and insertafter is None:
        insertafter = "EOF"
    if insertafter not in (None, "EOF"):
        insertre = re.compile(_blockinfile_bytes(insertafter))
    elif insertbefore not in (None, "BOF"):
        insertre = re.compile(_blockinfile_bytes(insertbefore))
    else:
        insertre = None

    # re.sub as in the module, so backslashes in marker_begin/end are escapes.
    # (The module encodes those two as latin-1; UTF-8 keeps the file consistent.)
    marker0 = re.sub(rb"{mark}", _blockinfile_bytes(p["marker_begin"]), marker) + linesep
    marker1 = re.sub(rb"{mark}", _blockinfile_bytes(p["marker_end"]), marker) + linesep
    if present and block:
        if not block.endswith(linesep):
            block += linesep
        blocklines = [marker0] + block.splitlines(True) + [marker1]
    else:
        blocklines = []

    n0 = n1 = None
    for i, line in enumerate(lines):
        if line == marker0:
            n0 = i
        if line == marker1:
            n1 = i

    if None in (n0, n1):
        n0 = None
        if insertre is not None:
            if insertre.flags & re.MULTILINE:
                match = insertre.search(original)
                if match:
                    text = original.decode("utf-8", "surrogateescape")
                    if insertafter:
                        n0 = text.count("\n", 0, match.end())
                    elif insertbefore:
                        n0 = text.count("\n", 0, match.start())
            else:
                for i, line in enumerate(lines):
                    if insertre.search(line):
                        n0 = i
            if n0 is None:
                n0 = len(lines)
            elif insertafter is not None:
                n0 += 1
        elif insertbefore is not None:
            n0 = 0  # insertbefore=BOF
        else:
            n0 = len(lines)  # insertafter=EOF
    elif n0 < n1:
        lines[n0:n1 + 1] = []
    else:
        lines[n1:n0 + 1] = []
        n0 = n1

    # The block must start on a line of its own.
    if n0 > 0 and not lines[n0 - 1].endswith(linesep):
        lines[n0 - 1] += linesep
    if p["prepend_newline"] and present:
        if n0 != 0 and lines[n0 - 1] != linesep:
            lines[n0:n0] = [linesep]
            n0 += 1
    lines[n0:n0] = blocklines
    if p["append_newline"] and present:
        line_after_block = n0 + len(blocklines)
        if line_after_block < len(lines) and lines[line_after_block] != linesep:
            lines[line_after_block:line_after_block] = [linesep]

    result = b"".join(lines)
    if original == result:
        msg, changed = "", False
    elif original is None:
        msg, changed = "File created", True
    elif not blocklines:
        msg, changed = "Block removed", True
    else:
        msg, changed = "Block inserted", True

    backup_file = None
    if changed and not ctx.check_mode:
        if p["backup"] and path_exists:
            backup_file = common_backup_local(path, ctx)
        lineinfile_write(p, result, os.path.realpath(path), ctx)
    if ctx.check_mode and not path_exists:
        return {"changed": changed, "msg": msg}
    msg, changed = lineinfile_check_attrs(p, changed, msg, ctx)
    if backup_file is None:
        return {"changed": changed, "msg": msg}
    return {"changed": changed, "msg": msg, "backup_file": backup_file}
