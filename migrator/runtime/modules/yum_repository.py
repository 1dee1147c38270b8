"""ansible.builtin.yum_repository: one section of a .repo file in reposdir.

The file is read and written with configparser.RawConfigParser, as the module
does, so its layout (key order, multi-line values, blank lines) is the module's.
"""

import configparser
import os

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import (  # tm:strip
    common_file_args, common_set_fs_attributes, common_validate)  # tm:strip

_YUM_REPOSITORY_SPEC = {
    "async": {"type": "bool"},
    "bandwidth": {},
    "baseurl": {"type": "list", "elements": "str"},
    "cost": {},
    "countme": {"type": "bool"},
    "deltarpm_metadata_percentage": {},
    "deltarpm_percentage": {},
    "description": {},
    "enabled": {"type": "bool"},
    "enablegroups": {"type": "bool"},
    "exclude": {"type": "list", "elements": "str", "aliases": ["excludepkgs"]},
    "failovermethod": {"choices": ["roundrobin", "priority"]},
    "file": {},
    "gpgcakey": {},
    "gpgcheck": {"type": "bool"},
    "gpgkey": {"type": "list", "elements": "str"},
    "module_hotfixes": {"type": "bool"},
    "http_caching": {"choices": ["all", "packages", "none"]},
    "include": {},
    "includepkgs": {"type": "list", "elements": "str"},
    "ip_resolve": {"choices": ["4", "6", "IPv4", "IPv6", "whatever"]},
    "keepalive": {"type": "bool"},
    "keepcache": {"choices": ["0", "1"]},
    "metadata_expire": {},
    "metadata_expire_filter": {"choices": ["never", "read-only:past", "read-only:present",
                                           "read-only:future"]},
    "metalink": {},
    "mirrorlist": {},
    "mirrorlist_expire": {},
    "name": {"required": True},
    "password": {},
    "priority": {},
    "protect": {"type": "bool"},
    "proxy": {},
    "proxy_password": {},
    "proxy_username": {},
    "repo_gpgcheck": {"type": "bool"},
    "reposdir": {"default": "/etc/yum.repos.d", "type": "path"},
    "retries": {},
    "s3_enabled": {"type": "bool"},
    "skip_if_unavailable": {"type": "bool"},
    "sslcacert": {"aliases": ["ca_cert"]},
    "ssl_check_cert_permissions": {"type": "bool"},
    "sslclientcert": {"aliases": ["client_cert"]},
    "sslclientkey": {"aliases": ["client_key"]},
    "sslverify": {"type": "bool", "aliases": ["validate_certs"]},
    "state": {"choices": ["present", "absent"], "default": "present"},
    "throttle": {},
    "timeout": {},
    "ui_repoid_vars": {},
    "username": {},
}
_YUM_REPOSITORY_FILE_ARGS = ("mode", "owner", "group", "seuser", "serole", "selevel", "setype",
                             "attributes", "unsafe_writes")


def _yum_repository_dump(repofile):
    text = ""
    for section in sorted(repofile.sections()):
        text += "[%s]\n" % section
        for key, value in sorted(repofile.items(section)):
            text += "%s = %s\n" % (key, value)
        text += "\n"
    return text


@module("ansible.builtin.yum_repository", "ansible.legacy.yum_repository")
def yum_repository_module(params, ctx):
    p = common_validate("ansible.builtin.yum_repository", params, _YUM_REPOSITORY_SPEC, ctx,
                        file_common=True, required_if=[
                            ["state", "present", ["baseurl", "mirrorlist", "metalink"], True],
                            ["state", "present", ["description"]]])
    repo = dict(p)
    file_params = {key: repo.pop(key) for key in _YUM_REPOSITORY_FILE_ARGS}
    state = repo.pop("state")
    name = repo["name"]
    repo["name"] = repo.pop("description")
    for key in ("baseurl", "gpgkey"):
        if repo[key] is not None:
            repo[key] = "\n".join(repo[key])
    for key in ("exclude", "includepkgs"):
        if repo[key] is not None:
            repo[key] = " ".join(repo[key])
    repos_dir = repo.pop("reposdir")
    if not os.path.isdir(repos_dir):
        raise ModuleFailed("Repo directory '%s' does not exist." % repos_dir)
    filename = repo.pop("file")
    if filename is None:
        filename = name
    dest = os.path.join(repos_dir, "%s.repo" % filename)
    repofile = configparser.RawConfigParser()
    if os.path.isfile(dest):
        try:
            repofile.read(dest)
        except configparser.Error as ex:
            raise ModuleFailed("%s: %s" % (type(ex).__name__, ex)) from ex
    diff = {"before_header": dest, "before": _yum_repository_dump(repofile),
            "after_header": dest, "after": ""}
    repofile.remove_section(name)
    if state == "present":
        repofile.add_section(name)
        for key, value in sorted(repo.items()):
            if value is None:
                continue
            if isinstance(value, bool):
                value = str(int(value))
            repofile.set(name, key, value)
    diff["after"] = _yum_repository_dump(repofile)
    changed = diff["before"] != diff["after"]
    if not ctx.check_mode and changed:
        if repofile.sections():
            try:
                with open(dest, "w") as stream:
                    repofile.write(stream)
            except OSError as ex:
                raise ModuleFailed("Problems handling file %r." % dest, details=str(ex)) from ex
        else:
            try:
                os.remove(dest)
            except OSError as ex:
                raise ModuleFailed("Cannot remove empty repo file %s." % dest, details=str(ex)) from ex
    if os.path.isfile(dest):
        file_params["dest"] = dest
        changed = common_set_fs_attributes(common_file_args(file_params, ctx), changed, ctx)
    return {"changed": changed, "repo": name, "state": state, "diff": diff}
