"""community.general.archive: tar (plain, gz, bz2, xz) and zip archives of files and
trees, or one file compressed, with the module's choices (what counts as changed,
which names go into the archive, when sources are removed)."""

import bz2
import fnmatch
import glob
import gzip
import io
import lzma
import os
import re
import shutil
import tarfile
import zipfile
import zlib

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import (  # tm:strip
    common_file_args, common_path_info, common_set_fs_attributes, common_validate)  # tm:strip

_ARCHIVE_SPEC = {
    "path": {"type": "list", "elements": "path", "required": True},
    "format": {"type": "str", "default": "gz", "choices": ["bz2", "gz", "tar", "xz", "zip"]},
    "dest": {"type": "path"},
    "exclude_path": {"type": "list", "elements": "path", "default": []},
    "exclusion_patterns": {"type": "list", "elements": "path"},
    "force_archive": {"type": "bool", "default": False},
    "remove": {"type": "bool", "default": False},
}


def _archive_expand(paths):
    expanded, globby = [], False
    for path in paths:
        if "*" in path or "?" in path:
            expanded.extend(glob.glob(path))
            globby = True
        else:
            expanded.append(path)
    return expanded, globby


def _archive_common_path(paths):
    return os.path.join(os.path.dirname(os.path.commonprefix(
        [os.path.join(os.path.dirname(p), "") for p in paths])), "")


def _archive_strip(prefix, text):
    return text[len(prefix):] if text.startswith(prefix) else text


class _Archive:
    """The module's Archive, ZipArchive and TarArchive in one."""

    def __init__(self, p, ctx):
        self.p, self.ctx = p, ctx
        self.format = p["format"]
        self.dest = p["dest"] or None
        self.patterns = p["exclusion_patterns"] or []
        self.must_archive = p["force_archive"]
        self.changed = False
        self.dest_state = "absent"
        self.errors, self.successes, self.targets, self.not_found = [], [], [], []
        self.file = self.buffer = None
        self.expanded, globby = _archive_expand(p["path"])
        self.excluded = _archive_expand(p["exclude_path"])[0]
        self.paths = sorted(set(self.expanded) - set(self.excluded))
        if not self.paths:
            raise ModuleFailed("Error, no source paths were found", expanded_paths=", ".join(self.expanded),
                               expanded_exclude_paths=", ".join(self.excluded),
                               **common_path_info({"path": ", ".join(p["path"])}, ctx))
        self.root = _archive_common_path(self.paths)
        if not self.must_archive:
            self.must_archive = globby or os.path.isdir(self.paths[0]) or len(self.paths) > 1
        if not self.dest and not self.must_archive:
            self.dest = "%s.%s" % (self.paths[0], self.format)
        if self.must_archive and not self.dest:
            raise ModuleFailed('Error, must specify "dest" when archiving multiple files or trees',
                               dest=str(self.dest), **common_path_info({"path": ", ".join(p["path"])}, ctx))
        if p["remove"]:
            for path in self.paths:
                if os.path.isdir(path) and self.dest.startswith(os.path.join(path, "")):
                    # fail_json adds what it finds at `path`, as exit_json does
                    raise ModuleFailed("Error, created archive can not be contained in source paths when "
                                       "remove=true", **common_path_info({"path": ", ".join(self.paths)}, ctx))
        self.original_checksums = self.checksums()
        self.original_size = self.size()

    # -- the destination
    def exists(self):
        return bool(self.dest) and os.path.exists(self.dest)

    def size(self):
        return os.path.getsize(self.dest) if self.exists() else 0

    def checksums(self):
        if not (self.exists() and os.access(self.dest, os.R_OK)):
            return None
        if self.format == "zip":
            try:
                with zipfile.ZipFile(self.dest, "r") as archive:
                    return set((info.filename, info.CRC) for info in archive.infolist())
            except zipfile.BadZipFile:
                return set()
        try:
            if self.format == "xz":
                with lzma.open(self.dest, "r") as stream:
                    archive = tarfile.open(fileobj=stream)
                    found = set((info.name, info.chksum) for info in archive.getmembers())
                    archive.close()
            else:
                archive = tarfile.open(self.dest, "r|" + self.format)
                found = set((info.name, info.chksum) for info in archive.getmembers())
                archive.close()
            return found
        except (lzma.LZMAError, tarfile.ReadError, tarfile.CompressionError):
            try:
                stream = self.compressed(self.dest, "r")
                checksum = 0
                while True:
                    chunk = stream.read(16 * 1024 * 1024)
                    if not chunk:
                        break
                    checksum = zlib.crc32(chunk, checksum)
                stream.close()
                return {(b"", checksum)}
            except Exception:
                return set()

    def different(self):
        if self.original_checksums is None:
            return self.original_size != self.size()
        return self.original_checksums != self.checksums()

    def compressed(self, path, mode):
        if self.format == "gz":
            return gzip.open(path, mode)
        if self.format == "bz2":
            return bz2.BZ2File(path, mode)
        if self.format == "xz":
            return lzma.LZMAFile(path, mode)
        raise ModuleFailed("%s is not a valid format" % self.format)

    # -- writing
    def open(self):
        if self.format == "zip":
            self.file = zipfile.ZipFile(self.dest, "w", zipfile.ZIP_DEFLATED, True)
        elif self.format in ("gz", "bz2"):
            self.file = tarfile.open(self.dest, "w|" + self.format)
        elif self.format == "xz":
            self.buffer = io.BytesIO()
            self.file = tarfile.open(fileobj=self.buffer, mode="w")
        else:
            self.file = tarfile.open(self.dest, "w")

    def close(self):
        self.file.close()
        if self.format == "xz":
            with lzma.open(self.dest, "wb") as stream:
                stream.write(self.buffer.getvalue())
            self.buffer.close()

    def contains(self, name):
        try:
            if self.format == "zip":
                self.file.getinfo(name)
            else:
                self.file.getmember(name)
        except KeyError:
            return False
        return True

    def add(self, path, name):
        try:
            path.encode("ascii")
            if self.format == "zip":
                if not any(fnmatch.fnmatch(path, pattern) for pattern in self.patterns):
                    self.file.write(path, name)
            else:
                self.file.add(path, name, recursive=False, filter=lambda info: None if any(
                    fnmatch.fnmatch(info.name, pattern) for pattern in self.patterns) else info)
            if self.contains(name):
                self.successes.append(path)
        except Exception as ex:
            self.errors.append("%s: %s" % (path, ex))

    def add_single(self, path):
        if self.format in ("zip", "tar"):
            self.open()
            self.add(path, _archive_strip(self.root, path))
            self.close()
            self.dest_state = "archive"
            return
        try:
            out = self.compressed(self.dest, "wb")
            with open(path, "rb") as stream:
                shutil.copyfileobj(stream, out)
            out.close()
            self.successes.append(path)
            self.dest_state = "compress"
        except OSError as ex:
            raise ModuleFailed("Unable to write to compressed file: %s" % ex, dest=self.dest,
                               **common_path_info({"path": path}, self.ctx)) from ex

    def add_targets(self):
        self.open()
        try:
            for target in self.targets:
                if os.path.isdir(target):
                    for directory, dirnames, filenames in os.walk(target, topdown=True):
                        for name in dirnames + filenames:
                            full = os.path.join(directory, name)
                            self.add(full, _archive_strip(self.root, full))
                else:
                    self.add(target, _archive_strip(self.root, target))
        except Exception as ex:
            kind = self.format if self.format in ("zip", "tar") else "tar." + self.format
            raise ModuleFailed("Error when writing %s archive at %s: %s" % (kind, self.dest, ex)) from ex
        self.close()
        if self.errors:
            raise ModuleFailed("Errors when writing archive at %s: %s" % (self.dest, "; ".join(self.errors)))

    def remove_targets(self):
        for path in self.successes:
            if os.path.exists(path):
                try:
                    if os.path.isdir(path):
                        shutil.rmtree(path)
                    else:
                        os.remove(path)
                except OSError:
                    self.errors.append(path)
        for path in self.paths:
            try:
                if os.path.isdir(path):
                    shutil.rmtree(path)
            except OSError:
                self.errors.append(path)
        if self.errors:
            raise ModuleFailed("Error deleting some source files: ", dest=self.dest, files=self.errors)

    def result(self):
        return {"archived": list(self.successes), "dest": self.dest, "dest_state": self.dest_state,
                "changed": self.changed, "arcroot": self.root, "missing": list(self.not_found),
                "expanded_paths": list(self.expanded), "expanded_exclude_paths": list(self.excluded)}


@module("community.general.archive")
def archive_module(params, ctx):
    p = common_validate("community.general.archive", params, _ARCHIVE_SPEC, ctx, file_common=True)
    archive = _Archive(p, ctx)
    for path in archive.paths:
        (archive.targets if os.path.lexists(path) else archive.not_found).append(path)
    if not archive.targets:
        if archive.exists():
            archive.dest_state = "archive" if re.search(
                r"\.(tar|tar\.(gz|bz2|xz)|tgz|tbz2|zip)$", os.path.basename(archive.dest), re.I) else "compress"
    elif archive.must_archive:
        if ctx.check_mode:
            archive.changed = True
        else:
            archive.add_targets()
            archive.dest_state = "incomplete" if archive.not_found else "archive"
            archive.changed |= archive.different()
            if p["remove"]:
                archive.remove_targets()
    elif ctx.check_mode:
        if not archive.exists():
            archive.changed = True
    else:
        path = archive.paths[0]
        archive.add_single(path)
        archive.changed |= archive.different()
        if p["remove"]:
            try:
                os.remove(path)
            except OSError as ex:
                raise ModuleFailed("Unable to remove source file: %s" % ex,
                                   **common_path_info({"path": path}, ctx)) from ex
    if archive.exists():
        archive.changed = common_set_fs_attributes(common_file_args(p, ctx, path=archive.dest),
                                                   archive.changed, ctx)
    return common_path_info(archive.result(), ctx)
