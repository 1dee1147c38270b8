"""tripleo_ovs_upgrade (tripleo-ansible): update openvswitch without the package scripts that
would stop it (rpm/dnf command sequence).

- layered product (rhosp-openvswitch, or rdo-openvswitch on CentOS, installed): when the
  coming version (`dnf info -q`) differs from the installed one, the installed openvswitch
  packages are erased without scripts (`rpm -e --noscripts ...`) and the layered product is
  upgraded (`dnf upgrade -y`);
- plain openvswitch: when its scripts restart the service, the packages are downloaded to
  /root/OVS_UPGRADE and installed with `rpm -U --nopostun ...`.

As in the module: no options at all (argument_spec is empty: even `debug`, which its
documentation lists, is refused), no check mode, every command under `env LANG=C.UTF-8`;
the script probe is a shell string the module glues to `env LANG=C.UTF-8` without a space,
so it never matches and the plain openvswitch path reports that nothing is to be done.
"""

import glob
import os
import re
import shlex

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_bin_path, common_run, common_validate  # tm:strip

_OVS_UPGRADE_TMP = "/root/OVS_UPGRADE"
_OVS_UPGRADE_PKG_RE = re.compile(r"""
    ^(openvswitch[0-9]+\.[0-9]+-[0-9]+\.[0-9]+\.[0-9]+ # layered
    |
    openvswitch(?!-[a-z]+))                            # non-layered
    """, re.X)


class _OvsUpgrade:
    def __init__(self, ctx):
        self.ctx = ctx
        self.result = {"changed": False, "msg": ""}

    def run(self, command, check_rc=False):
        """run_locale_safe: the command under `env LANG=C.UTF-8` (a string: glued on, no space)."""
        ctx = self.ctx
        if isinstance(command, str):
            shell = ctx.environment.get("SHELL") or os.environ.get("SHELL") or "/bin/sh"
            args = "env LANG=C.UTF-8" + command
            rc, out, err = common_run(ctx, args, use_unsafe_shell=True, executable=shell)
        else:
            args = ["env", "LANG=C.UTF-8"] + list(command)
            rc, out, err = common_run(ctx, args)
        if rc != 0 and check_rc:
            shown = shlex.split(args) if isinstance(args, str) else [a for a in args if a is not None]
            raise ModuleFailed(err.rstrip(), cmd=" ".join(shlex.quote(a) for a in shown),
                               rc=rc, stdout=out, stderr=err)
        return rc, out, err

    def pkg_manager(self, downloader=False):
        if common_bin_path("dnf", self.ctx):
            return ["dnf", "download"] if downloader else common_bin_path("dnf", self.ctx)
        return ["yumdownloader"] if downloader else common_bin_path("yum", self.ctx)

    def current_pkg_name(self):
        _, out, _ = self.run(["rpm", "-qa"], check_rc=True)
        for pkg in out.split("\n"):
            found = re.search(_OVS_UPGRADE_PKG_RE, pkg)
            if found:
                return found.group(0)
        return None

    def version(self, pkg, new=True):
        command = [self.pkg_manager(), "info", "-q", pkg] if new else ["rpm", "-qi", pkg]
        _, out, _ = self.run(command)
        found = []
        for version in re.findall(r"Version[^:]*:[^0-9]*([0-9.]+)", out):
            if version:
                if new:
                    found.append(version.split(".")[:2])
                else:
                    found = version.split(".")[:2]
        return found

    def layered_upgrade(self, ovs_pkg):
        product = _ovs_upgrade_product()
        coming = self.version(product)
        current = self.version(ovs_pkg, new=False)
        suffix = ""
        if int(current[0]) >= 3 or int(current[1]) >= 10:
            suffix = ".".join(current)
        base = "openvswitch*" if ovs_pkg == "openvswitch" else "openvswitch%s*" % suffix
        if not coming:
            self.result["msg"] += ("Couldn't get the version of rhosp-openvswitch, "
                                   "check dnf info -q rhosp-openvswitch on this host.")
            self.result["failed"] = True
        elif not current:
            self.result["msg"] += ("Couldn't get the current version of the ovs-package, "
                                   "check rpm -qi %s on this host." % ovs_pkg)
            self.result["failed"] = True
        elif _ovs_upgrade_flatten(coming) != _ovs_upgrade_flatten(current):
            if _ovs_upgrade_flatten(current, ".") == "2.11":  # bz1863024
                for bridge in ["br-int"]:
                    rc, _, err = self.run(["ovs-vsctl", "set", "bridge", bridge,
                                           "protocols=OpenFlow10,OpenFlow13,OpenFlow15"])
                    if rc != 0:
                        self.ctx.warn("Cannot set new OpenFlow protocols on a bridge: %s: %s." % (bridge, err))
            _, out, _ = self.run(["rpm", "-qa", base], check_rc=True)
            pkgs = [pkg for pkg in out.split("\n") if pkg]
            remove = [pkg for pkg in pkgs for exclude in ["selinux"] if not re.match(exclude, pkg)]
            self.run(["rpm", "-e", "--noscripts", "--nopreun", "--nopostun", "--notriggers", "--nodeps"]
                     + remove, check_rc=True)
            _, upgraded, _ = self.run([self.pkg_manager(), "upgrade", "-y", product], check_rc=True)
            self.result["msg"] += " Layer product update workaround applied for %s Upgraded:'%s'" % (
                pkgs, upgraded)
            self.result["changed"] = True
        else:
            self.result["msg"] += " No need to upgrade ovs."

    def has_disruption(self):
        rc = 1
        for awk in ("awk '/postuninstall/,/*/' | grep -q 'systemctl.*try-restart'",
                    "awk '/preun/,/*/' | grep -q 'systemctl.*disable'"):
            rc, _, _ = self.run("rpm -q --scripts openvswitch | %s" % awk)
            if rc == 0:
                break
        return rc == 0

    def plain_upgrade(self):
        if not self.has_disruption():
            self.result["msg"] += ("Nothing to be done for non layered ovs upgrade, "
                                   "post-script doesn't have restart.")
            return
        self.result["msg"] += "OVS upgrade special handling."
        for command in (["rm", "-rf", _OVS_UPGRADE_TMP],
                        ["install", "-d", "-o", "root", "-g", "root", "-m", "0750", _OVS_UPGRADE_TMP],
                        [self.pkg_manager(), "makecache"],
                        self.pkg_manager(downloader=True) + ["--destdir", _OVS_UPGRADE_TMP, "--resolve",
                                                            "openvswitch"]):
            self.run(command, check_rc=True)
        for pkg in glob.glob(_OVS_UPGRADE_TMP + "/*.rpm"):
            self.run(["rpm", "-U", "--replacepkgs", "--notriggerun", "--nopostun", pkg], check_rc=True)
            self.result["msg"] += " %s handled" % pkg
            self.result["changed"] = True


def _ovs_upgrade_flatten(versions, join_str=""):
    if not isinstance(versions, list):
        versions = [versions]
    if versions and isinstance(versions[0], list):
        return "".join(join_str.join(version) for version in versions)
    return join_str.join(versions)


def _ovs_upgrade_product():
    """rdo-openvswitch on CentOS (ID in /etc/os-release), else rhosp-openvswitch."""
    distro = None
    if os.path.isfile("/etc/os-release"):
        with open("/etc/os-release") as stream:
            for line in stream.readlines():
                found = re.match('^ *ID *="?([^"]+)"?$', line)
                if found:
                    distro = found.group(1)
                    break
    return "rdo-openvswitch" if distro == "centos" else "rhosp-openvswitch"


@module("tripleo_ovs_upgrade", "ansible.legacy.tripleo_ovs_upgrade")
def tripleo_ovs_upgrade_module(params, ctx):
    common_validate("tripleo_ovs_upgrade", params, {}, ctx)
    if ctx.check_mode:
        return {"changed": False, "skipped": True,
                "msg": "remote module (tripleo_ovs_upgrade) does not support check mode"}
    work = _OvsUpgrade(ctx)
    try:
        product = _ovs_upgrade_product()
        current = work.current_pkg_name()
        if current:
            if work.version(product, new=False):
                work.result["msg"] += "Found a layered product ovs - %s - " % product
                work.layered_upgrade(current)
            else:
                work.result["msg"] += "Found ovs. "
                work.plain_upgrade()
        else:
            work.result["msg"] += "No ovs installed, nothing to do."
    except ModuleFailed:
        raise
    except Exception as ex:  # the module crashes
        raise ModuleFailed("Task failed: Module failed: %s" % ex) from ex
    result = work.result
    if result.get("failed"):
        raise ModuleFailed(result.pop("msg"), **{k: v for k, v in result.items() if k != "failed"})
    return result
