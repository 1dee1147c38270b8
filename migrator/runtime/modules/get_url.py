"""ansible.builtin.get_url, on uri_fetch (fetch_url) from the uri port."""

import datetime
import email.message
import os
import re
import shutil
import tempfile
import urllib.parse

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import (  # tm:strip
    COMMON_URL_SPEC, common_atomic_move, common_backup_local, common_digest, common_file_args, common_md5,  # tm:strip
    common_path_info, common_set_fs_attributes, common_validate)  # tm:strip
from migrator.runtime.modules.uri import uri_fetch, uri_mask_url, uri_sha1  # tm:strip

_GET_URL_SPEC = dict(
    COMMON_URL_SPEC,
    url_username={"type": "str", "aliases": ["username"]},
    url_password={"type": "str", "aliases": ["password"]},
    url={"type": "str", "required": True},
    dest={"type": "path", "required": True},
    backup={"type": "bool", "default": False},
    checksum={"type": "str", "default": ""},
    timeout={"type": "int", "default": 10},
    headers={"type": "dict"},
    tmp_dest={"type": "path"},
    unredirected_headers={"type": "list", "elements": "str", "default": []},
    decompress={"type": "bool", "default": True},
    ciphers={"type": "list", "elements": "str"},
    use_netrc={"type": "bool", "default": True},
)


class _GetUrlExit(Exception):
    """exit_json from inside url_get (a 304)."""

    def __init__(self, result):
        super().__init__()
        self.result = result


def _get_url_filename(url):
    return os.path.basename(urllib.parse.urlsplit(url)[2]) or "index.html"


def _get_url_fetch(p, url, dest, last_mod_time, force, timeout, headers, tmp_dest,
                   method="GET"):
    """url_get: download into a temporary file; (its name, info)."""
    start = datetime.datetime.now(datetime.timezone.utc)
    rsp, info = uri_fetch(p, url, use_proxy=p["use_proxy"], force=force,
                          last_mod_time=last_mod_time, timeout=timeout, headers=headers,
                          method=method, unredirected_headers=p["unredirected_headers"],
                          decompress=p["decompress"], ciphers=p["ciphers"],
                          use_netrc=p["use_netrc"])
    elapsed = (datetime.datetime.now(datetime.timezone.utc) - start).seconds
    if info["status"] == 304:
        raise _GetUrlExit({"url": uri_mask_url(url), "dest": dest, "changed": False,
                           "msg": info.get("msg", ""), "status_code": info["status"],
                           "elapsed": elapsed})
    if info["status"] == -1:
        raise ModuleFailed(info["msg"], url=uri_mask_url(url), dest=dest, elapsed=elapsed)
    if info["status"] != 200 and not url.startswith("file:/") and not (
            url.startswith("ftp:/") and info.get("msg", "").startswith("OK")):
        raise ModuleFailed("Request failed", status_code=info["status"], response=info["msg"],
                           url=uri_mask_url(url), dest=dest, elapsed=elapsed)
    if tmp_dest:
        if not os.path.isdir(tmp_dest):
            if os.path.exists(tmp_dest):
                raise ModuleFailed("%s is a file but should be a directory." % tmp_dest,
                                   elapsed=elapsed)
            raise ModuleFailed("%s directory does not exist." % tmp_dest, elapsed=elapsed)
    fd, tempname = tempfile.mkstemp(dir=tmp_dest or None)
    with os.fdopen(fd, "wb") as stream:
        try:
            shutil.copyfileobj(rsp, stream)
        except Exception as ex:
            os.remove(tempname)
            raise ModuleFailed("failed to create temporary content file: %s" % ex,
                               elapsed=elapsed) from None
    rsp.close()
    is_gzip = info.get("content-encoding") == "gzip"
    if method != "HEAD" and "content-length" in info and (not is_gzip or not p["decompress"]):
        size, expected = os.stat(tempname).st_size, int(info["content-length"])
        if size != expected:
            raise ModuleFailed("Incomplete read, (rsp.length=%s, cl=%s, st.st_size=%s) failed to "
                               "read remaining %s bytes" % (rsp.length, expected, size,
                                                            expected - size))
    return tempname, info


def _get_url_header_filename(info):
    message = email.message.Message()
    message["content-disposition"] = info.get("content-disposition", "")
    filename = message.get_param("filename", header="content-disposition")
    return os.path.basename(filename) if filename else filename


def _get_url_digest_lines(filename, lines):
    checksums = []
    bsd = re.compile(r"^(\w+) ?\((?P<path>.+)\) ?= (?P<digest>[\w.]+)$")
    gnu = re.compile(r"^(?P<digest>[\w.]+)\s+(\*|\.\/|\.)?(?P<path>.+)$")
    if len(lines) == 1 and len(lines[0].split()) == 1:
        return [(lines[0], filename)]
    for line in lines:
        found = bsd.match(line) or gnu.match(line)
        if found and found.re is bsd:
            checksums.append((found.group("digest"), found.group("path")))
        elif found:
            checksums.append((found.group("digest"), found.group("path").lstrip("./")))
    return checksums


def _get_url_digest(path, algorithm):
    try:
        return common_digest(path, algorithm)
    except ValueError:
        raise ModuleFailed("Could not hash file '%s' with algorithm '%s'. Available algorithms: "
                           "%s" % (path, algorithm, "md5, sha1, sha224, sha256, sha384, sha512")
                           ) from None


@module("ansible.builtin.get_url", "ansible.legacy.get_url")
def get_url_module(params, ctx):
    p = common_validate("ansible.builtin.get_url", params, _GET_URL_SPEC, ctx, file_common=True)
    try:
        return _get_url_run(p, ctx)
    except _GetUrlExit as done:
        return common_path_info(done.result, ctx)
    except ModuleFailed as failed:
        common_path_info(failed.result, ctx)  # fail_json adds it too
        raise


def _get_url_run(p, ctx):
    url, dest, force, checksum = p["url"], p["dest"], p["force"], p["checksum"]
    timeout, headers, tmp_dest = p["timeout"], p["headers"], p["tmp_dest"]
    result = {"changed": False, "checksum_dest": None, "checksum_src": None, "dest": dest,
              "elapsed": 0, "url": uri_mask_url(url)}
    dest_is_dir = os.path.isdir(dest)
    last_mod_time = None
    algorithm = None
    if checksum:
        try:
            algorithm, checksum = checksum.split(":", 1)
        except ValueError:
            raise ModuleFailed("The checksum parameter has to be in format "
                               "<algorithm>:<checksum>", **result) from None
        if urllib.parse.urlsplit(checksum).scheme in ("http", "https", "ftp", "file"):
            checksum_url = checksum
            checksum_tmpsrc, _ = _get_url_fetch(p, checksum_url, dest, last_mod_time, force,
                                                timeout, headers, tmp_dest)
            with open(checksum_tmpsrc) as stream:
                lines = [line.rstrip("\n") for line in stream]
            os.remove(checksum_tmpsrc)
            filename = _get_url_filename(url)
            checksum = next((c for c, f in _get_url_digest_lines(filename, lines)
                             if f == filename), None)
            if checksum is None:
                raise ModuleFailed("Unable to find a checksum for file '%s' in '%s'" % (
                    filename, uri_mask_url(checksum_url)))
        checksum = re.sub(r"\W+", "", checksum).lower()
        try:
            int(checksum, 16)
        except ValueError:
            raise ModuleFailed("The checksum format is invalid", **result) from None

    if not dest_is_dir and os.path.exists(dest):
        checksum_mismatch = False
        if not force and checksum != "":
            if checksum != _get_url_digest(dest, algorithm):
                checksum_mismatch = True
        if not force and checksum and not checksum_mismatch:
            result["changed"] = common_set_fs_attributes(common_file_args(p, ctx, path=dest),
                                                         False, ctx)
            if result["changed"]:
                return common_path_info(dict(
                    result, msg="file already exists but file attributes changed"), ctx)
            return common_path_info(dict(result, msg="file already exists"), ctx)
        last_mod_time = datetime.datetime.fromtimestamp(os.path.getmtime(dest),
                                                        datetime.timezone.utc)
        if checksum_mismatch:
            force = True

    start = datetime.datetime.now(datetime.timezone.utc)
    method = "HEAD" if ctx.check_mode else "GET"
    tmpsrc, info = _get_url_fetch(p, url, dest, last_mod_time, force, timeout, headers,
                                  tmp_dest, method)
    result["elapsed"] = (datetime.datetime.now(datetime.timezone.utc) - start).seconds
    result["src"] = tmpsrc
    if dest_is_dir:
        filename = _get_url_header_filename(info) or _get_url_filename(info["url"])
        dest = os.path.join(dest, filename)
        result["dest"] = dest
    if not os.path.exists(tmpsrc):
        raise ModuleFailed("Request failed", status_code=info["status"], response=info["msg"],
                           **result)
    if not os.access(tmpsrc, os.R_OK):
        os.remove(tmpsrc)
        raise ModuleFailed("Source %s is not readable" % tmpsrc, **result)
    result["checksum_src"] = uri_sha1(tmpsrc)
    if os.path.exists(dest):
        if not os.access(dest, os.W_OK):
            os.remove(tmpsrc)
            raise ModuleFailed("Destination %s is not writable" % dest, **result)
        if not os.access(dest, os.R_OK):
            os.remove(tmpsrc)
            raise ModuleFailed("Destination %s is not readable" % dest, **result)
        result["checksum_dest"] = uri_sha1(dest)
    else:
        if not os.path.exists(os.path.dirname(dest)):
            os.remove(tmpsrc)
            raise ModuleFailed("Destination %s does not exist" % os.path.dirname(dest), **result)
        if not os.access(os.path.dirname(dest), os.W_OK):
            os.remove(tmpsrc)
            raise ModuleFailed("Destination %s is not writable" % os.path.dirname(dest),
                               **result)
    if ctx.check_mode:
        if os.path.exists(tmpsrc):
            os.remove(tmpsrc)
        # the module's test: checksum_dest is always a key, so only the checksums count
        result["changed"] = result["checksum_src"] != result["checksum_dest"]
        return common_path_info(dict(result, msg=info.get("msg", "")), ctx)
    if checksum != "":
        tmpsrc_checksum = _get_url_digest(tmpsrc, algorithm)
        if checksum != tmpsrc_checksum:
            os.remove(tmpsrc)
            raise ModuleFailed("The checksum for %s did not match %s; it was %s." % (
                tmpsrc, checksum, tmpsrc_checksum), **result)
    backup_file = None
    if result["checksum_src"] != result["checksum_dest"]:
        try:
            if p["backup"] and os.path.exists(dest):
                backup_file = common_backup_local(dest, ctx)
            common_atomic_move(tmpsrc, dest, ctx, unsafe_writes=p["unsafe_writes"])
        except Exception as ex:
            if os.path.exists(tmpsrc):
                os.remove(tmpsrc)
            raise ModuleFailed("failed to copy %s to %s: %s" % (tmpsrc, dest, ex),
                               **result) from None
        result["changed"] = True
    else:
        result["changed"] = False
        if os.path.exists(tmpsrc):
            os.remove(tmpsrc)
    result["changed"] = common_set_fs_attributes(common_file_args(p, ctx, path=dest),
                                                 result["changed"], ctx)
    result["md5sum"] = common_md5(dest)
    if backup_file:
        result["backup_file"] = backup_file
    result.update(msg=info.get("msg", ""), status_code=info.get("status", ""))
    return common_path_info(result, ctx)
