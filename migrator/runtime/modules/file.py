"""ansible.builtin.file"""

import errno
import grp
import os
import pwd
import shutil
import time

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import (  # tm:strip
    common_file_args, common_path_info, common_set_fs_attributes, common_validate)  # tm:strip

_FILE_SPEC = {
    "state": {"choices": ["absent", "directory", "file", "hard", "link", "touch"]},
    "path": {"type": "path", "required": True, "aliases": ["dest", "name"]},
    "_original_basename": {},
    "recurse": {"type": "bool", "default": False},
    "force": {"type": "bool", "default": False},
    "follow": {"type": "bool", "default": True},
    "src": {"type": "path"},
    "modification_time": {},
    "modification_time_format": {"default": "%Y%m%d%H%M.%S"},
    "access_time": {},
    "access_time_format": {"default": "%Y%m%d%H%M.%S"},
}

_FILE_NOW = object()  # the 'now' timestamp; None stands for 'preserve'


@module("ansible.builtin.file", "ansible.legacy.file")
def file_module(params, ctx):
    p = common_validate("ansible.builtin.file", params, _FILE_SPEC, ctx, file_common=True)
    try:
        return common_path_info(_file_main(p, ctx), ctx)
    except ModuleFailed as ex:
        raise ModuleFailed(ex.result.pop("msg"), **common_path_info(ex.result, ctx)) from ex


def file_get_state(path):
    """The file module's name for what is at path."""
    try:
        if os.path.lexists(path):
            if os.path.islink(path):
                return "link"
            if os.path.isdir(path):
                return "directory"
            if os.stat(path).st_nlink > 1:
                return "hard"
            return "file"
        return "absent"
    except FileNotFoundError:
        return "absent"


def _file_main(p, ctx):
    state = p["state"]
    # A directory path gets the source's basename appended (copy relies on it).
    if state not in ("link", "absent") and os.path.isdir(p["path"]):
        basename = p["_original_basename"] or (p["src"] and os.path.basename(p["src"]))
        if basename:
            p["path"] = os.path.join(p["path"], basename)
    prev_state = file_get_state(p["path"])
    if state is None:
        if prev_state != "absent":
            state = prev_state
        else:
            state = "directory" if p["recurse"] else "file"
    if p["recurse"] and state != "directory":
        raise ModuleFailed("recurse option requires state to be 'directory'", path=p["path"])
    if p["src"] and state not in ("link", "hard"):
        raise ModuleFailed("src option requires state to be 'link' or 'hard'", path=p["path"])

    if ctx.check_mode and state != "absent":
        _file_check_owner_group(p, ctx)

    timestamps = {}
    for name in ("modification_time", "access_time"):
        value = p[name]
        if value is None:
            value = "now" if state == "touch" else "preserve"
        timestamps[name] = _file_timestamp(value, p[name + "_format"])

    path = p["path"]
    if state == "file":
        return _file_ensure_file(p, path, timestamps, ctx)
    if state == "directory":
        return _file_ensure_directory(p, path, timestamps, ctx)
    if state == "link":
        return _file_ensure_symlink(p, path, timestamps, ctx)
    if state == "hard":
        return _file_ensure_hardlink(p, path, timestamps, ctx)
    if state == "touch":
        return _file_touch(p, path, timestamps, ctx)
    return _file_ensure_absent(path, ctx)


def _file_check_owner_group(p, ctx):
    # In check mode an owner created earlier in the play may not exist yet.
    for value, by_id, by_name, kind, key in (
            (p["owner"], pwd.getpwuid, pwd.getpwnam, "user", "uid"),
            (p["group"], grp.getgrgid, grp.getgrnam, "group", "gid")):
        if not value:
            continue
        try:
            by_id(int(value))
        except ValueError:
            try:
                by_name(value)
            except KeyError:
                ctx.warn("failed to look up %s %s. Create %s up to this point in real play"
                         % (kind, value, kind))
        except KeyError:
            ctx.warn("failed to look up %s with %s %s. Create %s up to this point in real play"
                     % (kind, key, value, kind))


def _file_timestamp(value, time_format):
    if value == "preserve":
        return None
    if value == "now":
        return _FILE_NOW
    try:
        return time.mktime(time.strptime(value, time_format))
    except (ValueError, OverflowError) as ex:
        raise ModuleFailed("Error while obtaining timestamp for time %s using format %s: %s"
                           % (value, time_format, ex)) from ex


def _file_update_timestamps(path, timestamps, ctx):
    mtime, atime = timestamps["modification_time"], timestamps["access_time"]
    try:
        if mtime is _FILE_NOW and atime is _FILE_NOW:
            # utime(path, None) does not need ownership of the file
            os.stat(path)
            set_time = None
        else:
            if mtime is None and atime is None:
                return False
            previous = os.stat(path)
            mtime = previous.st_mtime if mtime is None else mtime
            atime = previous.st_atime if atime is None else atime
            mtime = time.time() if mtime is _FILE_NOW else mtime
            atime = time.time() if atime is _FILE_NOW else atime
            if mtime == previous.st_mtime and atime == previous.st_atime:
                return False
            set_time = (atime, mtime)
        if not ctx.check_mode:
            os.utime(path, set_time)
    except OSError as ex:
        raise ModuleFailed("Error while updating modification or access time: %s" % ex,
                           path=path) from ex
    return True


def _file_ensure_absent(path, ctx):
    prev_state = file_get_state(path)
    if prev_state == "absent":
        return {"path": path, "changed": False, "state": "absent"}
    if not ctx.check_mode:
        if prev_state == "directory":
            try:
                shutil.rmtree(path, ignore_errors=False)
            except Exception as ex:
                raise ModuleFailed("rmtree failed: %s" % ex) from ex
        else:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as ex:
                raise ModuleFailed("Unlinking failed. %s" % ex, path=path) from ex
    return {"path": path, "changed": True, "state": "absent"}


def _file_touch(p, path, timestamps, ctx):
    prev_state = file_get_state(path)
    changed = False
    if prev_state == "absent":
        if ctx.check_mode:
            return {"dest": path, "changed": True}
        try:
            open(path, "wb").close()
        except OSError as ex:
            raise ModuleFailed("Error, could not touch target. %s" % ex, path=path) from ex
        changed = True
    file_args = common_file_args(p, ctx)
    try:
        changed = common_set_fs_attributes(file_args, changed, ctx)
        changed = _file_update_timestamps(file_args["path"], timestamps, ctx) or changed
    except ModuleFailed:
        if prev_state == "absent":
            os.remove(path)  # we just created it: leave nothing half-done
        raise
    return {"dest": path, "changed": changed}


def _file_ensure_file(p, path, timestamps, ctx):
    prev_state = file_get_state(path)
    file_args = common_file_args(p, ctx)
    if prev_state != "file" and p["follow"] and prev_state == "link":
        path = os.path.realpath(path)
        prev_state = file_get_state(path)
        file_args["path"] = path
    if prev_state not in ("file", "hard"):
        raise ModuleFailed("file (%s) is %s, cannot continue" % (path, prev_state),
                           path=path, state=prev_state)
    changed = common_set_fs_attributes(file_args, False, ctx)
    changed = _file_update_timestamps(file_args["path"], timestamps, ctx) or changed
    return {"path": path, "changed": changed}


def _file_ensure_directory(p, path, timestamps, ctx):
    prev_state = file_get_state(path)
    file_args = common_file_args(p, ctx)
    if p["follow"] and prev_state == "link":
        path = os.path.realpath(path)
        file_args["path"] = path
        prev_state = file_get_state(path)
    changed = False
    if prev_state == "absent":
        if ctx.check_mode:
            return {"path": path, "changed": True}
        # mkdir -p, giving every directory it creates the requested attributes
        curpath = ""
        try:
            for dirname in path.strip("/").split("/"):
                curpath = "/".join([curpath, dirname])
                if not os.path.isabs(path):
                    curpath = curpath.lstrip("/")
                if not os.path.exists(curpath):
                    try:
                        os.mkdir(curpath)
                        changed = True
                    except OSError as ex:
                        if not (ex.errno == errno.EEXIST and os.path.isdir(curpath)):
                            raise
                    changed = common_set_fs_attributes(dict(file_args, path=curpath), changed, ctx)
                    changed = _file_update_timestamps(file_args["path"], timestamps, ctx) or changed
        except ModuleFailed:
            raise
        except Exception as ex:
            raise ModuleFailed("There was an issue creating %s as requested: %s" % (curpath, ex),
                               path=path) from ex
        return {"path": path, "changed": changed}
    if prev_state != "directory":
        raise ModuleFailed("%s already exists as a %s" % (path, prev_state), path=path)
    changed = common_set_fs_attributes(file_args, changed, ctx)
    changed = _file_update_timestamps(file_args["path"], timestamps, ctx) or changed
    if p["recurse"]:
        changed = _file_recursive_set_attributes(path, p["follow"], file_args, timestamps,
                                                 ctx) or changed
    return {"path": path, "changed": changed}


def _file_recursive_set_attributes(top, follow, file_args, timestamps, ctx):
    changed = False
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            fsname = os.path.join(root, name)
            changed = common_set_fs_attributes(dict(file_args, path=fsname), changed, ctx)
            changed = _file_update_timestamps(fsname, timestamps, ctx) or changed
            if follow and os.path.islink(fsname):
                target = os.path.join(root, os.readlink(fsname))
                if os.path.exists(target):
                    if os.path.isdir(target):
                        changed = _file_recursive_set_attributes(
                            target, follow, file_args, timestamps, ctx) or changed
                    changed = common_set_fs_attributes(dict(file_args, path=target), changed, ctx)
                    changed = _file_update_timestamps(target, timestamps, ctx) or changed
    return changed


def _file_replace_atomically(path, make, remove_dir):
    """Create the new link beside path, then rename it over path."""
    tmppath = os.path.join(os.path.dirname(path), ".%s.%s.tmp" % (os.getpid(), time.time()))
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            remove_dir(path)
        make(tmppath)
        os.rename(tmppath, path)
    except OSError as ex:
        if os.path.exists(tmppath):
            os.unlink(tmppath)
        raise ModuleFailed("Error while replacing: %s" % ex, path=path) from ex


def _file_ensure_symlink(p, path, timestamps, ctx):
    src, follow, force = p["src"], p["follow"], p["force"]
    prev_state = file_get_state(path)
    if src is None and follow and os.path.exists(path):
        src = os.readlink(path)  # keep the link's current target
    if not os.path.islink(path) and os.path.isdir(path):
        relpath = path
    else:
        relpath = os.path.dirname(path)
    absrc = None if src is None else os.path.join(relpath, src)
    if not force and src is not None and not os.path.exists(absrc):
        raise ModuleFailed("src file does not exist, use 'force=yes' if you really want to "
                           "create the link: %s" % absrc, path=path, src=src)
    if prev_state == "directory":
        if not force:
            raise ModuleFailed("refusing to convert from %s to symlink for %s"
                               % (prev_state, path), path=path)
        if os.listdir(path):
            raise ModuleFailed("the directory %s is not empty, refusing to convert it" % path,
                               path=path)
    elif prev_state in ("file", "hard") and not force:
        raise ModuleFailed("refusing to convert from %s to symlink for %s" % (prev_state, path),
                           path=path)

    changed = False
    if prev_state in ("hard", "file", "directory", "absent"):
        if src is None:
            raise ModuleFailed("src is required for creating new symlinks")
        changed = True
    elif prev_state == "link" and src is not None and os.readlink(path) != src:
        changed = True

    if changed and not ctx.check_mode:
        if prev_state != "absent":
            _file_replace_atomically(path, lambda tmp: os.symlink(src, tmp), os.rmdir)
        else:
            try:
                os.symlink(src, path)
            except OSError as ex:
                raise ModuleFailed("Error while linking: %s" % ex, path=path) from ex

    if ctx.check_mode and not os.path.exists(path):
        return {"dest": path, "src": src, "changed": changed}
    # Only now can follow resolve the (possibly new) link to its target.
    file_args = common_file_args(p, ctx)
    if follow and os.path.islink(path) and not os.path.exists(file_args["path"]):
        ctx.warn("Cannot set fs attributes on a non-existent symlink target. follow should be"
                 " set to False to avoid this.")
    else:
        changed = common_set_fs_attributes(file_args, changed, ctx)
        changed = _file_update_timestamps(file_args["path"], timestamps, ctx) or changed
    return {"dest": path, "src": src, "changed": changed}


def _file_ensure_hardlink(p, path, timestamps, ctx):
    src, follow, force = p["src"], p["follow"], p["force"]
    prev_state = file_get_state(path)
    file_args = common_file_args(p, ctx)
    if prev_state != "hard" and src is None:
        raise ModuleFailed("src is required for creating new hardlinks")
    if src is not None and not os.path.exists(src):
        raise ModuleFailed("src does not exist", dest=path, src=src)

    changed = False
    if prev_state == "absent":
        changed = True
    elif prev_state == "link":
        changed = os.readlink(path) != src
    elif prev_state == "hard":
        if src is not None and os.stat(path).st_ino != os.stat(src).st_ino:
            changed = True
            if not force:
                raise ModuleFailed("Cannot link, different hard link exists at destination",
                                   dest=path, src=src)
    elif prev_state == "file":
        changed = True
        if not force:
            raise ModuleFailed("Cannot link, %s exists at destination" % prev_state,
                               dest=path, src=src)
    elif prev_state == "directory":
        changed = True
        if os.stat(path).st_ino == os.stat(src).st_ino:
            return {"path": path, "changed": False}
        if not force:
            raise ModuleFailed("Cannot link: different hard link exists at destination",
                               dest=path, src=src)

    if changed and not ctx.check_mode:
        if prev_state != "absent":
            # As in Ansible, a directory in the way is unlinked, which fails for a real one.
            _file_replace_atomically(path, lambda tmp: os.link(src, tmp), os.unlink)
        else:
            link_src = os.readlink(src) if follow and os.path.islink(src) else src
            try:
                os.link(link_src, path)
            except OSError as ex:
                raise ModuleFailed("Error while linking: %s" % ex, path=path) from ex

    if ctx.check_mode and not os.path.exists(path):
        return {"dest": path, "src": src, "changed": changed}
    changed = common_set_fs_attributes(file_args, changed, ctx)
    changed = _file_update_timestamps(file_args["path"], timestamps, ctx) or changed
    return {"dest": path, "src": src, "changed": changed}
