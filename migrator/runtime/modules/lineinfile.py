"""ansible.builtin.lineinfile (works on bytes, like the module)."""

import os
import re

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import (  # tm:strip
    common_atomic_move, common_backup_local, common_file_args, common_run,  # tm:strip
    common_set_fs_attributes, common_validate, common_write_tmp)  # tm:strip

_LINEINFILE_SPEC = {
    "path": {"type": "path", "required": True, "aliases": ["dest", "destfile", "name"]},
    "state": {"default": "present", "choices": ["absent", "present"]},
    "regexp": {"aliases": ["regex"]},
    "search_string": {},
    "line": {"aliases": ["value"]},
    "insertafter": {},
    "insertbefore": {},
    "backrefs": {"type": "bool", "default": False},
    "create": {"type": "bool", "default": False},
    "backup": {"type": "bool", "default": False},
    "firstmatch": {"type": "bool", "default": False},
    "validate": {},
}


def _lineinfile_bytes(text):
    return text.encode("utf-8", "surrogateescape")


def lineinfile_write(p, data, dest, ctx):
    """write_changes of lineinfile, blockinfile and replace: validate, then move in place."""
    tmpfile = common_write_tmp(dest, data)
    try:
        validate = p["validate"]
        if validate:
            if "%s" not in validate:
                raise ModuleFailed("validate must contain %%s: %s" % validate)
            rc, _, err = common_run(ctx, validate % tmpfile)
            if rc != 0:
                raise ModuleFailed("failed to validate: rc:%s error:%s" % (rc, err))
        common_atomic_move(tmpfile, dest, ctx, unsafe_writes=p["unsafe_writes"])
    finally:
        if os.path.exists(tmpfile):
            os.unlink(tmpfile)


def lineinfile_check_attrs(p, changed, message, ctx):
    """check_file_attrs: apply owner/group/mode/... and say so in msg."""
    if common_set_fs_attributes(common_file_args(p, ctx), False, ctx):
        if changed:
            message += " and "
        changed = True
        message += "ownership, perms or SE linux context changed"
    return message, changed


@module("ansible.builtin.lineinfile", "ansible.legacy.lineinfile")
def lineinfile_module(params, ctx):
    p = common_validate("ansible.builtin.lineinfile", params, _LINEINFILE_SPEC, ctx,
                        file_common=True,
                        mutually_exclusive=[["insertbefore", "insertafter"],
                                            ["regexp", "search_string"],
                                            ["backrefs", "search_string"]])
    regexp, search_string = p["regexp"], p["search_string"]
    if "" in (regexp, search_string):
        msg = ("The %s is an empty string, which will match every line in the file. "
               "This may have unintended consequences, such as replacing the last line in the "
               "file rather than appending.")
        name = "search string"
        if regexp == "":
            name = "regular expression"
            msg += (" If this is desired, use '^' to match every line in the file and avoid "
                    "this warning.")
        ctx.warn(msg % name)
    if os.path.isdir(p["path"]):
        raise ModuleFailed("Path %s is a directory !" % p["path"], rc=256)
    if p["state"] == "present":
        if p["backrefs"] and regexp is None:
            raise ModuleFailed("regexp is required with backrefs=true")
        if p["line"] is None:
            raise ModuleFailed("line is required with state=present")
        insertbefore, insertafter = p["insertbefore"], p["insertafter"]
        if insertbefore is None and insertafter is None:
            insertafter = "EOF"
        return _lineinfile_present(p, insertafter, insertbefore, ctx)
    if (regexp, search_string, p["line"]) == (None, None, None):
        raise ModuleFailed("one of line, search_string, or regexp is required with state=absent")
    return _lineinfile_absent(p, ctx)


def _lineinfile_present(p, insertafter, insertbefore, ctx):
    dest, regexp, search_string = p["path"], p["regexp"], p["search_string"]
    firstmatch = p["firstmatch"]
    if not os.path.exists(dest):
        if not p["create"]:
            raise ModuleFailed("Destination %s does not exist !" % dest, rc=257)
        destpath = os.path.dirname(dest)
        if destpath and not os.path.exists(destpath) and not ctx.check_mode:
            try:
                os.makedirs(destpath)
            except Exception as ex:
                raise ModuleFailed("Error creating %s (%s)" % (destpath, ex)) from ex
        lines = []
    else:
        with open(dest, "rb") as stream:
            lines = stream.readlines()

    bre_m = re.compile(_lineinfile_bytes(regexp)) if regexp is not None else None
    if insertafter not in (None, "BOF", "EOF"):
        bre_ins = re.compile(_lineinfile_bytes(insertafter))
    elif insertbefore not in (None, "BOF"):
        bre_ins = re.compile(_lineinfile_bytes(insertbefore))
    else:
        bre_ins = None

    # index[0]: line matching regexp/search_string/line; index[1]: insertion point
    index = [-1, -1]
    match = None
    exact_line_match = False
    b_line = _lineinfile_bytes(p["line"])
    # A regexp or search_string match wins over insertafter/insertbefore.
    if regexp is not None:
        for lineno, cur in enumerate(lines):
            found = bre_m.search(cur)
            if found:
                index[0], match = lineno, found
                if firstmatch:
                    break
    if search_string is not None:
        for lineno, cur in enumerate(lines):
            if _lineinfile_bytes(search_string) in cur:
                index[0], match = lineno, True
                if firstmatch:
                    break
    if not match:
        for lineno, cur in enumerate(lines):
            if b_line == cur.rstrip(b"\r\n"):
                index[0] = lineno
                exact_line_match = True
            elif bre_ins is not None and bre_ins.search(cur):
                if insertafter:
                    index[1] = lineno + 1
                    if firstmatch:
                        break
                if insertbefore:
                    index[1] = lineno
                    if firstmatch:
                        break

    msg = ""
    changed = False
    linesep = _lineinfile_bytes(os.linesep)
    if index[0] != -1:
        new_line = match.expand(b_line) if p["backrefs"] and match else b_line
        if not new_line.endswith(linesep):
            new_line += linesep
        # Only the line itself matched: honour insertafter/insertbefore around it.
        if (regexp, search_string, match) == (None, None, None) and not exact_line_match:
            if insertafter and insertafter != "EOF":
                if lines and lines[-1][-1:] not in (b"\n", b"\r"):
                    lines[-1] = lines[-1] + linesep
                if len(lines) == index[1]:
                    if lines[index[1] - 1].rstrip(b"\r\n") != b_line:
                        lines.append(b_line + linesep)
                        msg, changed = "line added", True
                elif lines[index[1]].rstrip(b"\r\n") != b_line:
                    lines.insert(index[1], b_line + linesep)
                    msg, changed = "line added", True
            elif insertbefore and insertbefore != "BOF":
                if index[1] <= 0:
                    if lines[index[1]].rstrip(b"\r\n") != b_line:
                        lines.insert(index[1], b_line + linesep)
                        msg, changed = "line added", True
                elif lines[index[1] - 1].rstrip(b"\r\n") != b_line:
                    lines.insert(index[1], b_line + linesep)
                    msg, changed = "line added", True
        elif lines[index[0]] != new_line:
            lines[index[0]] = new_line
            msg, changed = "line replaced", True
    elif p["backrefs"]:
        pass  # without a match there is nothing to expand the backrefs from
    elif insertbefore == "BOF" or insertafter == "BOF":
        lines.insert(0, b_line + linesep)
        msg, changed = "line added", True
    elif insertafter == "EOF" or index[1] == -1:
        if lines and lines[-1][-1:] not in (b"\n", b"\r"):
            lines.append(linesep)
        lines.append(b_line + linesep)
        msg, changed = "line added", True
    elif insertafter and index[1] != -1:
        if len(lines) == index[1]:
            if lines[index[1] - 1].rstrip(b"\r\n") != b_line:
                lines.append(b_line + linesep)
                msg, changed = "line added", True
        elif b_line != lines[index[1]].rstrip(b"\n\r"):
            lines.insert(index[1], b_line + linesep)
            msg, changed = "line added", True
    else:
        lines.insert(index[1], b_line + linesep)
        msg, changed = "line added", True

    backupdest = ""
    if changed and not ctx.check_mode:
        if p["backup"] and os.path.exists(dest):
            backupdest = common_backup_local(dest, ctx)
        lineinfile_write(p, b"".join(lines), os.path.realpath(dest), ctx)
    if ctx.check_mode and not os.path.exists(dest):
        return {"changed": changed, "msg": msg, "backup": backupdest}
    msg, changed = lineinfile_check_attrs(p, changed, msg, ctx)
    return {"changed": changed, "msg": msg, "backup": backupdest}


def _lineinfile_absent(p, ctx):
    dest, regexp, search_string = p["path"], p["regexp"], p["search_string"]
    if not os.path.exists(dest):
        return {"changed": False, "msg": "file not present"}
    with open(dest, "rb") as stream:
        lines = stream.readlines()
    bre_c = re.compile(_lineinfile_bytes(regexp)) if regexp is not None else None
    b_line = _lineinfile_bytes(p["line"]) if p["line"] is not None else None

    def matches(cur):
        if regexp is not None:
            return bre_c.search(cur)
        if search_string is not None:
            return _lineinfile_bytes(search_string) in cur
        return b_line == cur.rstrip(b"\r\n")

    found = [cur for cur in lines if matches(cur)]
    lines = [cur for cur in lines if not matches(cur)]
    changed = len(found) > 0
    backupdest = ""
    if changed and not ctx.check_mode:
        if p["backup"]:
            backupdest = common_backup_local(dest, ctx)
        lineinfile_write(p, b"".join(lines), os.path.realpath(dest), ctx)
    msg = "%s line(s) removed" % len(found) if changed else ""
    msg, changed = lineinfile_check_attrs(p, changed, msg, ctx)
    return {"changed": changed, "found": len(found), "msg": msg, "backup": backupdest}
