"""ansible.posix.mount, as in ansible.posix 2.x (its Linux code paths).

fstab editing as the module does it (fields escaped, a matching line
rewritten only when a field differs, the file written in place, backup),
mounted state from /proc/self/mountinfo and the mount point's device, and the
mount/umount CLIs with the module's arguments (`mount -T FSTAB PATH` for an
fstab other than /etc/fstab, `mount -o remount[,OPTS]`, umount + mount when a
remount fails).
"""

import errno
import os

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import (  # tm:strip
    common_backup_local, common_bin_path, common_run, common_validate)  # tm:strip

_MOUNT_SPEC = {
    "boot": {"type": "bool", "default": True},
    "dump": {"type": "str", "default": "0"},
    "fstab": {"type": "str"},
    "fstype": {"type": "str"},
    "path": {"type": "path", "required": True, "aliases": ["name"]},
    "opts": {"type": "str"},
    "opts_no_log": {"type": "bool", "default": False},
    "passno": {"type": "str", "default": "0"},
    "src": {"type": "path"},
    "backup": {"type": "bool", "default": False},
    "state": {"type": "str", "required": True,
              "choices": ["absent", "absent_from_fstab", "mounted", "present", "unmounted",
                          "remounted", "ephemeral"]},
}

MOUNT_MOUNTINFO = "/proc/self/mountinfo"


def _mount_escape(value):
    if isinstance(value, int):
        return value
    return value.replace("\\", "\\134").replace(" ", "\\040").replace("&", "\\046")


def _mount_write_fstab(p, lines, path, ctx):
    backup_file = common_backup_local(path, ctx) if p["backup"] else ""
    with open(path, "w") as stream:
        stream.writelines(lines)
    return backup_file


def _mount_set(p, args, ctx):
    """_set_mount_save_old: (name, old lines, changed)."""
    to_write, old_lines = [], []
    exists = changed = False
    escaped = {k: _mount_escape(v) for k, v in args.items()}
    new_line = "%(src)s %(name)s %(fstype)s %(opts)s %(dump)s %(passno)s\n"
    with open(args["fstab"]) as stream:
        lines = stream.readlines()
    for line in lines:
        if not line.endswith("\n"):
            line += "\n"
        old_lines.append(line)
        if not line.strip() or line.strip().startswith("#"):
            to_write.append(line)
            continue
        fields = line.split("#")[0].split()
        if len(fields) not in (4, 5, 6):
            to_write.append(line)
            continue
        ld = {"dump": 0, "passno": 0}  # ints: a 4- or 5-field line always differs, as in Ansible
        for label, field in zip(("src", "name", "fstype", "opts", "dump", "passno"), fields):
            ld[label] = field
        if ld["name"] != escaped["name"] or (
                "src" in args and ld["name"] == "none" and ld["fstype"] == "swap"
                and ld["src"] != args["src"]):
            to_write.append(line)
            continue
        exists = True
        for key in ("src", "fstype", "opts", "dump", "passno"):
            if ld[key] != escaped[key]:
                ld[key] = escaped[key]
                changed = True
        to_write.append(new_line % ld if changed else line)
    if not exists:
        to_write.append(new_line % escaped)
        changed = True
    if changed and not ctx.check_mode:
        args["backup_file"] = _mount_write_fstab(p, to_write, args["fstab"], ctx)
    return args["name"], old_lines, changed


def _mount_unset(p, args, ctx):
    to_write = []
    changed = False
    escaped_name = _mount_escape(args["name"])
    with open(args["fstab"]) as stream:
        lines = stream.readlines()
    for line in lines:
        if not line.strip() or line.strip().startswith("#") or len(line.split()) != 6:
            to_write.append(line)
            continue
        src, name, fstype = line.split()[:3]
        if name != escaped_name or ("src" in args and name == "none" and fstype == "swap"
                                    and src != args["src"]):
            to_write.append(line)
            continue
        changed = True
    if changed and not ctx.check_mode:
        _mount_write_fstab(p, to_write, args["fstab"], ctx)
    return args["name"], changed


def _mount_fstab_args(fstab):
    return ["-T", fstab] if fstab and fstab != "/etc/fstab" else []


def _mount_ephemeral_args(args):
    result = ["-t", args["fstype"]]
    if args["opts"] != "defaults":
        result += ["-o", args["opts"]]
    return result + [args["src"]]


def _mount_run(ctx, command):
    rc, out, err = common_run(ctx, command)
    return (0, "") if rc == 0 else (rc, out + err)


def _mount_mount(p, args, ctx):
    command = [common_bin_path("mount", ctx, required=True)]
    if p["state"] == "ephemeral":
        command += _mount_ephemeral_args(args)
    else:
        command += _mount_fstab_args(args["fstab"])
    return _mount_run(ctx, command + [args["name"]])


def _mount_umount(path, ctx):
    return _mount_run(ctx, [common_bin_path("umount", ctx, required=True), path])


def _mount_remount(p, args, ctx):
    command = [common_bin_path("mount", ctx, required=True)]
    if p["state"] == "remounted" and args["opts"] != "defaults":
        command += ["-o", "remount," + args["opts"]]
    else:
        command += ["-o", "remount"]
    if p["state"] == "ephemeral":
        command += _mount_ephemeral_args(args)
    else:
        command += _mount_fstab_args(args["fstab"])
    command.append(args["name"])
    try:
        rc, out, err = common_run(ctx, command)
    except ModuleFailed:
        rc, out, err = 1, "", ""
    msg = ""
    if rc != 0:
        msg = out + err
        if p["state"] == "remounted" and args["opts"] != "defaults":
            raise ModuleFailed(
                "Options were specified with remounted, but the remount command failed. Failing "
                "in order to prevent an unexpected mount result. Try replacing this command with "
                'a "state: unmounted" followed by a "state: mounted" using the full desired '
                "mount options instead.")
        rc, msg = _mount_umount(args["name"], ctx)
        if rc == 0:
            rc, msg = _mount_mount(p, args, ctx)
    return rc, msg


def _mount_linux_mounts(ctx):
    """get_linux_mounts: {mount point: {dst, src, opts, fs}}; None when unreadable."""
    try:
        with open(MOUNT_MOUNTINFO) as stream:
            lines = [line.strip() for line in stream.readlines()]
    except OSError:
        return None
    info = {}
    for line in lines:
        fields = line.split()
        record = {"id": int(fields[0]), "parent_id": int(fields[1]), "root": fields[3],
                  "dst": fields[4], "opts": fields[5], "fs": fields[-3], "src": fields[-2]}
        info[record["id"]] = record
    mounts = {}
    for mnt in info.values():
        if mnt["parent_id"] != 1 and mnt["parent_id"] in info:
            parent = info[mnt["parent_id"]]
            if len(parent["root"]) > 1 and mnt["root"].startswith("%s/" % parent["root"]):
                mnt["root"] = mnt["root"][len(parent["root"]):]
            if parent["dst"] != "/":
                mnt["root"] = "%s%s" % (parent["dst"], mnt["root"])
            src = mnt["root"]
        else:
            src = mnt["src"]
        mounts[mnt["dst"]] = {"dst": mnt["dst"], "src": src, "opts": mnt["opts"],
                              "fs": mnt["fs"]}
    return mounts


def _mount_is_bind_mounted(ctx, linux_mounts, dest, src=None):
    if linux_mounts is not None:
        if src is None:
            return dest in linux_mounts
        return dest in linux_mounts and linux_mounts[dest]["src"] == src
    rc, out, _ = common_run(ctx, "%s -l" % common_bin_path("mount", ctx, required=True))
    for mnt in (out.strip().split("\n") if out else []):
        arguments = mnt.split()
        if (arguments[0] == src or src is None) and arguments[2] == dest:
            return True
    return False


def _mount_same_src(ctx, src, mountpoint, linux_mounts):
    if not os.path.ismount(mountpoint) and \
            not _mount_is_bind_mounted(ctx, linux_mounts, mountpoint):
        return False
    if linux_mounts is not None and _mount_is_bind_mounted(ctx, linux_mounts, mountpoint, src):
        return True
    command = "%s -v" % common_bin_path("mount", ctx, required=True)
    _, out, _ = common_run(ctx, command)
    if not out:
        raise ModuleFailed("Unable to retrieve mount info with command '%s'" % command)
    for mnt in out.strip().split("\n"):
        fields = mnt.split()
        if fields[0] == src and fields[2] == mountpoint:
            return True
    return False


@module("ansible.posix.mount")
def mount_module(params, ctx):
    p = common_validate("ansible.posix.mount", params, _MOUNT_SPEC, ctx,
                        required_if=[["state", "mounted", ["src", "fstype"]],
                                     ["state", "present", ["src", "fstype"]],
                                     ["state", "ephemeral", ["src", "fstype"]]])
    args = {"name": p["path"], "opts": "defaults", "dump": "0", "passno": "0",
            "fstab": p["fstab"], "boot": "yes"}
    if args["fstab"] is None:
        args["fstab"] = "/etc/fstab"
    args["backup_file"] = ""
    linux_mounts = _mount_linux_mounts(ctx)
    if linux_mounts is None:
        ctx.warn("Cannot open file /proc/self/mountinfo. Bind mounts might be misinterpreted.")
    for key in ("src", "fstype", "passno", "opts", "dump", "fstab"):
        if p[key] is not None:
            args[key] = p[key]
    opts = args["opts"].split(",")
    if p["boot"] and "noauto" in opts:
        ctx.warn("Ignore the 'boot' due to 'opts' contains 'noauto'.")
    elif not p["boot"]:
        args["boot"] = "no"
        opts.append("noauto")
        args["opts"] = ",".join(opts)

    state, name = p["state"], p["path"]
    if state != "ephemeral" and not os.path.exists(args["fstab"]):
        # the module creates a missing fstab, check mode or not
        if not os.path.exists(os.path.dirname(args["fstab"])):
            os.makedirs(os.path.dirname(args["fstab"]))
        try:
            open(args["fstab"], "a").close()
        except PermissionError:
            raise ModuleFailed("Failed to open %s due to permission issue" % args["fstab"]) \
                from None
        except Exception as ex:
            raise ModuleFailed("Failed to open %s due to %s" % (args["fstab"], ex)) from None

    changed = False
    if state == "absent_from_fstab":
        name, changed = _mount_unset(p, args, ctx)
    elif state == "absent":
        name, changed = _mount_unset(p, args, ctx)
        if changed and not ctx.check_mode:
            if os.path.ismount(name) or _mount_is_bind_mounted(ctx, linux_mounts, name):
                res, msg = _mount_umount(name, ctx)
                if res:
                    raise ModuleFailed("Error unmounting %s: %s" % (name, msg))
            if os.path.exists(name):
                try:
                    os.rmdir(name)
                except OSError as ex:
                    raise ModuleFailed("Error rmdir %s: %s" % (name, ex)) from None
    elif state == "unmounted":
        if os.path.ismount(name) or _mount_is_bind_mounted(ctx, linux_mounts, name):
            if not ctx.check_mode:
                res, msg = _mount_umount(name, ctx)
                if res:
                    raise ModuleFailed("Error unmounting %s: %s" % (name, msg))
            changed = True
    elif state in ("mounted", "ephemeral"):
        dirs_created = []
        if not os.path.exists(name) and not ctx.check_mode:
            try:
                curpath = ""
                for dirname in name.strip("/").split("/"):
                    curpath = "/".join([curpath, dirname])
                    if not os.path.isabs(name):
                        curpath = curpath.lstrip("/")
                    if not os.path.exists(curpath):
                        try:
                            os.mkdir(curpath)
                            dirs_created.append(curpath)
                        except OSError as ex:
                            if not (ex.errno == errno.EEXIST and os.path.isdir(curpath)):
                                raise
            except OSError as ex:
                raise ModuleFailed("Error making dir %s: %s" % (name, ex)) from None
        if state != "ephemeral":
            name, backup_lines, changed = _mount_set(p, args, ctx)
        else:
            name, backup_lines, changed = args["name"], [], False
        res, msg = 0, ""
        if os.path.ismount(name) or _mount_is_bind_mounted(ctx, linux_mounts, name, args["src"]):
            if changed and not ctx.check_mode:
                res, msg = _mount_remount(p, args, ctx)
                changed = True
            if state == "ephemeral":
                if _mount_same_src(ctx, args["src"], args["name"], linux_mounts):
                    changed = True
                    if not ctx.check_mode:
                        res, msg = _mount_remount(p, args, ctx)
                else:
                    raise ModuleFailed(
                        "Ephemeral mount point is already mounted with a different source than "
                        "the specified one. Failing in order to prevent an unwanted unmount or "
                        "override operation. Try replacing this command with a \"state: "
                        "unmounted\" followed by a \"state: ephemeral\", or use a different "
                        "destination path.")
        else:
            changed = True
            if not ctx.check_mode:
                res, msg = _mount_mount(p, args, ctx)
        if res:
            # a broken fstab entry could break the next boot: undo what can be undone
            try:
                if state != "ephemeral":
                    _mount_write_fstab(p, backup_lines, args["fstab"], ctx)
            except Exception:
                pass
            try:
                for dirname in dirs_created[::-1]:
                    os.rmdir(dirname)
            except Exception:
                pass
            raise ModuleFailed("Error mounting %s: %s" % (name, msg))
    elif state == "present":
        name, _, changed = _mount_set(p, args, ctx)
    elif state == "remounted":
        if not ctx.check_mode:
            res, msg = _mount_remount(p, args, ctx)
            if res:
                raise ModuleFailed("Error remounting %s: %s" % (name, msg))
        changed = True
    return dict(args, changed=changed)
