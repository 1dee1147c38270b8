"""ansible.posix.authorized_key, as in ansible.posix 2.x.

The module's parsing (options split on commas outside quotes, the key found
by its type, lines that are not keys kept in place), its ordering (new keys
after the existing ones, in the order given), `exclusive`, `key_options`,
`comment`, `follow`, `manage_dir` (~/.ssh 0700, the file 0600, owned by the
user) and its result: every parameter, `keyfile`, and `changed`. Keys given as
an http(s) URL are fetched with uri_fetch, file:// ones read on the node.
"""

import errno
import os
import pwd
import re
import shlex
import tempfile
import urllib.parse

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import (  # tm:strip
    common_atomic_move, common_path_info, common_selinux_default_context,  # tm:strip
    common_selinux_enabled,  # tm:strip
    common_set_context, common_validate)  # tm:strip
from migrator.runtime.modules.uri import uri_fetch  # tm:strip

_AUTHORIZED_KEY_SPEC = {
    "user": {"type": "str", "required": True},
    "key": {"type": "str", "required": True},
    "path": {"type": "path"},
    "manage_dir": {"type": "bool", "default": True},
    "state": {"type": "str", "default": "present", "choices": ["absent", "present"]},
    "key_options": {"type": "str"},
    "exclusive": {"type": "bool", "default": False},
    "comment": {"type": "str"},
    "validate_certs": {"type": "bool", "default": True},
    "follow": {"type": "bool", "default": False},
}

_AUTHORIZED_KEY_TYPES = frozenset((
    "sk-ecdsa-sha2-nistp256@openssh.com", "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com", "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com", "ecdsa-sha2-nistp521",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com", "sk-ssh-ed25519@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com",
    "ssh-dss", "ssh-rsa", "ssh-xmss@openssh.com", "ssh-xmss-cert-v01@openssh.com",
    "rsa-sha2-256", "rsa-sha2-512", "ssh-rsa-cert-v01@openssh.com",
    "rsa-sha2-256-cert-v01@openssh.com", "rsa-sha2-512-cert-v01@openssh.com",
    "ssh-dss-cert-v01@openssh.com"))


class _AuthorizedKeyOptions(list):
    """The module's keydict: ordered (key, value) pairs, a key may repeat."""

    def add(self, key, value):
        self.append((key, value))

    def _as_dict(self):
        grouped = {}
        for key, value in self:
            grouped.setdefault(key, []).append(value)
        return grouped

    def __eq__(self, other):
        # keydict compares as a dict of value lists: the order of different keys is ignored
        if isinstance(other, _AuthorizedKeyOptions):
            return self._as_dict() == other._as_dict()
        return NotImplemented

    def __ne__(self, other):
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None


def _authorized_key_options(options):
    parsed = _AuthorizedKeyOptions()
    if options:
        regex = re.compile(r'''((?:[^,"']|"[^"]*"|'[^']*')+)''')
        for part in regex.split(options)[1:-1]:
            if "=" in part:
                key, value = part.split("=", 1)
                parsed.add(key, value)
            elif part != ",":
                parsed.add(part, None)
    return parsed


def _authorized_key_parse(raw_key, rank=None):
    """parsekey: (key, type, options, comment, rank), or None for a line with no key type."""
    raw_key = raw_key.replace(r"\#", "#")
    lex = shlex.shlex(raw_key)
    lex.quotes = []
    lex.commenters = ""
    lex.whitespace_split = True
    parts = list(lex)
    if parts and parts[0] == "#":
        return (raw_key, "skipped", None, None, rank)
    type_index = next((i for i, part in enumerate(parts) if part in _AUTHORIZED_KEY_TYPES), None)
    if type_index is None:
        return None
    options = " ".join(parts[:type_index]) if type_index > 0 else None
    options = _authorized_key_options(options)
    try:
        key = parts[type_index + 1]
    except IndexError:
        raise ModuleFailed("invalid key specified: %s" % raw_key.rstrip("\n")) from None
    comment = " ".join(parts[type_index + 2:])
    return (key, parts[type_index], options, comment, rank)


def _authorized_key_parse_file(content):
    keys = {}
    for rank, line in enumerate(content.splitlines(True)):
        parsed = _authorized_key_parse(line, rank=rank)
        if parsed:
            keys[parsed[0]] = parsed
        else:
            keys[line] = (line, "skipped", None, None, rank)
    return keys


def _authorized_key_serialize(keys):
    lines = []
    for keyhash, key_type, options, comment, _ in sorted(keys.values(), key=lambda k: k[4]):
        if key_type == "skipped":
            lines.append(keyhash)
            continue
        option_str = ""
        if options:
            option_str = ",".join(key if value is None else "%s=%s" % (key, value)
                                  for key, value in options) + " "
        lines.append("%s%s %s %s\n" % (option_str, key_type, keyhash, comment))
    return "".join(lines)


def _authorized_key_file(p, ctx, write=False, follow=False):
    """keyfile(): the path, creating the directory and the file when writing."""
    user, path = p["user"], p["path"]
    if ctx.check_mode and path is not None:
        return os.path.realpath(path) if follow else path
    try:
        entry = pwd.getpwnam(user)
    except KeyError as ex:
        if ctx.check_mode and path is None:
            raise ModuleFailed("Either user must exist or you must provide full path to key "
                               "file in check mode") from None
        raise ModuleFailed("Failed to lookup user %s: %s" % (user, ex)) from None
    if path is None:
        sshdir = os.path.join(entry.pw_dir, ".ssh")
        keysfile = os.path.join(sshdir, "authorized_keys")
    else:
        sshdir = os.path.dirname(path)
        keysfile = path
    if follow:
        keysfile = os.path.realpath(keysfile)
    if not write or ctx.check_mode:
        return keysfile
    if p["manage_dir"]:
        if not os.path.exists(sshdir):
            try:
                os.mkdir(sshdir, 0o700)
            except OSError as ex:
                raise ModuleFailed("Failed to create directory %s : %s" % (sshdir, ex)) from None
            if common_selinux_enabled():
                common_set_context(sshdir, common_selinux_default_context(sshdir), False, ctx)
        os.chown(sshdir, entry.pw_uid, entry.pw_gid, follow_symlinks=follow)
        os.chmod(sshdir, 0o700)
    if not os.path.exists(keysfile):
        basedir = os.path.dirname(keysfile)
        if not os.path.exists(basedir):
            os.makedirs(basedir)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (0 if follow else os.O_NOFOLLOW)
        try:
            os.close(os.open(keysfile, flags, 0o600))
        except OSError as ex:
            raise ModuleFailed("File open failed %s : %s" % (keysfile, ex)) from None
        if common_selinux_enabled():
            common_set_context(keysfile, common_selinux_default_context(keysfile), False, ctx)
    try:
        os.chown(keysfile, entry.pw_uid, entry.pw_gid, follow_symlinks=follow)
        os.chmod(keysfile, 0o600)
    except OSError:
        pass
    return keysfile


def _authorized_key_read(filename):
    try:
        with open(filename) as stream:
            return stream.read()
    except OSError as ex:
        if ex.errno == errno.EACCES:
            raise ModuleFailed("Permission denied on file or path for authorized keys file: %s"
                               % filename) from None
        if ex.errno == errno.ENOENT:
            return ""
        raise


@module("ansible.posix.authorized_key")
def authorized_key_module(params, ctx):
    p = common_validate("ansible.posix.authorized_key", params, _AUTHORIZED_KEY_SPEC, ctx)
    key, state = p["key"], p["state"]
    error_msg = "Error getting key from: %s"
    if key.startswith("http"):
        try:
            response, info = uri_fetch(p, key)
        except ModuleFailed:
            raise ModuleFailed(error_msg % key) from None
        if info["status"] != 200:
            raise ModuleFailed(error_msg % key)
        key = response.read().decode("utf-8", "surrogateescape")
    if key.startswith("file"):
        key_path = urllib.parse.urlparse(key).path
        if not os.path.exists(key_path):
            raise ModuleFailed("Path to a key file not found: %s" % key_path)
        if not os.path.isfile(key_path):
            raise ModuleFailed("Path to a key is a directory and must be a file: %s" % key_path)
        try:
            with open(key_path) as stream:
                key = stream.read()
        except OSError as ex:
            raise ModuleFailed("Failed to read key file %s : %s" % (key_path, ex)) from None
    new_keys = [line for line in key.splitlines() if line and not line.startswith("#")]

    do_write = False
    result = dict(p)
    # the module's first keyfile() call leaves follow at its default, False
    result["keyfile"] = _authorized_key_file(p, ctx)
    existing_content = _authorized_key_read(result["keyfile"])
    existing = _authorized_key_parse_file(existing_content)
    keys_to_exist = []
    max_rank = len(existing)
    for rank, new_key in enumerate(new_keys):
        parsed = _authorized_key_parse(new_key, rank=rank)
        if not parsed:
            raise ModuleFailed("invalid key specified: %s" % new_key)
        if p["key_options"] is not None:
            parsed = (parsed[0], parsed[1], _authorized_key_options(p["key_options"]),
                      parsed[3], parsed[4])
        if p["comment"] is not None:
            parsed = (parsed[0], parsed[1], parsed[2], p["comment"], parsed[4])
        matched = False
        non_matching = []
        if parsed[0] in existing:
            if parsed[:4] != existing[parsed[0]][:4] and state == "present":
                non_matching.append(existing[parsed[0]])
            else:
                matched = True
        if state == "present":
            keys_to_exist.append(parsed[0])
            for old in non_matching:
                if old[0] in existing:
                    del existing[old[0]]
                    do_write = True
            if not matched:
                existing[parsed[0]] = parsed[:4] + (max_rank + parsed[4],)
                do_write = True
        elif matched:
            del existing[parsed[0]]
            do_write = True
    if state == "present" and p["exclusive"]:
        for old in frozenset(existing).difference(keys_to_exist):
            del existing[old]
            do_write = True
    if do_write:
        filename = _authorized_key_file(p, ctx, write=True, follow=p["follow"])
        new_content = _authorized_key_serialize(existing)
        if ctx.diff:
            result["diff"] = {"before_header": result["keyfile"], "after_header": filename,
                              "before": existing_content, "after": new_content}
        if not ctx.check_mode:
            fd, tmp_path = tempfile.mkstemp()
            with os.fdopen(fd, "w") as stream:
                stream.write(new_content)
            common_atomic_move(tmp_path, filename, ctx)
            entry = pwd.getpwnam(p["user"])
            os.chown(filename, entry.pw_uid, entry.pw_gid, follow_symlinks=p["follow"])
            os.chmod(filename, 0o600)
        result["changed"] = True
    result.setdefault("changed", False)
    # exit_json adds the file's details for a result with a `path` (the parameter)
    return common_path_info(result, ctx)
