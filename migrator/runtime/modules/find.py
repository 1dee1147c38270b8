"""ansible.builtin.find"""

import errno
import fnmatch
import grp
import os
import pwd
import re
import stat
import time

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import (  # tm:strip
    common_digest, common_symbolic_mode, common_validate)  # tm:strip
from migrator.runtime.modules.stat import stat_format  # tm:strip

_FIND_SPEC = {
    "paths": {"type": "list", "required": True, "aliases": ["name", "path"], "elements": "path"},
    "patterns": {"type": "list", "default": [], "aliases": ["pattern"], "elements": "str"},
    "excludes": {"type": "list", "aliases": ["exclude"], "elements": "str"},
    "contains": {},
    "read_whole_file": {"type": "bool", "default": False},
    "file_type": {"default": "file", "choices": ["any", "directory", "file", "link"]},
    "age": {},
    "age_stamp": {"default": "mtime", "choices": ["atime", "ctime", "mtime"]},
    "size": {},
    "recurse": {"type": "bool", "default": False},
    "hidden": {"type": "bool", "default": False},
    "follow": {"type": "bool", "default": False},
    "get_checksum": {"type": "bool", "default": False},
    "checksum_algorithm": {"default": "sha1", "aliases": ["checksum", "checksum_algo"],
                           "choices": ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]},
    "use_regex": {"type": "bool", "default": False},
    "depth": {"type": "int"},
    "mode": {"type": "raw"},
    "exact_mode": {"type": "bool", "default": True},
    "encoding": {},
    "limit": {"type": "int"},
}


def _find_pattern_filter(name, patterns, excludes, use_regex):
    def matches(pattern):
        return re.compile(pattern).match(name) if use_regex else fnmatch.fnmatch(name, pattern)

    if not any(matches(pattern) for pattern in patterns):
        return False
    return not (excludes and any(matches(pattern) for pattern in excludes))


def _find_age_filter(st, now, age, timestamp):
    if age is None:
        return True
    elapsed = now - getattr(st, "st_%s" % timestamp)
    return elapsed >= abs(age) if age >= 0 else elapsed <= abs(age)


def _find_size_filter(st, size):
    if size is None:
        return True
    return st.st_size >= abs(size) if size >= 0 else st.st_size <= abs(size)


def _find_content_filter(fsname, pattern, encoding, read_whole_file):
    if pattern is None:
        return True
    prog = re.compile(pattern)
    try:
        with open(fsname, encoding=encoding) as stream:
            if read_whole_file:
                return bool(prog.search(stream.read()))
            return any(prog.match(line) for line in stream)
    except LookupError:
        raise
    except UnicodeDecodeError as ex:
        # not a failure: the caller skips the whole path with a warning
        raise Exception("Failed to read the file %s due to an encoding error. current "
                        "encoding: %s" % (fsname, encoding or 'None (default determined by '
                                          'the Python built-in function "open")')) from ex
    except Exception:
        return False


def _find_mode_filter(st, mode, exact):
    if not mode:
        return True
    try:
        wanted = int(mode, 8)
    except ValueError:
        wanted = common_symbolic_mode(0, mode)
    wanted = stat.S_IMODE(wanted)
    current = stat.S_IMODE(st.st_mode)
    return current == wanted if exact else bool(current & wanted)


def _find_statinfo(fsname, st):
    info = stat_format(fsname, st)
    for key in ("exists", "blocks", "block_size", "device_type"):
        info.pop(key)
    info["pw_name"] = info["gr_name"] = ""
    try:
        info["pw_name"] = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        pass
    try:
        info["gr_name"] = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        pass
    return info


def _find_amount(value, units, what):
    match = re.match(r"^(-?\d+)(%s)?$" % "|".join(units), value.lower())
    if not match:
        raise ModuleFailed("failed to process %s" % what, **{what: value})
    return int(match.group(1)) * units.get(match.group(2), 1)


@module("ansible.builtin.find", "ansible.legacy.find")
def find_module(params, ctx):
    p = common_validate("ansible.builtin.find", params, _FIND_SPEC, ctx)
    if p["mode"] and not isinstance(p["mode"], str):
        raise ModuleFailed("argument 'mode' is not a string and conversion is not allowed, value "
                           "is of type %s" % type(p["mode"]).__name__)
    patterns = p["patterns"] or ([".*"] if p["use_regex"] else ["*"])
    age = size = None
    if p["age"] is not None:
        age = _find_amount(p["age"], {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}, "age")
    if p["size"] is not None:
        size = _find_amount(p["size"], {"b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3,
                                        "t": 1024 ** 4}, "size")
    limit = p["limit"]
    if limit is not None and limit <= 0:
        raise ModuleFailed("limit cannot be %d (use None for unlimited)" % limit)

    filelist, skipped = [], {}
    now = time.time()
    msg = "All paths examined"
    looked = 0
    has_warnings = False

    def walk_error(ex):
        if ex.errno in (errno.EPERM, errno.EACCES, errno.ENOENT):
            skipped[ex.filename] = str(ex)
            return
        raise ex

    def matches(name, st, *extra):
        """pattern, age, then extra filters, then mode: the module's order."""
        return (_find_pattern_filter(name, patterns, p["excludes"], p["use_regex"])
                and _find_age_filter(st, now, age, p["age_stamp"])
                and all(check() for check in extra)
                and _find_mode_filter(st, p["mode"], p["exact_mode"]))

    for npath in p["paths"]:
        try:
            if not os.path.isdir(npath):
                raise Exception("'%s' is not a directory" % npath)
            for root, dirs, files in os.walk(npath, onerror=walk_error,
                                             followlinks=p["follow"], topdown=True):
                looked += len(files) + len(dirs)
                for fsobj in files + dirs:
                    fsname = os.path.normpath(os.path.join(root, fsobj))
                    if p["depth"]:
                        wpath = npath.rstrip(os.path.sep) + os.path.sep
                        if fsname.count(os.path.sep) - wpath.count(os.path.sep) + 1 > p["depth"]:
                            del dirs[:]  # no need to walk deeper
                            continue
                    if os.path.basename(fsname).startswith(".") and not p["hidden"]:
                        continue
                    try:
                        st = os.lstat(fsname)
                    except OSError as ex:
                        ctx.warn("Skipped entry %r due to access issue: %s" % (fsname, ex))
                        skipped[fsname] = str(ex)
                        has_warnings = True
                        continue
                    file_type = p["file_type"]
                    is_reg = stat.S_ISREG(st.st_mode)
                    if file_type == "any":
                        if matches(fsobj, st) and (not is_reg or _find_size_filter(st, size)):
                            entry = _find_statinfo(fsname, st)
                            if is_reg and p["get_checksum"]:
                                entry["checksum"] = common_digest(fsname, p["checksum_algorithm"])
                            filelist.append(entry)
                    elif file_type == "directory" and stat.S_ISDIR(st.st_mode):
                        if matches(fsobj, st):
                            filelist.append(_find_statinfo(fsname, st))
                    elif file_type == "file" and is_reg:
                        if matches(fsobj, st, lambda: _find_size_filter(st, size),
                                   lambda: _find_content_filter(fsname, p["contains"],
                                                                p["encoding"],
                                                                p["read_whole_file"])):
                            entry = _find_statinfo(fsname, st)
                            if p["get_checksum"]:
                                entry["checksum"] = common_digest(fsname, p["checksum_algorithm"])
                            filelist.append(entry)
                    elif file_type == "link" and stat.S_ISLNK(st.st_mode):
                        if matches(fsobj, st):
                            filelist.append(_find_statinfo(fsname, st))
                    if len(filelist) == limit:
                        msg = "Limit of matches reached"
                        break
                if not p["recurse"] or len(filelist) == limit:
                    break
        except ModuleFailed:
            raise
        except Exception as ex:
            skipped[npath] = str(ex)
            ctx.warn("Skipped '%s' path due to this access issue: %s\n" % (npath, ex))
            has_warnings = True

    if has_warnings:
        msg = "Not all paths examined, check warnings for details"
    return {"files": filelist, "changed": False, "msg": msg, "matched": len(filelist),
            "examined": looked, "skipped_paths": skipped}
