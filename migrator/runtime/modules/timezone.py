"""community.general.timezone, as in community.general 11.x, on Linux.

Where `timedatectl` exists and answers (systemd), the zone and the RTC mode are
read from `timedatectl status` and set with `timedatectl set-timezone` /
`set-local-rtc yes|no`. Otherwise the module's "no systemd" way: the zone lives
in /etc/timezone (Debian, with dpkg-reconfigure: `ln -sf` the zone file to
/etc/localtime and `dpkg-reconfigure --frontend noninteractive tzdata`;
Alpine/Gentoo likewise, Alpine through `setup-timezone -z`) or in
/etc/sysconfig/clock (ZONE= or, when the file says so, SUSE's TIMEZONE=; the
zone file copied to /etc/localtime, or `tzdata-update`), /etc/localtime being
checked against the wanted zone; the RTC mode in UTC= of /etc/default/rcS,
/etc/conf.d/hwclock or /etc/sysconfig/clock plus /etc/adjtime, set with
`hwclock --systohc --utc|--localtime`. Values are read before and after the
change; `diff` and `msg` are the module's, as are its failures ("Error message:
..."). Other platforms (SmartOS, macOS, BSD, AIX) are not ported: a TripleO node
is Linux.
"""

import errno
import filecmp
import os
import re
import shlex
import traceback

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import (  # tm:strip
    common_bin_path, common_boolean, common_run, common_validate)  # tm:strip

_TIMEZONE_SPEC = {
    "hwclock": {"type": "str", "choices": ["local", "UTC"], "aliases": ["rtc"]},
    "name": {"type": "str"},
}
_TIMEZONE_SYSTEMD_RE = {
    "hwclock": re.compile(r"^\s*RTC in local TZ\s*:\s*([^\s]+)", re.MULTILINE),
    "name": re.compile(r"^\s*Time ?zone\s*:\s*([^\s]+)", re.MULTILINE),
}
_TIMEZONE_SYSTEMD_SUBCMD = {"hwclock": "set-local-rtc", "name": "set-timezone"}


def timezone_distribution():
    """ansible.module_utils.common.sys_info.get_distribution() on Linux (distro.id())."""
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            with open(path) as stream:
                for line in stream:
                    if line.startswith("ID="):
                        ident = line[3:].strip().strip("\"'").lower().replace(" ", "_")
                        ident = ident.capitalize()
                        return {"Amzn": "Amazon", "Rhel": "Redhat"}.get(ident, ident) or "OtherLinux"
        except OSError:
            continue
    return "OtherLinux"


class _TimezoneRun:
    def __init__(self, p, ctx):
        self.ctx = ctx
        self.msg = []
        # the module's argument_spec order: hwclock, then name
        self.value = {key: {"planned": p[key]} for key in ("hwclock", "name") if p.get(key) is not None}
        self.status = {}
        self.systemd = False
        timedatectl = common_bin_path("timedatectl", ctx)
        if timedatectl is not None and common_run(ctx, timedatectl)[0] == 0:
            self.systemd = True
            self.timedatectl = common_bin_path("timedatectl", ctx, required=True)
            if "name" in self.value:
                self.verify()
        else:
            self.init_files()

    # -- the generic class

    def abort(self, msg):
        lines = ["Error message:", msg]
        if self.msg:
            lines.append("Other message(s):")
            lines.extend(self.msg)
        raise ModuleFailed("\n".join(lines))

    def execute(self, *command, log=False):
        rc, out, err = common_run(self.ctx, list(command))
        if rc != 0:
            raise ModuleFailed(err.rstrip(), cmd=" ".join(shlex.quote(a) for a in command), rc=rc, stdout=out, stderr=err)
        if log:
            self.msg.append("executed `%s`" % " ".join(command))
        return out

    def diff(self, phase1="before", phase2="after"):
        found = {phase1: {}, phase2: {}}
        for key, value in self.value.items():
            found[phase1][key] = value[phase1]
            found[phase2][key] = value[phase2]
        return found

    def check(self, phase):
        for key, value in self.value.items():
            value[phase] = self.get(key, phase)

    def change(self):
        for key, value in self.value.items():
            if value["before"] != value["planned"]:
                self.set(key, value["planned"])

    def verify(self):
        tz = self.value["name"]["planned"]
        tzfile = "/usr/share/zoneinfo/%s" % tz
        if not os.path.isfile(tzfile):
            self.abort('given timezone "%s" is not available' % tz)
        return tzfile

    def boolean(self, value):
        try:
            return common_boolean(value)
        except TypeError as ex:
            raise ModuleFailed(str(ex)) from None

    def get(self, key, phase):
        return self.systemd_get(key, phase) if self.systemd else self.files_get(key, phase)

    def set(self, key, value):
        if self.systemd:
            if key == "hwclock":
                value = "yes" if value == "local" else "no"
            self.execute(self.timedatectl, _TIMEZONE_SYSTEMD_SUBCMD[key], value, log=True)
        elif key == "name":
            self.edit_file(self.conf_files["name"], self.regexps["name"], self.tzline_format % value, "name")
            for command in self.update_timezone:
                self.execute(*command)
        else:
            option, utc = ("--localtime", "no") if value == "local" else ("--utc", "yes")
            if self.conf_files["hwclock"] is not None:
                self.edit_file(self.conf_files["hwclock"], self.regexps["hwclock"], "UTC=%s\n" % utc, "hwclock")
            self.execute(self.update_hwclock, "--systohc", option, log=True)

    # -- systemd

    def systemd_get(self, key, phase):
        if phase not in self.status:
            self.status[phase] = self.execute(self.timedatectl, "status")
        found = _TIMEZONE_SYSTEMD_RE[key].search(self.status[phase])
        if found is None:
            raise AttributeError("'NoneType' object has no attribute 'group'")
        value = found.group(1)
        if key == "hwclock":
            value = "local" if self.boolean(value) else "UTC"
        return value

    # -- no systemd: configuration files

    def init_files(self):
        self.conf_files = {"name": "/etc/timezone", "hwclock": None, "adjtime": "/etc/adjtime"}
        self.regexps = {"name": re.compile(r"^([^\s]+)", re.MULTILINE),
                        "hwclock": re.compile(r"^UTC\s*=\s*([^\s]+)", re.MULTILINE),
                        "adjtime": re.compile(r"^(UTC|LOCAL)$", re.MULTILINE)}
        self.tzline_format = "%s\n"
        planned_tz = ""
        tzfile = None
        if "name" in self.value:
            tzfile = self.verify()
            planned_tz = self.value["name"]["planned"]
            self.update_timezone = [[common_bin_path("cp", self.ctx, required=True), "--remove-destination",
                                     tzfile, "/etc/localtime"]]
        self.update_hwclock = common_bin_path("hwclock", self.ctx, required=True)
        distribution = timezone_distribution()
        if common_bin_path("dpkg-reconfigure", self.ctx) is not None:
            if "name" in self.value:
                self.update_timezone = [
                    [common_bin_path("ln", self.ctx, required=True), "-sf", tzfile, "/etc/localtime"],
                    [common_bin_path("dpkg-reconfigure", self.ctx, required=True), "--frontend",
                     "noninteractive", "tzdata"]]
            self.conf_files["hwclock"] = "/etc/default/rcS"
        elif distribution in ("Alpine", "Gentoo"):
            self.conf_files["hwclock"] = "/etc/conf.d/hwclock"
            if distribution == "Alpine":
                self.update_timezone = [[common_bin_path("setup-timezone", self.ctx, required=True),
                                         "-z", planned_tz]]
        else:
            if common_bin_path("tzdata-update", self.ctx) is not None and not os.path.islink("/etc/localtime"):
                self.update_timezone = [[common_bin_path("tzdata-update", self.ctx, required=True)]]
            self.conf_files["name"] = self.conf_files["hwclock"] = "/etc/sysconfig/clock"
            suse = re.compile(r'^TIMEZONE\s*=\s*"?([^"\s]+)"?', re.MULTILINE)
            redhat = re.compile(r'^ZONE\s*=\s*"?([^"\s]+)"?', re.MULTILINE)
            try:
                with open(self.conf_files["name"]) as stream:
                    sysconfig_clock = stream.read()
            except OSError as ex:
                if ex.errno != errno.ENOENT:
                    self.abort('could not read configuration file "%s"' % self.conf_files["name"])
                sysconfig_clock = ""  # SuSE is never what get_distribution() says: the Red Hat way
            if re.search(r"^TIMEZONE\s*=", sysconfig_clock, re.MULTILINE):
                self.regexps["name"], self.tzline_format = suse, 'TIMEZONE="%s"\n'
            else:
                self.regexps["name"], self.tzline_format = redhat, 'ZONE="%s"\n'

    def edit_file(self, filename, regexp, value, key):
        try:
            with open(filename) as stream:
                lines = stream.readlines()
        except OSError as ex:
            if ex.errno != errno.ENOENT:
                self.abort('tried to configure %s using a file "%s", but could not read it' % (key, filename))
            lines = []
        matched = [index for index, line in enumerate(lines) if regexp.search(line)]
        insert_at = matched[0] if matched else 0
        for index in matched[::-1]:
            del lines[index]
        lines.insert(insert_at, value)
        try:
            with open(filename, "w") as stream:
                stream.writelines(lines)
        except OSError:
            self.abort('tried to configure %s using a file "%s", but could not write to it' % (key, filename))
        self.msg.append("Added 1 line and deleted %s line(s) on %s" % (len(matched), filename))

    def config_value(self, key, phase):
        filename = self.conf_files[key]
        try:
            with open(filename) as stream:
                status = stream.read()
        except OSError as ex:
            if ex.errno != errno.ENOENT:
                self.abort('tried to configure %s using a file "%s", but could not read it' % (key, filename))
            return "UTC" if key == "adjtime" else "n/a"
        found = self.regexps[key].search(status)
        if found is None:
            if key == "hwclock":
                return "n/a"
            if key == "adjtime":
                return "UTC"
            if phase == "before":
                return "n/a"
            self.abort('tried to configure %s using a file "%s", but could not find a valid value in it'
                       % (key, filename))
        value = found.group(1)
        if key == "hwclock":
            value = "UTC" if self.boolean(value) else "local"
        elif key == "adjtime" and value != "UTC":
            value = value.lower()
        return value

    def files_get(self, key, phase):
        planned = self.value[key]["planned"]
        value = self.config_value(key, phase)
        if key == "hwclock":
            if value == planned:
                value = self.config_value("adjtime", phase)
        elif value == planned:
            if os.path.islink("/etc/localtime"):
                if os.path.exists("/etc/localtime"):
                    found = re.search(r"(?:/(?:usr/share|etc)/zoneinfo/)(.*)", os.readlink("/etc/localtime"),
                                      re.MULTILINE)
                    if found:
                        if found.group(1) != planned:
                            value = found.group(1)
                    else:
                        value = "n/a"
                else:
                    value = "n/a"
            else:
                try:
                    if not filecmp.cmp("/etc/localtime", "/usr/share/zoneinfo/" + planned):
                        return "n/a"
                except Exception:
                    return "n/a"
        return value


@module("community.general.timezone")
def timezone_module(params, ctx):
    p = common_validate("community.general.timezone", params, _TIMEZONE_SPEC, ctx,
                        required_one_of=[["hwclock", "name"]])
    try:
        tz = _TimezoneRun(p, ctx)
        tz.check("before")
        if ctx.check_mode:
            diff = tz.diff("before", "planned")
            diff["after"] = diff.pop("planned")
        else:
            tz.change()
            tz.check("after")
            after, planned = tz.diff("after", "planned").values()
            if after != planned:
                tz.abort("still not desired state, though changes have made - planned: %s, after: %s"
                         % (str(planned), str(after)))
            diff = tz.diff("before", "after")
    except ModuleFailed:
        raise
    except Exception as ex:  # the module has no handler: a traceback
        raise ModuleFailed("Task failed: Module failed: %s" % ex,
                           exception=traceback.format_exc()) from ex
    result = {"changed": diff["before"] != diff["after"], "diff": diff}
    if tz.msg:
        result["msg"] = "\n".join(tz.msg)
    return result
