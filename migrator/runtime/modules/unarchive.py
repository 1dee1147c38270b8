"""ansible.builtin.unarchive (action plugin and module).

Tar archives go through GNU tar exactly as the module drives it (`--list`,
`--diff` with the module's reading of the differences, `--extract`, the same
command lines, extra_opts included). Zip archives: the module's per-entry
"already unarchived" comparison (presence, type, mtime, size, CRC-32,
permissions, owner, group) is done with Python's zipfile instead of parsing
`zipinfo -T -s`; extraction runs `unzip -o` as the module does, or, on a node
without unzip, Python's zipfile leaves the same files (modes from the
archive, mtimes from its DOS time stamps) with empty `out`.

A `src` that is not remote is the file the converter staged on the node; an
URL is downloaded with uri_fetch. In check mode a tar archive is skipped, as
the module's TgzArchive does.
"""

import binascii
import codecs
import fnmatch
import grp
import os
import pwd
import re
import shlex
import shutil
import stat
import tempfile
import time
import urllib.parse
import zipfile

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import (  # tm:strip
    common_bin_path, common_boolean, common_file_args, common_mode_value, common_path_info,  # tm:strip
    common_run,  # tm:strip
    common_set_fs_attributes, common_validate)  # tm:strip
from migrator.runtime.modules.uri import uri_fetch, uri_mask_url  # tm:strip

_UNARCHIVE_SPEC = {
    "src": {"type": "path", "required": True},
    "dest": {"type": "path", "required": True},
    "remote_src": {"type": "bool", "default": False},
    "creates": {"type": "path"},
    "list_files": {"type": "bool", "default": False},
    "keep_newer": {"type": "bool", "default": False},
    "exclude": {"type": "list", "elements": "str", "default": []},
    "include": {"type": "list", "elements": "str", "default": []},
    "extra_opts": {"type": "list", "elements": "str", "default": []},
    "validate_certs": {"type": "bool", "default": True},
    "io_buffer_size": {"type": "int", "default": 64 * 1024},
    "copy": {"type": "bool", "default": True},
    "decrypt": {"type": "bool", "default": True},
}


def _unarchive_bool(value):
    try:
        return common_boolean(value)
    except TypeError:
        return False


@module("ansible.builtin.unarchive", "ansible.legacy.unarchive")
def unarchive_module(params, ctx):
    """The action plugin's checks, then the module."""
    params = dict(params)
    source, dest = params.get("src"), params.get("dest")
    remote_src = _unarchive_bool(params.get("remote_src", False))
    if "copy" in params:
        if "remote_src" in params:
            raise ModuleFailed("parameters are mutually exclusive: ('copy', 'remote_src')")
        params["remote_src"] = remote_src = not _unarchive_bool(params.pop("copy"))
    if source is None or dest is None:
        raise ModuleFailed("src (or content) and dest are required")
    creates = params.get("creates")
    if creates and os.path.exists(os.path.expanduser(creates)):
        return {"changed": False, "skipped": True, "msg": "skipped, since %s exists" % creates}
    dest = os.path.expanduser(dest)
    if not remote_src and "://" in source:
        raise ModuleFailed("Unsupported option, an URI src (%s) is only supported when "
                           "remote_src is True" % uri_mask_url(source))
    if not os.path.isdir(dest):
        raise ModuleFailed("dest '%s' must be an existing dir" % dest)
    params.pop("decrypt", None)
    p = common_validate("ansible.legacy.unarchive", params, _UNARCHIVE_SPEC, ctx,
                        file_common=True, mutually_exclusive=[("include", "exclude")])
    try:
        return _unarchive_run(p, ctx)
    except _UnarchiveSkip:
        return {"changed": False, "skipped": True, "msg": "remote module (ansible.legacy."
                "unarchive) does not support check mode when using gtar"}


def _unarchive_run(p, ctx):
    src, dest = p["src"], p["dest"]
    abs_dest = os.path.abspath(dest)
    if not os.path.isabs(dest):
        ctx.warn("Relative destination path '%s' was resolved to absolute path '%s'." % (
            dest, abs_dest))
    file_args = common_file_args(p, ctx, path=dest)
    fetched = None
    try:
        if not os.path.exists(src):
            if not p["remote_src"]:
                raise ModuleFailed("Source '%s' failed to transfer" % src)
            if "://" in src:
                src = fetched = _unarchive_fetch(p, src)
            else:
                raise ModuleFailed("Source '%s' does not exist" % src)
        if not os.access(src, os.R_OK):
            raise ModuleFailed("Source '%s' not readable" % src)
        src = os.path.abspath(src)
        try:
            if os.path.getsize(src) == 0:
                raise ModuleFailed("Invalid archive '%s', the file is 0 bytes" % src)
        except OSError as ex:
            raise ModuleFailed("Source '%s' not readable, %s" % (src, ex)) from None
        if not os.path.isdir(abs_dest):
            raise ModuleFailed("Destination '%s' is not a directory" % dest)
        handler = _unarchive_handler(src, abs_dest, file_args, p, ctx)
        result = {"handler": handler.name, "dest": dest, "src": src}
        check = handler.is_unarchived()
        if ctx.check_mode:
            result["changed"] = not check["unarchived"]
        elif check["unarchived"]:
            result["changed"] = False
        else:
            result["extract_results"] = handler.unarchive()
            if result["extract_results"]["rc"] != 0:
                raise ModuleFailed("failed to unpack %s to %s" % (src, abs_dest), **result)
            result["changed"] = True
        if check.get("diff"):
            result["diff"] = {"prepared": check["diff"]}
        if result.get("diff", True) and not ctx.check_mode:
            top_folders = []
            for filename in handler.files_in_archive():
                file_args["path"] = os.path.join(abs_dest, filename)
                result["changed"] = common_set_fs_attributes(file_args, result["changed"], ctx)
                if "/" in filename:
                    top = filename.split("/")[0]
                    if top not in top_folders:
                        top_folders.append(top)
            for top in top_folders:
                file_args["path"] = "%s/%s" % (dest, top)
                result["changed"] = common_set_fs_attributes(file_args, result["changed"], ctx)
        if p["list_files"]:
            result["files"] = handler.files_in_archive()
        return common_path_info(result, ctx)
    finally:
        if fetched and os.path.exists(fetched):
            os.remove(fetched)


def _unarchive_fetch(p, url):
    """fetch_file: the URL downloaded beside the module, named like it."""
    name = os.path.basename(urllib.parse.urlparse(url).path)
    prefix, suffix = name, ""
    for index, part in enumerate(reversed(["." + s for s in name.split(".")[1:]])):
        if index >= 2 or not 3 <= len(part) <= 4:
            break
        suffix = part + suffix
        prefix = prefix[:-len(part)]
    handle = tempfile.NamedTemporaryFile(prefix=prefix, suffix=suffix, delete=False)
    try:
        response, info = uri_fetch(p, url)
        if not response or (response.code and response.code >= 400):
            raise ModuleFailed("Failure downloading %s, %s" % (uri_mask_url(url), info["msg"]))
        shutil.copyfileobj(response, handle)
    except ModuleFailed:
        handle.close()
        os.remove(handle.name)
        raise
    except Exception as ex:
        handle.close()
        os.remove(handle.name)
        raise ModuleFailed("Failure downloading %s, %s" % (uri_mask_url(url), ex)) from None
    handle.close()
    return handle.name


class _UnarchiveError(Exception):
    pass


def _unarchive_handler(src, dest, file_args, p, ctx):
    """pick_handler: ZipArchive when unzip is there (or Python's zipfile reads it), else tar."""
    reasons = []
    unzip = common_bin_path("unzip", ctx)
    if unzip:
        rc, _, err = common_run(ctx, [unzip, "-l", src])
        if rc == 0:
            return _UnarchiveZip(src, dest, file_args, p, ctx, unzip)
        reasons.append('Command "%s" could not handle archive: %s' % (unzip, err))
    elif zipfile.is_zipfile(src):
        return _UnarchiveZip(src, dest, file_args, p, ctx, None)
    else:
        reasons.append("Unable to find required 'unzip' binary in the path.")
    if ctx.check_mode:
        # TgzArchive leaves at once in check mode, whatever the archive holds
        raise _UnarchiveSkip()
    tar = common_bin_path("gtar", ctx) or common_bin_path("tar", ctx)
    if not tar:
        reasons.append("Unable to find required 'gtar' or 'tar' binary in the path")
    else:
        rc, out, _ = common_run(ctx, [tar, "--version"])
        if not (out.startswith("tar") and "GNU" in out):
            reasons.append('Command "%s" detected as tar type %s. GNU tar required.' % (
                tar, "bsd" if out.startswith("bsdtar") else None))
        else:
            with open(src, "rb") as stream:
                magic = stream.read(6)
            candidates = [("TgzArchive", "-z"), ("TarArchive", "")]
            if magic.startswith(b"BZh"):
                candidates = [("TarBzipArchive", "-j")]
            elif magic.startswith(b"\xfd7zXZ"):
                candidates = [("TarXzArchive", "-J")]
            elif magic.startswith(b"\x28\xb5\x2f\xfd"):
                candidates = [("TarZstdArchive", "--use-compress-program=zstd")]
            for name, flag in candidates:
                handler = _UnarchiveTar(src, dest, file_args, p, ctx, name, flag, tar)
                try:
                    if handler.files_in_archive():
                        return handler
                    reasons.append('Command "%s" found no files in archive. Empty archive '
                                   "files are not supported." % tar)
                except _UnarchiveError as ex:
                    reasons.append('Command "%s" could not handle archive: %s' % (tar, ex))
    raise ModuleFailed('Failed to find handler for "%s". Make sure the required command to '
                       "extract the file is installed.\n%s" % (src, "\n".join(reasons)))


class _UnarchiveSkip(Exception):
    pass


def _unarchive_user(file_args):
    """(owner name, uid, group name, gid) the extracted files should get."""
    run_uid, run_gid = os.getuid(), os.getgid()
    try:
        run_owner = pwd.getpwuid(run_uid).pw_name
    except KeyError:
        run_owner = run_uid
    try:
        run_group = grp.getgrgid(run_gid).gr_name
    except KeyError:
        run_group = run_gid
    owner, uid = run_owner, run_uid
    if file_args["owner"]:
        try:
            entry = pwd.getpwnam(file_args["owner"])
        except KeyError:
            try:
                entry = pwd.getpwuid(int(file_args["owner"]))
            except (KeyError, ValueError):
                entry = pwd.getpwuid(run_uid)
        owner, uid = entry.pw_name, entry.pw_uid
    group, gid = run_group, run_gid
    if file_args["group"]:
        try:
            entry = grp.getgrnam(file_args["group"])
        except KeyError:
            try:
                entry = grp.getgrgid(int(file_args["group"]))
            except (KeyError, ValueError):
                entry = grp.getgrgid(run_gid)
        group, gid = entry.gr_name, entry.gr_gid
    return run_owner, run_group, owner, uid, group, gid


class _UnarchiveZip:
    """ZipArchive."""

    name = "ZipArchive"

    def __init__(self, src, dest, file_args, p, ctx, unzip):
        self.src, self.dest, self.file_args, self.p, self.ctx = src, dest, file_args, p, ctx
        self.unzip = unzip
        self.excludes = list(p["exclude"])
        self.include_files = p["include"]
        self._files = None

    def files_in_archive(self):
        if self._files is None:
            self._files = []
            with zipfile.ZipFile(self.src) as archive:
                for member in archive.namelist():
                    if self.include_files:
                        for include in self.include_files:
                            if fnmatch.fnmatch(member, include):
                                self._files.append(member)
                    elif not any(fnmatch.fnmatch(member, e) for e in self.excludes):
                        self._files.append(member)
        return self._files

    def _selected(self, infos):
        """The entries zipinfo/unzip are given: include patterns, minus -x patterns."""
        chosen = []
        for info in infos:
            if self.include_files and not any(fnmatch.fnmatch(info.filename, i)
                                              for i in self.include_files):
                continue
            if any(fnmatch.fnmatch(info.filename, e) for e in self.excludes):
                continue
            chosen.append(info)
        return chosen

    @staticmethod
    def _unix_mode(info):
        return info.external_attr >> 16 if info.create_system == 3 else 0

    def _expected_mode(self, info, umask):
        """What unzip leaves, as the module computes it from zipinfo's permission string."""
        mode = self._unix_mode(info)
        if mode:
            bits = 0
            for shift in range(9):  # s/t/S/T count as the x bit, as in _permstr_to_octal
                if mode & (1 << shift):
                    bits |= 1 << shift
            if mode & stat.S_ISUID:
                bits |= stat.S_IXUSR
            if mode & stat.S_ISGID:
                bits |= stat.S_IXGRP
            if mode & stat.S_ISVTX:
                bits |= stat.S_IXOTH
            return bits & 0o7777
        return (0o777 if info.filename.endswith("/") else 0o666) & ~umask

    @staticmethod
    def _timestamp(info):
        year = info.date_time[0]
        if year < 1980:
            date_time = (1980, 1, 1, 0, 0, 0)
        elif year > 2107:
            date_time = (2107, 12, 31, 23, 59, 59)
        else:
            date_time = info.date_time
        return time.mktime(time.struct_time(tuple(date_time) + (0, 0, -1)))

    def is_unarchived(self):
        umask = os.umask(0)
        os.umask(umask)
        run_owner, run_group, fut_owner, fut_uid, fut_group, fut_gid = \
            _unarchive_user(self.file_args)
        self.includes = []
        diff = ""
        with zipfile.ZipFile(self.src) as archive:
            infos = self._selected(archive.infolist())
        for info in infos:
            path = info.filename
            mode = self._unix_mode(info)
            if path.endswith("/"):
                ftype = "d"
            elif stat.S_ISLNK(mode):
                ftype = "L"
            else:
                ftype = "f"
            target = os.path.join(self.dest, path)
            try:
                st = os.lstat(target)
            except OSError:
                self.includes.append(path)
                diff += ">%s++++++.?? %s\n" % (ftype, path)
                continue
            if (ftype == "d" and not stat.S_ISDIR(st.st_mode)) or \
                    (ftype == "f" and not stat.S_ISREG(st.st_mode)) or \
                    (ftype == "L" and not stat.S_ISLNK(st.st_mode)):
                self.includes.append(path)
                diff += "c%s++++++.?? %s\n" % (ftype, path)
                continue
            change = False
            itemized = list(".%s.......??" % ftype)
            if stat.S_ISREG(st.st_mode):
                timestamp = self._timestamp(info)
                if self.p["keep_newer"]:
                    if timestamp > st.st_mtime:
                        change = True
                        itemized[4] = "t"
                    elif timestamp < st.st_mtime:
                        self.excludes.append(path)
                        continue
                elif timestamp != st.st_mtime:
                    change = True
                    itemized[4] = "t"
                if info.file_size != st.st_size:
                    change = True
                    itemized[3] = "s"
                with open(target, "rb") as stream:
                    crc = binascii.crc32(b"")
                    for block in iter(lambda: stream.read(self.p["io_buffer_size"]), b""):
                        crc = binascii.crc32(block, crc)
                if (crc & 0xffffffff) != info.CRC:
                    change = True
                    itemized[2] = "c"
            if ftype != "L":
                if self.file_args["mode"]:
                    wanted = common_mode_value(self.file_args["mode"], st, path)
                else:
                    wanted = self._expected_mode(info, umask)
                if wanted != stat.S_IMODE(st.st_mode):
                    change = True
                    itemized[5] = "p"
            if os.getuid() != 0 and (fut_owner != run_owner or fut_uid != os.getuid()):
                raise ModuleFailed("Cannot change ownership of %s to %s, as user %s" % (
                    path, fut_owner, run_owner))
            try:
                owner = pwd.getpwuid(st.st_uid).pw_name
                if owner != fut_owner:
                    change, itemized[6] = True, "o"
            except KeyError:
                if st.st_uid != fut_uid:
                    change, itemized[6] = True, "o"
            try:
                group = grp.getgrgid(st.st_gid).gr_name
                if group != fut_group:
                    change, itemized[6] = True, "g"
            except KeyError:
                if st.st_gid != fut_gid:
                    change, itemized[6] = True, "g"
            if change:
                if path not in self.includes:
                    self.includes.append(path)
                diff += "%s %s\n" % ("".join(itemized), path)
        return {"unarchived": not self.includes, "diff": diff}

    def unarchive(self):
        cmd = [self.unzip or "unzip", "-o"] + list(self.p["extra_opts"]) + [self.src]
        if self.excludes:
            cmd += ["-x"] + self.excludes
        cmd += list(self.include_files) + ["-d", self.dest]
        if self.unzip:
            rc, out, err = common_run(self.ctx, cmd)
            return {"cmd": cmd, "rc": rc, "out": out, "err": err}
        if self.p["extra_opts"]:
            raise ModuleFailed("extra_opts need unzip, which is not installed on this node")
        # no unzip on the node: Python's zipfile leaves what unzip would, without its output
        umask = os.umask(0)
        os.umask(umask)
        directories = []
        with zipfile.ZipFile(self.src) as archive:
            for info in self._selected(archive.infolist()):
                target = os.path.join(self.dest, info.filename.lstrip("/"))
                if os.path.relpath(os.path.abspath(target), self.dest).startswith(".."):
                    continue
                mode = self._unix_mode(info)
                if info.filename.endswith("/"):
                    os.makedirs(target, exist_ok=True)
                    directories.append((target, info))
                    continue
                os.makedirs(os.path.dirname(target), exist_ok=True)
                if os.path.lexists(target) and not os.path.isdir(target):
                    os.unlink(target)
                if stat.S_ISLNK(mode):
                    os.symlink(archive.read(info).decode("utf-8", "surrogateescape"), target)
                    continue
                with archive.open(info) as data, open(target, "wb") as out:
                    shutil.copyfileobj(data, out)
                os.chmod(target, (stat.S_IMODE(mode) & 0o777) if mode else 0o666 & ~umask)
                stamp = self._timestamp(info)
                os.utime(target, (stamp, stamp))
        for target, info in reversed(directories):
            mode = self._unix_mode(info)
            os.chmod(target, (stat.S_IMODE(mode) & 0o777) if mode else 0o777 & ~umask)
            stamp = self._timestamp(info)
            os.utime(target, (stamp, stamp))
        return {"cmd": cmd, "rc": 0, "out": "", "err": ""}


_UNARCHIVE_TAR_COUNTED = re.compile(
    r": (Mod time differs|Warning: Cannot stat: No such file or directory|Invalid owner|"
    r"Invalid group|Symlink differs|Contents differ|Size differs)$")


class _UnarchiveTar:
    """TgzArchive and TarArchive: GNU tar's --list, --diff and --extract, as the module runs them."""

    def __init__(self, src, dest, file_args, p, ctx, name, zipflag, tar):
        self.src, self.dest, self.file_args, self.p, self.ctx = src, dest, file_args, p, ctx
        self.name, self.zipflag, self.tar = name, zipflag, tar
        self.excludes = [path.rstrip("/") for path in p["exclude"]]
        self.include_files = p["include"]
        self._files = None

    def _command(self, verb):
        cmd = [self.tar, verb, "-C", self.dest]
        if self.zipflag:
            cmd.append(self.zipflag)
        if self.p["extra_opts"]:
            cmd += ["--show-transformed-names"] + list(self.p["extra_opts"])
        if verb != "--list":
            if self.file_args["owner"]:
                cmd.append("--owner=" + shlex.quote(self.file_args["owner"]))
            if self.file_args["group"]:
                cmd.append("--group=" + shlex.quote(self.file_args["group"]))
            if self.p["keep_newer"]:
                cmd.append("--keep-newer-files")
        cmd += ["--exclude=" + f for f in self.excludes]
        cmd += ["-f", self.src] + list(self.include_files)
        return cmd

    def _run(self, verb):
        cmd = self._command(verb)
        rc, out, err = common_run(self.ctx, cmd, cwd=self.dest, environ_update={
            "LANG": "C", "LC_ALL": "C", "LC_MESSAGES": "C", "LANGUAGE": "C"})
        return cmd, rc, out, err

    def files_in_archive(self):
        if self._files is None:
            _, rc, out, err = self._run("--list")
            if rc != 0:
                raise _UnarchiveError("Unable to list files in the archive: %s" % err)
            files = []
            for filename in out.splitlines():
                filename = codecs.escape_decode(filename)[0].decode("utf-8", "surrogateescape")
                if filename.startswith("/"):
                    filename = filename[1:]
                if not any(fnmatch.fnmatch(filename, e) for e in self.excludes):
                    files.append(filename)
            self._files = files
        return self._files

    def is_unarchived(self):
        cmd, rc, out, err = self._run("--diff")
        counted = ""
        root = os.getuid() == 0
        for line in out.splitlines() + err.splitlines():
            if re.search(r": : Warning: Cannot stat: No such file or directory$", line):
                continue
            if root and not self.file_args["owner"] and re.search(r": Uid differs$", line):
                counted += line + "\n"
            if root and not self.file_args["group"] and re.search(r": Gid differs$", line):
                counted += line + "\n"
            if not self.file_args["mode"] and re.search(r": Mode differs$", line):
                counted += line + "\n"
            if _UNARCHIVE_TAR_COUNTED.search(line):
                counted += line + "\n"
        return {"unarchived": not counted, "rc": rc, "out": counted, "err": err, "cmd": cmd}

    def unarchive(self):
        cmd, rc, out, err = self._run("--extract")
        return {"cmd": cmd, "rc": rc, "out": out, "err": err}
