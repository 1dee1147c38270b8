"""What the module ports share: a cut-down ansible.module_utils.basic.

Argument spec validation with Ansible's conversions and messages, the file
attribute setters (SELinux context, owner, group, mode, chattr flags) used by
every module that takes the common file arguments, atomic moves, backups and
the path information Ansible adds to results carrying `path` or `dest`.

The ports are concatenated into one component, so every name here carries the
`common_` prefix, and no port may call into this file at import time.
"""

import copy
import ctypes
import decimal
import errno
import functools
import json
import grp
import hashlib
import os
import pwd
import re
import shlex
import shutil
import stat
import tempfile
import time

from migrator.runtime.api import ModuleFailed  # tm:strip

_COMMON_FILE_ARGS = {
    "mode": {"type": "raw"},
    "owner": {"type": "str"},
    "group": {"type": "str"},
    "seuser": {"type": "str"},
    "serole": {"type": "str"},
    "selevel": {"type": "str"},
    "setype": {"type": "str"},
    "attributes": {"type": "str", "aliases": ["attr"]},
    "unsafe_writes": {"type": "bool", "default": False},
}

# the url arguments uri and get_url share (ansible.module_utils.urls.url_argument_spec)
COMMON_URL_SPEC = {
    "url": {"type": "str"},
    "force": {"type": "bool", "default": False},
    "http_agent": {"type": "str", "default": "ansible-httpget"},
    "use_proxy": {"type": "bool", "default": True},
    "validate_certs": {"type": "bool", "default": True},
    "url_username": {"type": "str"},
    "url_password": {"type": "str"},
    "force_basic_auth": {"type": "bool", "default": False},
    "client_cert": {"type": "path"},
    "client_key": {"type": "path"},
    "use_gssapi": {"type": "bool", "default": False},
}

# Ansible prints its frozensets, whose order varies per process; a fixed order
# keeps our messages stable.
_COMMON_BOOLEANS_TRUE = ("y", "yes", "on", "1", "true", "t", 1, 1.0, True)
_COMMON_BOOLEANS_FALSE = ("n", "no", "off", "0", "false", "f", 0, 0.0, False)


# ---------------------------------------------------------------------------
# argument spec


def common_boolean(value):
    """ansible.module_utils.parsing.convert_bool.boolean (strict)."""
    if isinstance(value, bool):
        return value
    normalized = value
    if isinstance(value, (str, bytes)):
        normalized = (value.decode() if isinstance(value, bytes) else value).lower().strip()
    try:
        if normalized in _COMMON_BOOLEANS_TRUE:
            return True
        if normalized in _COMMON_BOOLEANS_FALSE:
            return False
    except TypeError:  # unhashable
        pass
    raise TypeError("The value '%s' is not a valid boolean. Valid booleans include: %s" % (
        value, ", ".join(repr(b) for b in ("0", "1", "no", "yes", "n", "y", "f", "t",
                                           "false", "true", "off", "on", 0, 1))))


def _common_check_str(value):
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _common_check_bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, (str, int, float)):
        return common_boolean(value)
    raise TypeError("%s cannot be converted to a bool" % type(value))


def _common_check_int(value):
    if isinstance(value, int):
        return value
    try:
        number = decimal.Decimal(value)
        if number != int(number):
            raise ValueError("Significant decimal part found")
        return int(number)
    except (decimal.DecimalException, TypeError, ValueError) as ex:
        raise TypeError('"%r" cannot be converted to an int' % (value,)) from ex


def _common_check_float(value):
    if isinstance(value, float):
        return value
    try:
        return float(value)
    except (TypeError, ValueError) as ex:
        raise TypeError("%s cannot be converted to a float" % type(value)) from ex


def _common_check_list(value):
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return value.split(",")
    if isinstance(value, (int, float)):
        return [str(value)]
    raise TypeError("%s cannot be converted to a list" % type(value))


def _common_check_dict(value):
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        raise TypeError("%s cannot be converted to a dict" % type(value))
    if value.startswith("{"):
        try:
            return json.loads(value)
        except ValueError:
            raise TypeError("unable to evaluate string as dictionary") from None
    if "=" not in value:
        raise TypeError("dictionary requested, could not parse JSON or key=value")
    # k1=v1, k2="v 2": fields split on commas and spaces outside quotes
    fields, field, quote, escaped = [], [], None, False
    for char in value.strip():
        if escaped:
            field.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif not quote and char in "'\"":
            quote = char
        elif quote == char:
            quote = None
        elif not quote and char in ", ":
            if field:
                fields.append("".join(field))
            field = []
        else:
            field.append(char)
    if field:
        fields.append("".join(field))
    try:
        return dict(f.split("=", 1) for f in fields)
    except ValueError:
        raise TypeError('unable to evaluate string in the "key=value" format as '
                        'dictionary') from None


def common_expand(value, ctx):
    """os.path.expanduser(os.path.expandvars(value)) in the task's environment."""
    env = dict(os.environ, **{k: str(v) for k, v in ctx.environment.items()})

    def lookup(match):
        name = match.group(1)
        name = name[1:-1] if name.startswith("{") else name
        return env.get(name, match.group(0))

    value = re.sub(r"\$(\w+|\{[^}]*\})", lookup, value, flags=re.ASCII)
    if value == "~" or value.startswith("~/"):
        home = env.get("HOME") or pwd.getpwuid(os.getuid()).pw_dir
        return home + value[1:]
    return os.path.expanduser(value)


_COMMON_TYPES = {
    "str": _common_check_str,
    "bool": _common_check_bool,
    "int": _common_check_int,
    "float": _common_check_float,
    "list": _common_check_list,
    "dict": _common_check_dict,
    "raw": lambda value: value,
}


def _common_convert(wanted, value, ctx):
    if wanted == "path":
        return common_expand(_common_check_str(value), ctx)
    return _COMMON_TYPES[wanted](value)


def _common_type_name(value):
    return {str: "str", bool: "bool", int: "int", float: "float", list: "list",
            dict: "dict", type(None): "NoneType"}.get(type(value), type(value).__name__)


def _common_check_spec(spec, params, ctx, errors, context, checks):
    """One level of AnsibleModule's validation, in its order; errors accumulate."""
    where = " found in %s" % " -> ".join(context) if context else ""
    legal = set(spec)
    for key, option in spec.items():
        for alias in option.get("aliases", ()):
            legal.add(alias)
            if alias in params:
                if key in params:
                    ctx.warn("Both option %s and its alias %s are set." % (key, alias))
                params[key] = params.pop(alias)
    unsupported = sorted(k for k in params if k not in legal)
    if unsupported:
        aliases = sorted(a for option in spec.values() for a in option.get("aliases", ()))
        supported = ", ".join(sorted(spec)) + (" (%s)" % ", ".join(aliases) if aliases else "")
        errors.append("%s%s. Supported parameters include: %s." % (
            ", ".join(unsupported), where, supported))
    for group in checks.get("mutually_exclusive", ()):
        if sum(1 for k in group if k in params) > 1:
            errors.append("parameters are mutually exclusive: %s%s" % ("|".join(group), where))
    for key, option in spec.items():
        if key not in params and option.get("default") is not None:
            # a copy: a port may change what it was given (uri adds headers)
            params[key] = copy.deepcopy(option["default"])
    missing = sorted(k for k, option in spec.items() if option.get("required") and k not in params)
    if missing:
        errors.append("missing required arguments: %s%s" % (", ".join(missing), where))
    for key, option in spec.items():
        if key not in params:
            continue
        value = params[key]
        if value is None and not option.get("required") and option.get("default") is None:
            continue
        wanted = option.get("type", "str")
        try:
            value = _common_convert(wanted, value, ctx)
        except TypeError as ex:
            errors.append("argument '%s' is of type %s%s and we were unable to convert to %s: "
                          "%s" % (key, _common_type_name(params[key]), where, wanted, ex))
            continue
        if option.get("elements"):
            converted = []
            for item in value:
                try:
                    converted.append(_common_convert(option["elements"], item, ctx))
                except TypeError as ex:
                    errors.append("Elements value for option '%s'%s is of type %s and we were unable to "
                                  "convert to %s: %s" % (key, " found in '%s'" % " -> ".join(context) if context
                                                         else "", _common_type_name(item), option["elements"], ex))
            value = converted
        params[key] = value
    for key, option in spec.items():
        choices = option.get("choices")
        if choices is None or key not in params:
            continue
        value = params[key]
        if isinstance(value, list):
            bad = [item for item in value if item not in choices]
            if bad:
                errors.append("value of %s must be one or more of: %s. Got no match for: %s%s" % (
                    key, ", ".join(map(str, choices)), ", ".join(map(str, bad)), where))
        elif value not in choices:
            errors.append("value of %s must be one of: %s, got: %s%s" % (
                key, ", ".join(map(str, choices)), value, where))
    for group in checks.get("required_together", ()):
        present = [k in params for k in group]
        if any(present) and not all(present):
            errors.append("parameters are required together: %s%s" % (", ".join(group), where))
    for group in checks.get("required_one_of", ()):
        if not any(k in params for k in group):
            errors.append("one of the following is required: %s%s" % (", ".join(group), where))
    for requirement in checks.get("required_if", ()):
        key, value, needed = requirement[:3]
        any_of = len(requirement) > 3 and requirement[3]
        if params.get(key) == value:
            absent = [k for k in needed if k not in params]
            if absent and (not any_of or len(absent) == len(needed)):
                errors.append("%s is %s but %s of the following are missing: %s%s" % (
                    key, value, "any" if any_of else "all", ", ".join(absent), where))
    for key, needed in (checks.get("required_by") or {}).items():
        if params.get(key) is not None:
            absent = [k for k in needed if params.get(k) is None]
            if absent:
                errors.append("missing parameter(s) required by '%s': %s%s" % (
                    key, ", ".join(absent), where))
    for key in spec:
        params.setdefault(key, None)
    for key, option in spec.items():
        if option.get("options") and params[key] is not None:
            elements = params[key] if isinstance(params[key], list) else [params[key]]
            validated = []
            for element in elements:
                if not isinstance(element, dict):
                    errors.append("value of '%s' must be of type dict or list of dicts" % key)
                    continue
                element = dict(element)
                _common_check_spec(option["options"], element, ctx, errors, context + [key], option)
                validated.append(element)
            params[key] = validated if isinstance(params[key], list) else validated[0]


def common_validate(name, params, spec, ctx, file_common=False, **checks):
    """Validate and convert params like AnsibleModule(argument_spec=spec, ...).

    checks: mutually_exclusive, required_one_of, required_together,
    required_if, required_by, as AnsibleModule takes them. Returns a new
    dict holding every option (None when unset); the first error fails the
    task with Ansible's message.
    """
    if file_common:
        spec = dict(spec, **_COMMON_FILE_ARGS)
    validated = dict(params)
    errors = []
    _common_check_spec(spec, validated, ctx, errors, [], checks)
    if errors:
        msg = errors[0]
        if "Supported parameters include" in msg:
            msg = "Unsupported parameters for (%s) module: %s" % (name, msg)
        raise ModuleFailed(msg)
    return validated


def common_add_lines(result):
    """The controller adds *_lines next to stdout/stderr of every result."""
    for key in ("stdout", "stderr"):
        if key in result and key + "_lines" not in result:
            result[key + "_lines"] = (result[key] or "").splitlines()
    return result


def common_bin_path(name, ctx, required=False):
    """get_bin_path: PATH (the task environment's), then the sbin dirs."""
    paths = ctx.environment.get("PATH", os.environ.get("PATH", "")).split(os.pathsep)
    paths += [p for p in ("/sbin", "/usr/sbin", "/usr/local/sbin")
              if p not in paths and os.path.exists(p)]
    for directory in paths:
        candidate = os.path.join(directory, name) if directory else None
        if candidate and os.path.exists(candidate) and not os.path.isdir(candidate) \
                and os.access(candidate, os.X_OK):
            return candidate
    if required:
        raise ModuleFailed('Failed to find required executable "%s" in paths: %s' % (
            name, os.pathsep.join(paths)))
    return None


def common_best_locale(ctx):
    """The locale Ansible's get_best_parsable_locale picks, for tools whose output a port parses."""
    tool = common_bin_path("locale", ctx)
    if tool:
        rc, out, _ = common_run(ctx, [tool, "-a"])
        available = out.strip().splitlines() if rc == 0 and out else []
        for preferred in ("C.utf8", "C.UTF-8", "en_US.utf8", "en_US.UTF-8", "C", "POSIX"):
            if preferred in available:
                return preferred
    return "C"


def common_run(ctx, args, data=None, binary_data=False, cwd=None, expand=True,
               use_unsafe_shell=False, executable=None, environ_update=None):
    """AnsibleModule.run_command: returns (rc, stdout, stderr).

    A string is split with shlex unless it goes to the shell; arguments get
    ~ and $VAR expanded unless expand is false. Unlike Ansible, a command
    given no data reads an empty stdin rather than inheriting ours, so that
    nothing can block on the node's terminal.
    """
    if use_unsafe_shell:
        if isinstance(args, list):
            args = " ".join(shlex.quote(arg) for arg in args)
    else:
        if isinstance(args, str):
            args = shlex.split(args)
        args = [common_expand(arg, ctx) if expand else arg for arg in args if arg is not None]
    if data and not binary_data:
        data += "\n"
    try:
        return ctx.run(args, shell=use_unsafe_shell, cwd=cwd, stdin=data or "",
                       env=environ_update, executable=executable)
    except OSError as ex:
        shown = args if isinstance(args, str) else " ".join(shlex.quote(a) for a in args)
        raise ModuleFailed("Error executing command.", rc=ex.errno, cmd=shown,
                           stdout="", stderr="") from ex


# ---------------------------------------------------------------------------
# SELinux, through libselinux as ansible.module_utils.compat.selinux does


@functools.lru_cache(maxsize=None)
def _common_selinux():
    """libselinux when SELinux is enabled, else None."""
    try:
        lib = ctypes.CDLL("libselinux.so.1", use_errno=True)
    except OSError:
        return None
    return lib if lib.is_selinux_enabled() == 1 else None


def common_selinux_enabled():
    return _common_selinux() is not None


def _common_selinux_initial():
    lib = _common_selinux()
    return [None] * (4 if lib is not None and lib.is_selinux_mls_enabled() == 1 else 3)


def _common_selinux_call(func_name, path, *args):
    lib = _common_selinux()
    con = ctypes.c_char_p()
    rc = getattr(lib, func_name)(os.fsencode(path), *args, ctypes.byref(con))
    try:
        if rc < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return con.value.decode() if con.value else None
    finally:
        lib.freecon(con)


def common_selinux_default_context(path, mode=0):
    """matchpathcon: the policy's context for path, Nones when unknown."""
    context = _common_selinux_initial()
    if not common_selinux_enabled():
        return context
    try:
        value = _common_selinux_call("matchpathcon", path, ctypes.c_int(mode))
    except OSError:
        return context
    return value.split(":", 3) if value else context


def common_selinux_context(path):
    context = _common_selinux_initial()
    if not common_selinux_enabled():
        return context
    try:
        value = _common_selinux_call("lgetfilecon_raw", path)
    except OSError as ex:
        raise ModuleFailed("Failed to retrieve selinux context. %s" % ex, path=path) from ex
    return value.split(":", 3) if value else context


def _common_special_context(path):
    """Files on NFS, FUSE, vfat... carry their mount point's context."""
    try:
        with open("/proc/mounts") as mounts:
            lines = mounts.readlines()
    except OSError:
        return None
    mount_point = os.path.realpath(path)
    while not os.path.ismount(mount_point):
        mount_point = os.path.dirname(mount_point)
    for line in lines:
        fields = line.split(" ", 4)
        if len(fields) > 3 and fields[1] == mount_point and any(
                fs in fields[2] for fs in ("fuse", "nfs", "vboxsf", "ramfs", "9p", "vfat")):
            return common_selinux_context(mount_point)
    return None


def common_set_context(path, context, changed, ctx):
    if not common_selinux_enabled():
        return changed
    if ctx.check_mode and not os.path.exists(path):
        return True
    current = common_selinux_context(path)
    wanted = list(current)
    special = _common_special_context(path)
    if special is not None:
        wanted = special
    else:
        for i in range(len(current)):
            if len(context) > i and context[i] is not None:
                wanted[i] = context[i]
    if current == wanted:
        return changed
    if ctx.check_mode:
        return True
    if _common_selinux().lsetfilecon(os.fsencode(path), ":".join(wanted).encode()) < 0:
        err = ctypes.get_errno()
        raise ModuleFailed("invalid selinux context: [Errno %d] %s" % (err, os.strerror(err)),
                           path=path, new_context=wanted, cur_context=current, input_was=context)
    return True


# ---------------------------------------------------------------------------
# owner, group, mode, attributes


def common_file_args(params, ctx, path=None):
    """load_file_common_arguments: the attribute part of params for path."""
    if path is None:
        path = params.get("path", params.get("dest"))
    path = common_expand(path, ctx)
    if params.get("follow") and os.path.islink(path):
        path = os.path.realpath(path)
    secontext = [params.get("seuser"), params.get("serole"), params.get("setype")]
    if len(_common_selinux_initial()) == 4:
        secontext.append(params.get("selevel"))
    if "_default" in secontext:
        default = common_selinux_default_context(path)
        secontext = [default[i] if value == "_default" else value
                     for i, value in enumerate(secontext)]
    return {"path": path, "mode": params.get("mode"), "owner": params.get("owner"),
            "group": params.get("group"), "secontext": secontext,
            "attributes": params.get("attributes")}


def common_lookup_uid(owner, path):
    try:
        return int(owner)
    except ValueError:
        try:
            return pwd.getpwnam(owner).pw_uid
        except KeyError:
            raise ModuleFailed("chown failed: failed to look up user %s" % owner,
                               path=path) from None


def common_lookup_gid(group, path):
    try:
        return int(group)
    except ValueError:
        try:
            return grp.getgrnam(group).gr_gid
        except KeyError:
            raise ModuleFailed("chgrp failed: failed to look up group %s" % group,
                               path=path) from None


def common_set_owner(path, owner, changed, ctx):
    if owner is None:
        return changed
    if ctx.check_mode and not os.path.exists(path):
        return True
    uid = common_lookup_uid(owner, path)
    if os.lstat(path).st_uid == uid:
        return changed
    if ctx.check_mode:
        return True
    try:
        os.lchown(path, uid, -1)
    except OSError as ex:
        raise ModuleFailed("chown failed: %s" % ex, path=path) from ex
    return True


def common_set_group(path, group, changed, ctx):
    if group is None:
        return changed
    if ctx.check_mode and not os.path.exists(path):
        return True
    gid = common_lookup_gid(group, path)
    if os.lstat(path).st_gid == gid:
        return changed
    if ctx.check_mode:
        return True
    try:
        os.lchown(path, -1, gid)
    except OSError as ex:
        raise ModuleFailed("chgrp failed", path=path) from ex
    return True


def _common_symbolic_perms(is_dir, prev_mode, user, perms, use_umask):
    umask = os.umask(0)
    os.umask(umask)
    rev_umask = umask ^ 0o7777
    x_bit = {"u": stat.S_IXUSR, "g": stat.S_IXGRP, "o": stat.S_IXOTH}[user]
    bits = {
        "u": {"r": stat.S_IRUSR, "w": stat.S_IWUSR, "x": stat.S_IXUSR, "s": stat.S_ISUID, "t": 0,
              "u": prev_mode & stat.S_IRWXU, "g": (prev_mode & stat.S_IRWXG) << 3,
              "o": (prev_mode & stat.S_IRWXO) << 6},
        "g": {"r": stat.S_IRGRP, "w": stat.S_IWGRP, "x": stat.S_IXGRP, "s": stat.S_ISGID, "t": 0,
              "u": (prev_mode & stat.S_IRWXU) >> 3, "g": prev_mode & stat.S_IRWXG,
              "o": (prev_mode & stat.S_IRWXO) << 3},
        "o": {"r": stat.S_IROTH, "w": stat.S_IWOTH, "x": stat.S_IXOTH, "s": 0, "t": stat.S_ISVTX,
              "u": (prev_mode & stat.S_IRWXU) >> 6, "g": (prev_mode & stat.S_IRWXG) >> 3,
              "o": prev_mode & stat.S_IRWXO},
    }[user]
    if use_umask:
        for perm in "rwx":
            bits[perm] &= rev_umask
    # X: execute only for directories or when someone may already execute
    bits["X"] = x_bit if is_dir or prev_mode & 0o111 else 0
    mode = 0
    for perm in perms:
        mode |= bits[perm]
    return mode


def common_symbolic_mode(st_mode, symbolic_mode):
    """AnsibleModule._symbolic_mode_to_octal: chmod-style 'u+rwx,g-w'."""
    new_mode = stat.S_IMODE(st_mode)
    is_dir = stat.S_ISDIR(st_mode)
    for clause in symbolic_mode.split(","):
        perm_list = re.split(r"[+=-]", clause)
        operators = re.findall(r"[+=-]", clause)
        users = perm_list.pop(0)
        use_umask = users == ""
        if users in ("a", ""):
            users = "ugo"
        if not re.match(r"^[ugo]+$", users):
            raise ValueError("bad symbolic permission for mode: %s" % clause)
        for index, perms in enumerate(perm_list):
            if not re.match(r"^[rwxXstugo]*$", perms):
                raise ValueError("bad symbolic permission for mode: %s" % clause)
            for user in users:
                bits = _common_symbolic_perms(is_dir, new_mode, user, perms, use_umask)
                operator = operators[index]
                if operator == "=":
                    mask = {"u": stat.S_IRWXU | stat.S_ISUID, "g": stat.S_IRWXG | stat.S_ISGID,
                            "o": stat.S_IRWXO | stat.S_ISVTX}[user]
                    new_mode = (new_mode & (mask ^ 0o7777)) | bits
                elif operator == "+":
                    new_mode |= bits
                else:
                    new_mode -= new_mode & bits
    return new_mode


def common_mode_value(mode, path_stat, path):
    """The numeric mode for an int, an octal string or a symbolic string."""
    if isinstance(mode, int):
        return mode
    try:
        return int(mode, 8)
    except (TypeError, ValueError):
        try:
            value = common_symbolic_mode(path_stat.st_mode, mode)
        except Exception as ex:
            raise ModuleFailed("mode must be in octal or symbolic form", path=path,
                               details=str(ex)) from ex
        if value != stat.S_IMODE(value):
            raise ModuleFailed("Invalid mode supplied, only permission info is allowed",
                               path=path, details=value)
        return value


def common_set_mode(path, mode, changed, ctx):
    if mode is None:
        return changed
    if ctx.check_mode and not os.path.exists(path):
        return True
    path_stat = os.lstat(path)
    mode = common_mode_value(mode, path_stat, path)
    prev_mode = stat.S_IMODE(path_stat.st_mode)
    if prev_mode == mode:
        return changed
    if ctx.check_mode:
        return True
    try:
        if not os.path.islink(path):
            os.chmod(path, mode)
        else:
            # Linux has no lchmod: chmod follows the link, so undo it on the target.
            underlying = os.stat(path)
            os.chmod(path, mode)
            if os.stat(path).st_mode != underlying.st_mode:
                os.chmod(path, stat.S_IMODE(underlying.st_mode))
    except OSError as ex:
        if os.path.islink(path) and ex.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            pass
        elif ex.errno not in (errno.ENOENT, errno.ELOOP):
            raise ModuleFailed("chmod failed", path=path, details=str(ex)) from ex
    return changed or stat.S_IMODE(os.lstat(path).st_mode) != prev_mode


def common_file_attributes(path, ctx):
    """lsattr flags of path, e.g. 'ie'; None when lsattr is missing or fails."""
    lsattr = common_bin_path("lsattr", ctx)
    if lsattr:
        rc, out, _ = ctx.run([lsattr, "-d", path])
        if rc == 0 and out.split():
            return out.split()[0].replace("-", "").strip()
    return None


def common_set_attributes(path, attributes, changed, ctx):
    if attributes is None:
        return changed
    if ctx.check_mode and not os.path.exists(path):
        return True
    existing = common_file_attributes(path, ctx) or ""
    operator = "="
    if attributes.startswith(("-", "+")):
        operator, attributes = attributes[0], attributes[1:]
    if not attributes or (existing == attributes and operator != "-"):
        return changed
    chattr = common_bin_path("chattr", ctx)
    if not chattr:
        return changed
    if not ctx.check_mode:
        rc, out, err = ctx.run([chattr, operator + attributes, path])
        if rc != 0 or err:
            raise ModuleFailed("chattr failed", path=path,
                               details="Error while setting attributes: %s" % (out + err))
    return True


def common_set_fs_attributes(file_args, changed, ctx):
    """set_fs_attributes_if_different: context, owner, group, mode, attributes."""
    path = file_args["path"]
    changed = common_set_context(path, file_args["secontext"], changed, ctx)
    changed = common_set_owner(path, file_args["owner"], changed, ctx)
    changed = common_set_group(path, file_args["group"], changed, ctx)
    changed = common_set_mode(path, file_args["mode"], changed, ctx)
    return common_set_attributes(path, file_args["attributes"], changed, ctx)


def common_path_info(result, ctx):
    """add_path_info: what exit_json adds about result['path'] or result['dest']."""
    path = result.get("path", result.get("dest"))
    if path is None or not os.path.exists(path):
        return result
    st = os.lstat(path)
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    if os.path.islink(path):
        state = "link"
    elif os.path.isdir(path):
        state = "directory"
    elif os.stat(path).st_nlink > 1:
        state = "hard"
    else:
        state = "file"
    result.update(uid=st.st_uid, gid=st.st_gid, owner=owner, group=group,
                  mode="0%03o" % stat.S_IMODE(st.st_mode), state=state, size=st.st_size)
    if common_selinux_enabled():
        result["secontext"] = ":".join(common_selinux_context(path))
    return result


# ---------------------------------------------------------------------------
# writing files


def common_digest(path, algorithm="sha1"):
    """Hex digest of a file, None when it does not exist."""
    if not os.path.exists(path):
        return None
    if os.path.isdir(path):
        raise ModuleFailed("attempted to take checksum of directory: %s" % path)
    digest = hashlib.new(algorithm)
    with open(os.path.realpath(path), "rb") as stream:
        for block in iter(lambda: stream.read(64 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def common_md5(path):
    """md5 for backward-compatible results; None where FIPS forbids it."""
    try:
        return common_digest(path, "md5")
    except ValueError:
        return None


def common_preserved_copy(src, dest, ctx):
    """cp -p, plus SELinux context and chattr flags."""
    shutil.copy2(src, dest)
    if common_selinux_enabled():
        common_set_context(dest, common_selinux_context(src), False, ctx)
    try:
        src_stat, dest_stat = os.stat(src), os.stat(dest)
        if (dest_stat.st_uid, dest_stat.st_gid) != (src_stat.st_uid, src_stat.st_gid):
            os.chown(dest, src_stat.st_uid, src_stat.st_gid)
    except OSError as ex:
        if ex.errno != errno.EPERM:
            raise
    common_set_attributes(dest, common_file_attributes(src, ctx) or "", True, ctx)


def common_backup_local(path, ctx):
    """backup_local: path.PID.YYYY-MM-DD@HH:MM:SS~ next to the file."""
    if not os.path.exists(path):
        return ""
    backup = "%s.%s.%s" % (path, os.getpid(), time.strftime("%Y-%m-%d@%H:%M:%S~"))
    if not ctx.check_mode:
        try:
            common_preserved_copy(path, backup, ctx)
        except (shutil.Error, OSError) as ex:
            raise ModuleFailed("Could not make backup of %r to %r: %s" % (path, backup, ex)) from ex
    return backup


def common_mkstemp(dest, suffix=""):
    """A temporary file in dest's directory, so the final rename stays atomic."""
    fd, tmp = tempfile.mkstemp(prefix=".ansible_tmp", suffix=suffix,
                               dir=os.path.dirname(os.path.abspath(dest)))
    os.close(fd)
    return tmp


def common_write_tmp(dest, data, suffix=""):
    tmp = common_mkstemp(dest, suffix)
    with open(tmp, "wb") as stream:
        stream.write(data)
    return tmp


def common_atomic_move(src, dest, ctx, keep_dest_attrs=True, unsafe_writes=False):
    """atomic_move: replace dest by src, keeping dest's owner/mode/context.

    A new file gets 0666 & ~umask, our uid and the directory's group when it
    is setgid, exactly as Ansible does.
    """
    context = None
    dest_stat = None
    if os.path.exists(dest) and keep_dest_attrs:
        try:
            dest_stat = os.stat(dest)
            os.chown(src, dest_stat.st_uid, dest_stat.st_gid)
            shutil.copystat(dest, src)
            os.utime(src)
        except OSError as ex:
            if ex.errno != errno.EPERM:
                raise
        if common_selinux_enabled():
            context = common_selinux_context(dest)
    elif common_selinux_enabled():
        context = common_selinux_default_context(dest)
    creating = not os.path.exists(dest)
    try:
        os.rename(src, dest)
    except OSError as ex:
        if ex.errno not in (errno.EPERM, errno.EXDEV, errno.EACCES, errno.ETXTBSY, errno.EBUSY):
            raise ModuleFailed("Could not replace %r with %r: %s" % (dest, src, ex)) from ex
        # dest is a bind mount or on an exotic filesystem: copy beside it, or in place.
        if unsafe_writes:
            with open(dest, "wb") as out, open(src, "rb") as stream:
                shutil.copyfileobj(stream, out)
            os.unlink(src)
        else:
            tmp = common_mkstemp(dest, os.path.basename(dest))
            try:
                shutil.copy(src, tmp) if keep_dest_attrs else shutil.copy2(src, tmp)
                if keep_dest_attrs and dest_stat:
                    os.chown(tmp, dest_stat.st_uid, dest_stat.st_gid)
                os.rename(tmp, dest)
                os.unlink(src)
            except OSError as ex2:
                raise ModuleFailed("Failed to replace %r with %r: %s" % (dest, src, ex2)) from ex2
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
    if creating:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(dest, 0o666 & ~umask)
        dir_stat = os.stat(os.path.dirname(os.path.abspath(dest)))
        try:
            gid = dir_stat.st_gid if dir_stat.st_mode & stat.S_ISGID else os.getegid()
            os.chown(dest, os.geteuid(), gid)
        except OSError:
            pass
    if context is not None:
        common_set_context(dest, context, False, ctx)
