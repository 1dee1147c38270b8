"""ansible.builtin.user, Linux: useradd/usermod/userdel/chage as the module runs them.

Not ported (they fail instead): local=true (luseradd and friends) and
generate_ssh_key. Options only other platforms read (hidden, login_class,
profile, authorization, role) are accepted and ignored, as on Linux.
"""

import grp
import os
import pwd
import re
import shutil
import socket
import time

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_bin_path, common_run, common_validate  # tm:strip

_USER_SPEC = {
    "state": {"default": "present", "choices": ["absent", "present"]},
    "name": {"required": True, "aliases": ["user"]},
    "uid": {"type": "int"},
    "non_unique": {"type": "bool", "default": False},
    "group": {},
    "groups": {"type": "list", "elements": "str"},
    "comment": {},
    "home": {"type": "path"},
    "shell": {"type": "path"},
    "password": {},
    "login_class": {},
    "password_expire_max": {"type": "int"},
    "password_expire_min": {"type": "int"},
    "password_expire_warn": {"type": "int"},
    "hidden": {"type": "bool"},
    "seuser": {},
    "force": {"type": "bool", "default": False},
    "remove": {"type": "bool", "default": False},
    "create_home": {"type": "bool", "default": True, "aliases": ["createhome"]},
    "skeleton": {},
    "system": {"type": "bool", "default": False},
    "move_home": {"type": "bool", "default": False},
    "append": {"type": "bool", "default": False},
    "generate_ssh_key": {"type": "bool"},
    "ssh_key_bits": {"type": "int", "default": 0},
    "ssh_key_type": {"default": "rsa"},
    "ssh_key_file": {"type": "path"},
    "ssh_key_comment": {"default": "ansible-generated on %s" % socket.gethostname()},
    "ssh_key_passphrase": {},
    "update_password": {"default": "always", "choices": ["always", "on_create"]},
    "expires": {"type": "float"},
    "password_lock": {"type": "bool"},
    "local": {"type": "bool"},
    "profile": {},
    "authorization": {},
    "role": {},
    "umask": {},
    "password_expire_account_disable": {"type": "int"},
    "uid_min": {"type": "int"},
    "uid_max": {"type": "int"},
}

_USER_SHADOW = "/etc/shadow"
_USER_LOGIN_DEFS = "/etc/login.defs"


def _user_pwd(name):
    try:
        return list(pwd.getpwnam(name))
    except KeyError:
        return None


def _user_shadow(name):
    """The user's /etc/shadow fields (as strings), None when unreadable or absent."""
    if os.access(_USER_SHADOW, os.R_OK):
        with open(_USER_SHADOW) as stream:
            for line in stream:
                if line.startswith("%s:" % name):
                    return line.rstrip("\n").split(":")
    return None


def _user_shadow_int(fields, index):
    """spwd semantics: an empty field reads as -1."""
    return int(fields[index]) if fields and fields[index] else -1


def _user_info(name):
    """pwd entry, with the shadow hash when the passwd field is 'x' or empty."""
    info = _user_pwd(name)
    if info and len(info[1]) <= 1:
        shadow = _user_shadow(name)
        info[1] = shadow[1] if shadow else ""
    return info


def _user_group(group):
    try:
        return grp.getgrgid(int(group))
    except (ValueError, KeyError):
        try:
            return grp.getgrnam(group)
        except KeyError:
            return None


def _user_groups_set(p, groups, remove_existing=True, names_only=False):
    info = _user_info(p["name"])
    wanted = set(x.strip() for x in groups.split(",") if x)
    names = set()
    for group in wanted.copy():
        ginfo = _user_group(group)
        if ginfo is None:
            raise ModuleFailed("Group %s does not exist" % group)
        if info and remove_existing and ginfo.gr_gid == info[3]:
            wanted.remove(group)
        elif names_only:
            names.add(ginfo.gr_name)
    return names if names_only else wanted


def _user_check_password(password, ctx):
    if not password or password in ("*", "!", "*************"):
        return
    invalid = any(char in password for char in ":*!") or "$" not in password
    fields = password.split("$")
    if not invalid and len(fields) >= 3:
        lengths = {"1": 22, "5": 43, "6": 86, "y": 43}
        invalid = bool(re.search(r"[^a-zA-Z0-9./=]", fields[-1])) or (
            fields[1] in lengths and len(fields[-1]) != lengths[fields[1]])
    elif not invalid:
        invalid = True
    if invalid:
        ctx.warn("The input password appears not to have been hashed. "
                 "The 'password' argument must be encrypted for this module to work properly.")


@module("ansible.builtin.user", "ansible.legacy.user")
def user_module(params, ctx):
    p = common_validate("ansible.builtin.user", params, _USER_SPEC, ctx)
    if p["local"]:
        raise ModuleFailed("local=true (luseradd and friends) is not supported by "
                           "tripleo-migrate's user port")
    if p["generate_ssh_key"]:
        raise ModuleFailed("generate_ssh_key is not supported by tripleo-migrate's user port")
    groups = ",".join(p["groups"]) if p["groups"] is not None else None
    expires = None
    if p["expires"] is not None:
        try:
            expires = time.gmtime(p["expires"])
        except Exception as ex:
            raise ModuleFailed("Invalid value for 'expires' %s: %s" % (expires, ex)) from ex
    if groups is None and p["append"]:
        ctx.warn("'append' is set, but no 'groups' are specified. Use 'groups' for appending "
                 "new groups.This will change to an error in Ansible 2.14.")
    _user_check_password(p["password"], ctx)

    def execute(cmd):
        if ctx.check_mode:
            return 0, "", ""
        return common_run(ctx, [str(x) for x in cmd])

    name = p["name"]
    result = {"name": name, "state": p["state"]}
    rc, out, err = None, "", ""
    if p["state"] == "absent":
        if _user_pwd(name):
            if ctx.check_mode:
                return {"changed": True}
            cmd = [common_bin_path("userdel", ctx, required=True)]
            cmd += ["-f"] if p["force"] else []
            cmd += ["-r"] if p["remove"] else []
            rc, out, err = execute(cmd + [name])
            if rc != 0:
                raise ModuleFailed(err, name=name, rc=rc)
            result.update(force=p["force"], remove=p["remove"])
    else:
        if not _user_pwd(name):
            if ctx.check_mode:
                return {"changed": True}
            needs_parents = bool(p["home"] and p["create_home"]
                                 and not os.path.isdir(os.path.dirname(p["home"])))
            rc, out, err = _user_create(p, groups, expires, execute, ctx)
            info = _user_info(name)
            if needs_parents and info:
                _user_chown_home(info[2], info[3], p["home"])
            result.update(system=p["system"], create_home=p["create_home"])
        else:
            rc, out, err = _user_modify(p, groups, expires, execute, ctx)
            result.update(append=p["append"], move_home=p["move_home"])
        if rc is not None and rc != 0:
            raise ModuleFailed(err, name=name, rc=rc)
        if p["password"] is not None:
            result["password"] = "NOT_LOGGING_PASSWORD"

    result["changed"] = rc is not None
    if out:
        result["stdout"] = out
    if err:
        result["stderr"] = err
    info = _user_info(name)
    if info and p["state"] == "present":
        result.update(uid=info[2], group=info[3], comment=info[4], home=info[5], shell=info[6])
        if groups is not None:
            result["groups"] = groups
        home = p["home"] if p["home"] is not None else info[5]
        if not os.path.exists(home) and p["create_home"]:
            if not ctx.check_mode:
                _user_create_home(home, p["skeleton"])
                _user_chown_home(info[2], info[3], home)
            result["changed"] = True
        rc, out, err = _user_password_expire(p, execute, ctx)
        if rc is not None:
            if rc != 0:
                raise ModuleFailed(err, name=name, rc=rc)
            result["changed"] = True
    return result


def _user_create(p, groups, expires, execute, ctx):
    name = p["name"]
    cmd = [common_bin_path("useradd", ctx, required=True)]
    if p["uid"] is not None:
        cmd += ["-u", p["uid"]] + (["-o"] if p["non_unique"] else [])
    if p["seuser"] is not None:
        cmd += ["-Z", p["seuser"]]
    if p["group"] is not None:
        if _user_group(p["group"]) is None:
            raise ModuleFailed("Group %s does not exist" % p["group"])
        cmd += ["-g", p["group"]]
    elif _user_group(name) is not None:
        # a group named like the user exists: keep useradd from trying to create it
        # (the module uses -n instead on RHEL <= 5 and nothing on SLES < 12)
        cmd.append("-N")
    if groups:
        cmd += ["-G", ",".join(_user_groups_set(p, groups))]
    if p["comment"] is not None:
        cmd += ["-c", p["comment"]]
    if p["home"] is not None:
        # useradd cannot create missing parents of the home directory
        if p["create_home"] and not os.path.isdir(os.path.dirname(p["home"])):
            _user_create_home(p["home"], p["skeleton"])
        cmd += ["-d", p["home"]]
    if p["shell"] is not None:
        cmd += ["-s", p["shell"]]
    if expires is not None:
        cmd += ["-e", "" if expires < time.gmtime(0) else time.strftime("%Y-%m-%d", expires)]
    if p["password_expire_account_disable"] is not None:
        cmd += ["-f", int(p["password_expire_account_disable"])]
    if p["password"] is not None:
        cmd += ["-p", "!%s" % p["password"] if p["password_lock"] else p["password"]]
    if p["create_home"]:
        cmd.append("-m")
        if p["skeleton"] is not None:
            cmd += ["-k", p["skeleton"]]
        if p["umask"] is not None:
            cmd += ["-K", "UMASK=" + p["umask"]]
    else:
        cmd.append("-M")
    if p["system"]:
        cmd.append("-r")
    for key, option in (("uid_min", "UID_MIN"), ("uid_max", "UID_MAX")):
        if p[key] is not None:
            cmd += ["-K", "%s=%s" % (option, p[key])]
    return execute(cmd + [name])


def _user_modify(p, groups, expires, execute, ctx):
    name = p["name"]
    usermod = common_bin_path("usermod", ctx, required=True)
    cmd = [usermod]
    info = _user_info(name)
    # usermod -a appeared late; without it the module passes -A with the missing groups
    has_append = os.access(usermod, os.X_OK) and any(
        line.strip().startswith("-a, --append")
        for line in "".join(common_run(ctx, [usermod, "--help"])[1:]).split("\n"))

    if p["uid"] is not None and info[2] != p["uid"]:
        cmd += ["-u", p["uid"]] + (["-o"] if p["non_unique"] else [])
    if p["group"] is not None:
        ginfo = _user_group(p["group"])
        if ginfo is None:
            raise ModuleFailed("Group %s does not exist" % p["group"])
        if info[3] != ginfo.gr_gid:
            cmd += ["-g", ginfo.gr_gid]
    if groups is not None:
        current = [g.gr_name for g in grp.getgrall() if name in g.gr_mem]
        need_mod, wanted, diff = False, set(), set()
        if groups == "":
            need_mod = bool(current) and not p["append"]
        else:
            wanted = _user_groups_set(p, groups, remove_existing=False, names_only=True)
            diff = set(current).symmetric_difference(wanted)
            if diff:
                if p["append"]:
                    if any(g in diff for g in wanted):
                        cmd += ["-a"] if has_append else []
                        need_mod = True
                else:
                    need_mod = True
        if need_mod:
            if p["append"] and not has_append:
                cmd += ["-A", ",".join(diff)]
            else:
                cmd += ["-G", ",".join(wanted)]
    if p["comment"] is not None and info[4] != p["comment"]:
        cmd += ["-c", p["comment"]]
    if p["home"] is not None and info[5] != p["home"]:
        cmd += ["-d", p["home"]] + (["-m"] if p["move_home"] else [])
    if p["shell"] is not None and info[6] != p["shell"]:
        cmd += ["-s", p["shell"]]
    if expires is not None:
        current_expires = _user_shadow_int(_user_shadow(name), 7)
        if expires < time.gmtime(0):
            if current_expires >= 0:
                cmd += ["-e", ""]
        elif current_expires < 0 or time.gmtime(current_expires * 86400)[:3] != expires[:3]:
            cmd += ["-e", time.strftime("%Y-%m-%d", expires)]
    if p["password_expire_account_disable"] is not None:
        cmd += ["-f", p["password_expire_account_disable"]]
    # lock if unlocked, unlock only if locked
    if p["password_lock"] and not info[1].startswith("!"):
        cmd.append("-L")
    elif p["password_lock"] is False and info[1].startswith("!"):
        cmd.append("-U")
    if p["update_password"] == "always" and p["password"] is not None \
            and info[1].lstrip("!") != p["password"].lstrip("!"):
        cmd = [c for c in cmd if c not in ("-U", "-L")]  # exclusive with -p
        cmd += ["-p", "!%s" % p["password"] if p["password_lock"] else p["password"]]
    if len(cmd) == 1:
        return None, "", ""
    return execute(cmd + [name])


def _user_password_expire(p, execute, ctx):
    shadow = _user_shadow(p["name"])
    changes = []
    for key, index, flag in (("password_expire_min", 3, "-m"), ("password_expire_max", 4, "-M"),
                             ("password_expire_warn", 5, "-W")):
        if p[key] is not None and (shadow is None or p[key] != _user_shadow_int(shadow, index)):
            changes += [flag, p[key]]
    if not changes:
        return None, "", ""
    return execute([common_bin_path("chage", ctx, required=True)] + changes + [p["name"]])


def _user_create_home(path, skeleton):
    if os.path.exists(path):
        return
    skeleton = skeleton if skeleton is not None else "/etc/skel"
    try:
        if os.path.exists(skeleton) and skeleton != os.devnull:
            shutil.copytree(skeleton, path, symlinks=True)
        else:
            os.makedirs(path)
    except OSError as ex:
        raise ModuleFailed(str(ex)) from ex
    if os.path.exists(_USER_LOGIN_DEFS):
        # HOME_MODE wins over UMASK; useradd's own default umask is 022
        mode = 0o755
        with open(_USER_LOGIN_DEFS) as stream:
            for line in stream:
                match = re.match(r"^HOME_MODE\s+(\d+)$", line)
                if match:
                    mode = int(match.group(1), 8)
                    break
                match = re.match(r"^UMASK\s+(\d+)$", line)
                if match:
                    mode = 0o777 & ~int(match.group(1), 8)
        try:
            os.chmod(path, mode)
        except OSError as ex:
            raise ModuleFailed(str(ex)) from ex


def _user_chown_home(uid, gid, path):
    try:
        os.chown(path, uid, gid)
        for root, dirs, files in os.walk(path):
            for name in dirs:
                os.chown(os.path.join(root, name), uid, gid)
            for name in files:
                full_path = os.path.join(root, name)
                if not os.path.islink(full_path):
                    os.chown(full_path, uid, gid)
    except OSError as ex:
        raise ModuleFailed(str(ex)) from ex
