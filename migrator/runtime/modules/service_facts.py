"""ansible.builtin.service_facts on Linux: systemd (systemctl list-units and
list-unit-files), SysV (`service --status-all`, or chkconfig on Red Hat), upstart
(initctl) and OpenRC (rc-status, rc-update), with the module's precedence between
them. The AIX, OpenBSD and FreeBSD scanners are not ported (a node is Linux)."""

import os
import re

from migrator.runtime.api import module  # tm:strip
from migrator.runtime.modules.common import common_best_locale, common_bin_path, common_run, common_validate  # tm:strip

_SERVICE_FACTS_BAD_STATES = frozenset(["not-found", "masked", "failed"])


class _ServiceFactsScan:
    def __init__(self, ctx):
        self.ctx = ctx
        locale = common_best_locale(ctx)
        self.env = {"LANG": locale, "LC_ALL": locale}

    def run(self, command, shell=False):
        return common_run(self.ctx, command, use_unsafe_shell=shell, environ_update=self.env)

    # -- ServiceScanService
    def sysvinit(self, services, service):
        rc, out, err = self.run("%s --status-all" % service)
        if rc == 4 and not os.path.exists("/etc/init.d"):
            return
        if rc != 0:
            self.ctx.warn("Unable to query 'service' tool (%s): %s" % (rc, err))
        for match in re.finditer(r"^\s*\[ (?P<state>\+|\-) \]\s+(?P<name>.+)$", out, flags=re.M):
            name = match.group("name")
            services[name] = {"name": name, "state": "running" if match.group("state") == "+" else "stopped",
                              "source": "sysv"}

    def upstart(self, services, initctl):
        pattern = re.compile(r"^\s?(?P<name>.*)\s(?P<goal>\w+)\/(?P<state>\w+)(\,\sprocess\s(?P<pid>[0-9]+))?\s*$")
        rc, out, err = self.run("%s list" % initctl)
        if rc != 0:
            self.ctx.warn("Unable to query upstart for service data: %s" % err)
            return
        for line in out.replace("\r", "").split("\n"):
            match = pattern.match(line)
            if match:
                services[match.group("name")] = {"name": match.group("name"), "state": match.group("state"),
                                                 "goal": match.group("goal"), "source": "upstart"}

    def redhat(self, services, chkconfig, service):
        pattern = re.compile(
            r"(?P<service>.*?)\s+[0-9]:(?P<rl0>on|off)\s+[0-9]:(?P<rl1>on|off)\s+[0-9]:(?P<rl2>on|off)\s+"
            r"[0-9]:(?P<rl3>on|off)\s+[0-9]:(?P<rl4>on|off)\s+[0-9]:(?P<rl5>on|off)\s+[0-9]:(?P<rl6>on|off)")
        rc, out, err = self.run("%s" % chkconfig, shell=True)
        if not any(pattern.match(line) for line in out.split("\n")):
            simple = re.compile(r"(?P<service>.*?)\s+(?P<rl0>on|off)")
            if any(simple.match(line) for line in out.split("\n")):
                rc, out, err = self.run("%s -l --allservices" % chkconfig, shell=True)
            elif "--list" in err:
                rc, out, err = self.run("%s --list" % chkconfig, shell=True)
        for line in out.split("\n"):
            match = pattern.match(line)
            if not match:
                continue
            name = match.group("service")
            status = "enabled" if match.group("rl3") == "on" else "disabled"
            rc, _, err = self.run("%s %s status" % (service, name), shell=True)
            state = rc
            if rc == 0:
                state = "running"
            else:
                lowered = err.lower()
                for word in ("root", "permission", "not in sudoers"):
                    if word in lowered:
                        self.ctx.warn('Insufficient permissions to query sysV service "%s" and their states'
                                      % name)
                        break
                else:
                    state = "stopped"
            services[name] = {"name": name, "state": state, "status": status, "source": "sysv"}

    def openrc(self, services, rc_status, rc_update):
        _, out, _ = self.run("%s -a -s -m 2>&1 | grep '^ ' | tr -d '[]'" % rc_status, shell=True)
        _, out_update, _ = self.run("%s show -v 2>&1 | grep '|'" % rc_update, shell=True)
        runlevels = {}
        for line in out_update.split("\n"):
            data = line.split("|")
            if len(data) < 2:
                continue
            levels = data[1].strip()
            runlevels[data[0].strip()] = levels.split() if levels else None
        for line in out.split("\n"):
            data = line.split()
            if len(data) < 2 or data[0] == "*":
                continue
            if data[0] not in runlevels:
                self.ctx.warn("Service %s not found in the service list" % data[0])
                continue
            services[data[0]] = {"name": data[0], "runlevels": runlevels[data[0]], "state": data[1],
                                 "source": "openrc"}

    def scan_service(self):
        services = {}
        service = common_bin_path("service", self.ctx)
        chkconfig = common_bin_path("chkconfig", self.ctx)
        initctl = common_bin_path("initctl", self.ctx)
        rc_status = common_bin_path("rc-status", self.ctx)
        rc_update = common_bin_path("rc-update", self.ctx)
        if service and chkconfig is None and rc_status is None:
            self.sysvinit(services, service)
        if initctl and chkconfig is None:
            self.upstart(services, initctl)
        elif chkconfig:
            self.redhat(services, chkconfig, service)
        elif rc_status is not None and rc_update is not None:
            self.openrc(services, rc_status, rc_update)
        return services

    # -- SystemctlScanService
    def systemd_managed(self):
        if not common_bin_path("systemctl", self.ctx):
            return False
        for canary in ("/run/systemd/system/", "/dev/.run/systemd/", "/dev/.systemd/"):
            if os.path.exists(canary):
                return True
        try:
            with open("/proc/1/comm") as stream:
                return stream.readline().strip() == "systemd"
        except OSError:
            return False

    def scan_systemd(self):
        services = {}
        if not self.systemd_managed():
            return services
        systemctl = common_bin_path("systemctl", self.ctx)
        rc, out, err = self.run("%s list-units --no-pager --type service --all --plain" % systemctl, shell=True)
        if rc != 0:
            self.ctx.warn("Could not list units from systemd: %s" % err)
        else:
            for line in [line for line in out.split("\n") if ".service" in line]:
                fields = line.split()
                for bad in _SERVICE_FACTS_BAD_STATES:
                    if bad in fields[:-1]:
                        status = bad
                        break
                else:
                    status = fields[2]
                services[fields[0]] = {"name": fields[0], "state": "running" if fields[3] == "running" else "stopped",
                                       "status": status, "source": "systemd"}
        rc, out, err = self.run("%s list-unit-files --no-pager --type service --all" % systemctl, shell=True)
        if rc != 0:
            self.ctx.warn("Could not get unit files data from systemd: %s" % err)
            return services
        for line in [line for line in out.split("\n") if ".service" in line]:
            name, status = line.split()[:2]
            if name not in services:
                rc, shown, _ = self.run("%s show %s --property=ActiveState" % (systemctl, name), shell=True)
                state = shown.replace("ActiveState=", "").rstrip() if not rc and shown != "" else "unknown"
                services[name] = {"name": name, "state": state, "status": status, "source": "systemd"}
            elif services[name]["status"] not in _SERVICE_FACTS_BAD_STATES:
                services[name]["status"] = status
        return services


@module("ansible.builtin.service_facts", "ansible.legacy.service_facts")
def service_facts_module(params, ctx):
    common_validate("ansible.builtin.service_facts", params, {}, ctx)
    scan = _ServiceFactsScan(ctx)
    services = {}
    services.update(scan.scan_service())
    services.update(scan.scan_systemd())
    if not services:
        return {"changed": False, "skipped": True,
                "msg": "Failed to find any services. This can be due to privileges or some other configuration "
                       "issue."}
    return {"changed": False, "ansible_facts": {"services": services}}
