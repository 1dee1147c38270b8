"""ansible.builtin.copy: the action plugin and the module, run on the node.

The controller side of Ansible's copy (walking a source directory, comparing
checksums, calling the file module when only attributes differ) runs here
too: the converter stages `src` on the node and passes its local path,
keeping the trailing slash that selects rsync-like directory semantics.
Staged sources are never moved or modified; the module writes through a
temporary copy beside the destination.
"""

import errno
import filecmp
import json
import os
import shutil
import stat
import tempfile

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import (  # tm:strip
    common_atomic_move, common_backup_local, common_boolean, common_digest,  # tm:strip
    common_file_args, common_md5, common_mkstemp, common_path_info, common_run,  # tm:strip
    common_set_fs_attributes, common_set_group, common_set_mode, common_set_owner,  # tm:strip
    common_validate)  # tm:strip
from migrator.runtime.modules.file import file_module  # tm:strip

_COPY_SPEC = {
    "src": {"type": "path"},
    "_original_basename": {},
    "content": {},
    "dest": {"type": "path", "required": True},
    "backup": {"type": "bool", "default": False},
    "force": {"type": "bool", "default": True},
    "validate": {},
    "directory_mode": {"type": "raw"},
    "remote_src": {"type": "bool", "default": False},
    "local_follow": {"type": "bool"},
    "checksum": {},
    "follow": {"type": "bool", "default": False},
}

# What the action plugin forwards to the file module (FILE_COMMON_ARGUMENTS + file's own).
_COPY_FILE_ARGS = frozenset(("mode", "owner", "group", "seuser", "serole", "selevel", "setype",
                             "attributes", "unsafe_writes", "state", "path",
                             "_original_basename", "recurse", "force", "_diff_peek", "src"))


def _copy_bool(params, key, default):
    """The action plugin reads its options with non-strict booleans."""
    try:
        return common_boolean(params.get(key, default))
    except TypeError:
        return False


@module("ansible.builtin.copy", "ansible.legacy.copy")
def copy_module(params, ctx):
    for internal in ("_original_basename", "_diff_peek"):
        if params.get(internal) is not None:
            raise ModuleFailed('Invalid parameter specified: "%s"' % internal)
    source, content, dest = params.get("src"), params.get("content"), params.get("dest")
    if not source and content is None:
        raise ModuleFailed("src (or content) is required")
    if not dest:
        raise ModuleFailed("dest is required")
    if source and content is not None:
        raise ModuleFailed("src and content are mutually exclusive")
    if content is not None and dest.endswith("/"):
        raise ModuleFailed("can not use content with a dir as dest")

    if _copy_bool(params, "remote_src", False) and content is None:
        return copy_run_module(params, ctx, remote_src=True)

    if content is None:
        if not os.path.exists(source):
            raise ModuleFailed("Could not find or access '%s'" % source)
        return _copy_action(params, source, False, ctx)
    if isinstance(content, (dict, list)):
        content = json.dumps(content)
    fd, source = tempfile.mkstemp(prefix=".")  # 0600, which mode=preserve then reports
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(str(content).encode("utf-8", "surrogateescape"))
        return _copy_action(params, source, True, ctx)
    finally:
        os.remove(source)


def _copy_action(params, source, from_content, ctx):
    local_follow = _copy_bool(params, "local_follow", True)
    if os.path.isdir(source):
        files, directories, symlinks = _copy_walk(source, local_follow)
        dest = params["dest"] if params["dest"].endswith("/") else params["dest"] + "/"
    else:
        files, directories, symlinks = [(source, os.path.basename(source))], [], []
        dest = params["dest"]
    dest = _copy_expand_user(dest, ctx)

    changed = False
    module_return = {"changed": False}
    module_executed = False
    for source_full, source_rel in files:
        # Links are only followed for a single file, never inside a tree.
        follow = False if directories else _copy_bool(params, "follow", False)
        module_return = _copy_file(params, source_full, source_rel, from_content, dest,
                                   follow, ctx)
        if module_return is None:
            continue
        module_executed = True
        changed = changed or module_return.get("changed", False)

    file_args = {k: v for k, v in params.items() if k in _COPY_FILE_ARGS and k != "src"}
    # Ansible means to skip directories that received files, but its bookkeeping
    # never records any, so every directory goes through the file module.
    for _, dest_path in directories:
        module_return = file_module(dict(file_args, path=os.path.join(dest, dest_path),
                                         state="directory", recurse=False,
                                         mode=params.get("directory_mode")), ctx)
        module_executed = True
        changed = changed or module_return.get("changed", False)
    for target, dest_path in symlinks:
        link_args = dict(file_args, path=os.path.join(dest, dest_path), src=target,
                         state="link", force=True)
        if directories:
            link_args["follow"] = False
        if link_args.get("mode") == "preserve":
            link_args.pop("mode")
        module_return = file_module(link_args, ctx)
        module_executed = True
        changed = changed or module_return.get("changed", False)

    if module_executed and len(files) == 1:
        result = dict(module_return)
        if "path" in result and "dest" not in result:
            result["dest"] = result["path"]
        return result
    return {"dest": dest, "src": source, "changed": changed}


def _copy_expand_user(path, ctx):
    """The action plugin expands ~ and ~user on the remote host, as become_user."""
    if not path.startswith("~"):
        return path
    head, sep, tail = path.partition("/")
    if head == "~" and ctx.become_user:
        head = "~" + ctx.become_user
    return os.path.expanduser(head) + sep + tail


def _copy_remote_stat(path, follow, checksum):
    """_execute_remote_stat: stat module fields the action plugin looks at."""
    try:
        st = os.stat(path) if follow else os.lstat(path)
    except FileNotFoundError:
        return {"exists": False, "isdir": False, "islnk": False, "checksum": "1"}
    status = {"exists": True, "isdir": stat.S_ISDIR(st.st_mode),
              "islnk": stat.S_ISLNK(st.st_mode), "checksum": ""}
    if status["islnk"]:
        status["lnk_source"] = os.path.realpath(path)
    if checksum and stat.S_ISREG(st.st_mode) and os.access(path, os.R_OK):
        status["checksum"] = common_digest(path)
    return status


def _copy_file(params, source_full, source_rel, from_content, dest, follow, ctx):
    force = _copy_bool(params, "force", True)
    lmode = None
    if params.get("mode") == "preserve":
        lmode = "0%03o" % stat.S_IMODE(os.stat(source_full).st_mode)
    dest_file = os.path.join(dest, source_rel) if dest.endswith("/") else dest
    dest_status = _copy_remote_stat(dest_file, follow, force)
    if dest_status["exists"] and dest_status["isdir"]:
        if from_content:
            raise ModuleFailed("can not use content with a dir as dest")
        dest_file = os.path.join(dest, source_rel)
        dest_status = _copy_remote_stat(dest_file, follow, force)
    if dest_status["exists"] and not force:
        return None

    local_checksum = common_digest(source_full)
    if local_checksum != dest_status["checksum"]:
        if ctx.check_mode:
            return {"changed": True}
        module_args = {k: v for k, v in params.items() if k not in ("content", "decrypt")}
        module_args.update(src=source_full, dest=dest, _original_basename=source_rel,
                           follow=follow)
        if not params.get("checksum"):
            module_args["checksum"] = local_checksum
        if lmode:
            module_args["mode"] = lmode
        try:
            module_return = copy_run_module(module_args, ctx, remote_src=False)
        except ModuleFailed as ex:
            if not ex.result.get("checksum"):
                ex.result["checksum"] = local_checksum
            raise
    else:
        if follow:
            nofollow = _copy_remote_stat(dest_file, False, False)
            if nofollow["islnk"] and "lnk_source" in nofollow:
                dest = nofollow["lnk_source"]
        file_args = {k: v for k, v in params.items() if k in _COPY_FILE_ARGS and k != "src"}
        file_args.update(dest=dest, _original_basename=source_rel, recurse=False, state="file")
        if lmode:
            file_args["mode"] = lmode
        module_return = file_module(file_args, ctx)
    if not module_return.get("checksum"):
        module_return["checksum"] = local_checksum
    return module_return


def _copy_walk(topdir, local_follow):
    """The action plugin's _walk_dirs: (files, directories, symlinks) of (path, relpath)."""
    files, directories, symlinks = [], [], []

    def recurse(top, rel_offset, parent_dirs, rel_base=""):
        for base_path, sub_folders, filenames in os.walk(top):
            for filename in filenames:
                filepath = os.path.join(base_path, filename)
                dest_filepath = os.path.join(rel_base, filepath[rel_offset:])
                if os.path.islink(filepath):
                    real_file = os.path.realpath(filepath)
                    if local_follow and os.path.isfile(real_file):
                        files.append((real_file, dest_filepath))
                    else:
                        symlinks.append((os.readlink(filepath), dest_filepath))
                else:
                    files.append((filepath, dest_filepath))
            for dirname in sub_folders:
                dirpath = os.path.join(base_path, dirname)
                dest_dirpath = os.path.join(rel_base, dirpath[rel_offset:])
                real_dir = os.path.realpath(dirpath)
                dir_stats = os.stat(real_dir)
                if not os.path.islink(dirpath):
                    directories.append((dirpath, dest_dirpath))
                elif not local_follow or (dir_stats.st_dev, dir_stats.st_ino) in parent_dirs:
                    symlinks.append((os.readlink(dirpath), dest_dirpath))
                else:
                    new_parents = set()
                    parent_dir_list = os.path.dirname(dirpath).split(os.path.sep)
                    for parent in range(len(parent_dir_list), 0, -1):
                        parent_stat = os.stat("/".join(parent_dir_list[:parent]))
                        if (parent_stat.st_dev, parent_stat.st_ino) in parent_dirs:
                            break
                        new_parents.add((parent_stat.st_dev, parent_stat.st_ino))
                    if (dir_stats.st_dev, dir_stats.st_ino) in new_parents:
                        symlinks.append((os.readlink(dirpath), dest_dirpath))  # a loop
                    else:
                        directories.append((real_dir, dest_dirpath))
                        recurse(real_dir, len(real_dir) + 1, parent_dirs | new_parents,
                                rel_base=dest_dirpath)

    # Without a trailing slash the directory itself is copied, as with rsync.
    base_path = topdir if topdir.endswith(os.path.sep) else os.path.dirname(topdir)
    offset = len(base_path) + (0 if base_path.endswith(os.path.sep) else 1)
    if os.path.islink(topdir) and not local_follow:
        return files, directories, [(os.readlink(topdir), os.path.basename(topdir))]
    dir_stats = os.stat(topdir)
    recurse(topdir, offset, frozenset([(dir_stats.st_dev, dir_stats.st_ino)]))
    return files, directories, symlinks


# ---------------------------------------------------------------------------
# the copy module proper (what runs on the target in Ansible)


def copy_run_module(params, ctx, remote_src):
    """The copy module's main(); src is on the node and is left untouched."""
    try:
        result = _copy_module_main(params, ctx, remote_src)
    except ModuleFailed as ex:
        raise ModuleFailed(ex.result.pop("msg"), **common_path_info(ex.result, ctx)) from ex
    return common_path_info(result, ctx)


def _copy_module_main(params, ctx, remote_src):
    p = common_validate("ansible.legacy.copy", params, _COPY_SPEC, ctx, file_common=True)
    src, dest = p["src"], p["dest"]
    if os.path.sep not in dest:
        dest = "./" + dest  # always have a directory component
    original_basename = p["_original_basename"]
    follow, force = p["follow"], p["force"]
    if not os.path.exists(src):
        raise ModuleFailed("Source %s not found" % src)
    if not os.access(src, os.R_OK):
        raise ModuleFailed("Source %s not readable" % src)
    if p["mode"] == "preserve":
        p["mode"] = "0%03o" % stat.S_IMODE(os.stat(src).st_mode)
    mode = p["mode"]

    changed = False
    checksum_src = checksum_dest = md5sum_src = None
    if os.path.isfile(src):
        checksum_src = common_digest(src)
        md5sum_src = common_md5(src)
    elif remote_src and not os.path.isdir(src):
        raise ModuleFailed("Cannot copy invalid source '%s': not a file" % src)
    if p["checksum"] and checksum_src != p["checksum"]:
        raise ModuleFailed("Copied file does not match the expected checksum. Transfer failed.",
                           checksum=checksum_src, expected_checksum=p["checksum"])

    if dest.endswith(os.sep):
        if original_basename:
            dest = os.path.join(dest, original_basename)
        dirname = os.path.dirname(dest)
        if not os.path.exists(dirname):
            pre_existing, new_dirs = _copy_split_pre_existing_dir(dirname)
            if ctx.check_mode:
                return {"msg": "dest directory %s would be created" % dirname, "changed": True,
                        "src": src}
            os.makedirs(dirname)
            changed = True
            directory_args = common_file_args(p, ctx)
            directory_args["mode"] = p["directory_mode"]
            for new_dir in new_dirs:
                pre_existing = os.path.join(pre_existing, new_dir)
                common_set_fs_attributes(dict(directory_args, path=pre_existing), changed, ctx)

    if os.path.isdir(dest):
        dest = os.path.join(dest, original_basename or os.path.basename(src))

    if os.path.exists(dest):
        if os.path.islink(dest) and follow:
            dest = os.path.realpath(dest)
        if not force:
            return {"msg": "file already exists", "src": src, "dest": dest, "changed": False}
        if os.access(dest, os.R_OK) and os.path.isfile(dest):
            checksum_dest = common_digest(dest)
    elif not os.path.exists(os.path.dirname(dest)):
        try:
            os.stat(os.path.dirname(dest))
        except OSError as ex:
            if ex.errno == errno.EACCES:
                raise ModuleFailed("Destination directory %s is not accessible"
                                   % os.path.dirname(dest)) from ex
        raise ModuleFailed("Destination directory %s does not exist" % os.path.dirname(dest))
    if not os.access(os.path.dirname(dest), os.W_OK) and not p["unsafe_writes"]:
        raise ModuleFailed("Destination %s not writable" % os.path.dirname(dest))

    backup_file = None
    if checksum_src != checksum_dest or os.path.islink(dest):
        if not ctx.check_mode:
            if p["backup"] and os.path.exists(dest):
                backup_file = common_backup_local(dest, ctx)
            if os.path.islink(dest):  # replace the link itself, not its target
                os.unlink(dest)
                open(dest, "w").close()
            _copy_install(src, dest, p, mode, remote_src, ctx)
        changed = True

    # A remote directory is merged into dest (or dest/basename without trailing slash).
    both_directories = os.path.isdir(p["src"]) and (
        os.path.isdir(p["dest"]) or not os.path.exists(p["dest"]))
    if checksum_src is None and checksum_dest is None and remote_src and both_directories:
        tree_src, tree_dest = p["src"], p["dest"]
        if not tree_src.endswith(os.path.sep):
            tree_dest = os.path.join(tree_dest, os.path.basename(tree_src))
            tree_src = os.path.join(tree_src, "")
        changed = _copy_directory(tree_src, tree_dest, p, ctx) or changed

    result = {"dest": dest, "src": src, "md5sum": md5sum_src, "checksum": checksum_src,
              "changed": changed}
    if backup_file:
        result["backup_file"] = backup_file
    result["changed"] = common_set_fs_attributes(common_file_args(p, ctx, path=dest),
                                                 result["changed"], ctx)
    return result


def _copy_install(src, dest, p, mode, remote_src, ctx):
    """Validate, then atomically put a copy of src at dest.

    Ansible validates (and first chmods/chowns) its transferred temporary file;
    ours is the copy made beside dest, keeping dest's suffix for validators.
    """
    tmp = common_mkstemp(dest, os.path.splitext(dest)[1])
    try:
        shutil.copyfile(src, tmp)
        if remote_src:
            shutil.copystat(src, tmp)
        if p["validate"]:
            if "%s" not in p["validate"]:
                raise ModuleFailed("validate must contain %%s: %s" % p["validate"])
            common_set_mode(tmp, mode, False, ctx)
            _copy_chown(tmp, p, ctx)
            rc, out, err = common_run(ctx, p["validate"] % tmp)
            if rc != 0:
                raise ModuleFailed("failed to validate", exit_status=rc, stdout=out, stderr=err)
        common_atomic_move(tmp, dest, ctx, keep_dest_attrs=not remote_src,
                           unsafe_writes=p["unsafe_writes"])
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _copy_split_pre_existing_dir(dirname):
    """The first existing ancestor of dirname and the directories to create under it."""
    head, tail = os.path.split(dirname)
    if head == "":
        return ".", [tail]
    if os.path.exists(head):
        return head, [tail]
    if head == "/":
        raise ModuleFailed("The '/' directory doesn't exist on this machine.")
    pre_existing, new_dirs = _copy_split_pre_existing_dir(head)
    return pre_existing, new_dirs + [tail]


def _copy_chown(path, p, ctx):
    return common_set_group(path, p["group"], common_set_owner(path, p["owner"], False, ctx), ctx)


def _copy_chown_recursive(path, p, ctx):
    changed = False
    for dirpath, dirnames, filenames in os.walk(path):
        changed |= _copy_chown(dirpath, p, ctx)
        for name in dirnames + filenames:
            changed |= _copy_chown(os.path.join(dirpath, name), p, ctx)
    return changed


def _copy_diff_files(src, dest, p, ctx):
    diff_files = filecmp.dircmp(src, dest).diff_files
    if not ctx.check_mode:
        for item in diff_files:
            src_item, dest_item = os.path.join(src, item), os.path.join(dest, item)
            if os.path.islink(src_item) and p["local_follow"] is False:
                os.symlink(os.readlink(src_item), dest_item)
            else:
                shutil.copyfile(src_item, dest_item)
                shutil.copymode(src_item, dest_item)
            _copy_chown(dest_item, p, ctx)
    return bool(diff_files)


def _copy_left_only(src, dest, p, ctx):
    left_only = filecmp.dircmp(src, dest).left_only
    local_follow = p["local_follow"]
    if not ctx.check_mode:
        for item in left_only:
            src_item, dest_item = os.path.join(src, item), os.path.join(dest, item)
            is_link = os.path.islink(src_item)
            if is_link and local_follow is False:
                os.symlink(os.readlink(src_item), dest_item)
            elif is_link and local_follow is True and os.path.isdir(src_item):
                shutil.copytree(src_item, dest_item, symlinks=not local_follow)
                _copy_chown_recursive(dest_item, p, ctx)
            elif is_link and local_follow is True and os.path.isfile(src_item):
                shutil.copyfile(src_item, dest_item)
                _copy_chown(dest_item, p, ctx)
            elif not is_link and os.path.isfile(src_item):
                shutil.copyfile(src_item, dest_item)
                shutil.copymode(src_item, dest_item)
                _copy_chown(dest_item, p, ctx)
            elif not is_link and os.path.isdir(src_item):
                shutil.copytree(src_item, dest_item, symlinks=not local_follow)
                _copy_chown_recursive(dest_item, p, ctx)
    return bool(left_only)


def _copy_common_dirs(src, dest, p, ctx):
    changed = False
    for item in filecmp.dircmp(src, dest).common_dirs:
        src_item, dest_item = os.path.join(src, item), os.path.join(dest, item)
        changed = _copy_diff_files(src_item, dest_item, p, ctx) or changed
        changed = _copy_left_only(src_item, dest_item, p, ctx) or changed
        changed = _copy_common_dirs(src_item, dest_item, p, ctx) or changed
    return changed


def _copy_directory(src, dest, p, ctx):
    if not os.path.exists(dest):
        if not ctx.check_mode:
            shutil.copytree(src, dest, symlinks=not p["local_follow"])
            _copy_chown_recursive(dest, p, ctx)
        return True
    changes = [_copy_diff_files(src, dest, p, ctx), _copy_left_only(src, dest, p, ctx),
               _copy_common_dirs(src, dest, p, ctx), _copy_chown_recursive(dest, p, ctx)]
    return any(changes)
