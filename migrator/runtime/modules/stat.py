"""ansible.builtin.stat"""

import grp
import os
import pwd
import stat

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import (  # tm:strip
    common_bin_path, common_digest, common_validate)  # tm:strip

_STAT_SPEC = {
    "path": {"type": "path", "required": True, "aliases": ["dest", "name"]},
    "follow": {"type": "bool", "default": False},
    "get_checksum": {"type": "bool", "default": True},
    "get_mime": {"type": "bool", "default": True, "aliases": ["mime", "mime_type", "mime-type"]},
    "get_attributes": {"type": "bool", "default": True, "aliases": ["attr", "attributes"]},
    "checksum_algorithm": {"default": "sha1", "aliases": ["checksum", "checksum_algo"],
                           "choices": ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]},
}

_STAT_ATTRIBUTES = {
    "A": "noatime", "a": "append", "c": "compressed", "C": "nocow", "d": "nodump",
    "D": "dirsync", "e": "extents", "E": "encrypted", "h": "blocksize", "i": "immutable",
    "I": "indexed", "j": "journalled", "N": "inline", "s": "zero", "S": "synchronous",
    "t": "notail", "T": "blockroot", "u": "undelete", "X": "compressedraw",
    "Z": "compresseddirty",
}


def stat_format(path, st):
    """The stat dictionary fields that come from os.stat alone (find uses them too)."""
    mode = st.st_mode
    return {
        "exists": True, "path": path, "mode": "%04o" % stat.S_IMODE(mode),
        "isdir": stat.S_ISDIR(mode), "ischr": stat.S_ISCHR(mode), "isblk": stat.S_ISBLK(mode),
        "isreg": stat.S_ISREG(mode), "isfifo": stat.S_ISFIFO(mode),
        "islnk": stat.S_ISLNK(mode), "issock": stat.S_ISSOCK(mode),
        "uid": st.st_uid, "gid": st.st_gid, "size": st.st_size, "inode": st.st_ino,
        "dev": st.st_dev, "nlink": st.st_nlink, "atime": st.st_atime, "mtime": st.st_mtime,
        "ctime": st.st_ctime,
        "wusr": bool(mode & stat.S_IWUSR), "rusr": bool(mode & stat.S_IRUSR),
        "xusr": bool(mode & stat.S_IXUSR), "wgrp": bool(mode & stat.S_IWGRP),
        "rgrp": bool(mode & stat.S_IRGRP), "xgrp": bool(mode & stat.S_IXGRP),
        "woth": bool(mode & stat.S_IWOTH), "roth": bool(mode & stat.S_IROTH),
        "xoth": bool(mode & stat.S_IXOTH), "isuid": bool(mode & stat.S_ISUID),
        "isgid": bool(mode & stat.S_ISGID),
        "blocks": st.st_blocks, "block_size": st.st_blksize, "device_type": st.st_rdev,
    }


@module("ansible.builtin.stat", "ansible.legacy.stat")
def stat_module(params, ctx):
    p = common_validate("ansible.builtin.stat", params, _STAT_SPEC, ctx)
    path = p["path"]
    try:
        st = os.stat(path) if p["follow"] else os.lstat(path)
    except FileNotFoundError:
        return {"changed": False, "stat": {"exists": False}}
    except OSError as ex:
        raise ModuleFailed(ex.strerror) from ex

    output = stat_format(path, st)
    for name, flag in (("readable", os.R_OK), ("writeable", os.W_OK),
                       ("executable", os.X_OK)):
        output[name] = os.access(path, flag)
    if output["islnk"]:
        output["lnk_source"] = os.path.realpath(path)
        output["lnk_target"] = os.readlink(path)
    try:
        output["pw_name"] = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        pass
    try:
        output["gr_name"] = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        pass
    if output["isreg"] and output["readable"] and p["get_checksum"]:
        output["checksum"] = common_digest(path, p["checksum_algorithm"])
    if p["get_mime"]:
        output["mimetype"] = output["charset"] = "unknown"
        tool = common_bin_path("file", ctx)
        if tool:
            rc, out, _ = ctx.run([tool, "--mime-type", "--mime-encoding", path])
            if rc == 0:
                try:
                    mimetype, charset = out.rsplit(":", 1)[1].split(";")
                    output["mimetype"] = mimetype.strip()
                    output["charset"] = charset.split("=")[1].strip()
                except (IndexError, ValueError):
                    pass
    if p["get_attributes"]:
        output.update(version=None, attributes=[], attr_flags="")
        tool = common_bin_path("lsattr", ctx)
        if tool:
            rc, out, _ = ctx.run([tool, "-vd", path])
            fields = out.split()
            if rc == 0 and len(fields) > 1:
                flags = fields[1].replace("-", "").strip()
                output.update(version=fields[0].strip(), attr_flags=flags,
                              attributes=[_STAT_ATTRIBUTES[f] for f in flags
                                          if f in _STAT_ATTRIBUTES])
    return {"changed": False, "stat": output}
