"""community.general.modprobe, as in community.general 11.x: load or unload a kernel module.

"Loaded" is what the module reads: a line of /proc/modules starting with the name
(dashes as underscores), else the name's .ko ending a line of
/lib/modules/<release>/modules.builtin; either file unreadable fails the task.
Loading runs `modprobe NAME PARAMS...` (`-n` in check mode); when the module is
then still not loaded, a `modprobe -n --first-time` probe's error becomes a warning
and the task reports no change, as the module does. `persistent` writes
/etc/modules-load.d/NAME.conf and /etc/modprobe.d/NAME.conf, or comments out the
matching lines, with the module's quirks (rewritten files are joined with an extra
newline per line; the name is used in the regular expressions as given).
"""

import os
import platform
import re
import shlex
import traceback

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import (  # tm:strip
    common_bin_path, common_run, common_validate)  # tm:strip

MODPROBE_MODULES_LOAD = "/etc/modules-load.d"
MODPROBE_PARAMETERS = "/etc/modprobe.d"
MODPROBE_PROC_MODULES = "/proc/modules"

_MODPROBE_SPEC = {
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "default": "present", "choices": ["absent", "present"]},
    "params": {"type": "str", "default": ""},
    "persistent": {"type": "str", "default": "disabled", "choices": ["disabled", "present", "absent"]},
}


class _ModprobeRun:
    def __init__(self, p, ctx):
        self.ctx = ctx
        self.binary = common_bin_path("modprobe", ctx, required=True)
        self.name, self.params, self.state = p["name"], p["params"], p["state"]
        self.changed = False
        self.find_module = re.compile(r"^ *{0} *(?:[#;].*)?\n?\Z".format(self.name))
        self.find_params = re.compile(r"^options {0} \w+=\S+ *(?:[#;].*)?\n?\Z".format(self.name))
        self.get_params = re.compile(r"^options {0} (\w+=\S+) *(?:[#;].*)?\n?\Z".format(self.name))

    def result(self):
        return {"changed": self.changed, "name": self.name, "params": self.params, "state": self.state}

    def fail(self, msg, **extra):
        raise ModuleFailed(msg, **dict(self.result(), **extra))

    def loaded(self):
        try:
            with open(MODPROBE_PROC_MODULES) as stream:
                prefix = self.name.replace("-", "_") + " "
                if any(line.startswith(prefix) for line in stream):
                    return True
            builtin = os.path.join("/lib/modules/", platform.release(), "modules.builtin")
            with open(builtin) as stream:
                return any(line.rstrip().endswith("/" + self.name + ".ko") for line in stream)
        except OSError as ex:
            self.fail(str(ex), exception=traceback.format_exc())

    def load(self):
        command = [self.binary] + (["-n"] if self.ctx.check_mode else [])
        rc, out, err = common_run(self.ctx, command + [self.name] + shlex.split(self.params))
        if rc != 0:
            self.fail(err, rc=rc, stdout=out, stderr=err)
        if self.ctx.check_mode or self.loaded():
            self.changed = True
            return
        rc, _, err = common_run(self.ctx, [self.binary, "-n", "--first-time", self.name]
                                + shlex.split(self.params))
        if rc != 0:
            self.ctx.warn(err)

    def unload(self):
        command = [self.binary, "-r", self.name] + (["-n"] if self.ctx.check_mode else [])
        rc, out, err = common_run(self.ctx, command)
        if rc != 0:
            self.fail(err, rc=rc, stdout=out, stderr=err)
        self.changed = True

    @staticmethod
    def files(directory):
        if not os.path.isdir(directory):
            return []
        paths = [os.path.join(directory, name) for name in os.listdir(directory)]
        return [path for path in paths if os.path.isfile(path)]

    def persistently_loaded(self):
        for path in self.files(MODPROBE_MODULES_LOAD):
            with open(path) as stream:
                if any(self.find_module.match(line) for line in stream):
                    return True
        return False

    def permanent_params(self):
        found = set()
        for path in self.files(MODPROBE_PARAMETERS):
            with open(path) as stream:
                for line in stream:
                    match = self.get_params.match(line)
                    if match:
                        found.add(match.group(1))
        return found

    def params_set(self):
        return set(self.params.split()) == self.permanent_params()

    def comment_out(self, directory, pattern):
        for path in self.files(directory):
            with open(path) as stream:
                lines = stream.readlines()
            touched = False
            for index, line in enumerate(lines):
                if pattern.match(line):
                    lines[index] = "#" + line
                    touched = True
            if touched and not self.ctx.check_mode:
                with open(path, "w") as stream:
                    stream.write("\n".join(lines))

    def make_persistent(self):
        if not self.persistently_loaded():
            if not self.ctx.check_mode:
                with open(os.path.join(MODPROBE_MODULES_LOAD, self.name + ".conf"), "w") as stream:
                    stream.write(self.name + "\n")
            self.changed = True
        if not self.params_set():
            self.comment_out(MODPROBE_PARAMETERS, self.find_params)
            if not self.ctx.check_mode:
                content = "\n".join("options %s %s" % (self.name, param) for param in self.params.split())
                with open(os.path.join(MODPROBE_PARAMETERS, self.name + ".conf"), "w") as stream:
                    stream.write(content + "\n")
            self.changed = True

    def remove_persistence(self):
        if self.persistently_loaded():
            self.comment_out(MODPROBE_MODULES_LOAD, self.find_module)
            self.changed = True
        if self.permanent_params():
            self.comment_out(MODPROBE_PARAMETERS, self.find_params)
            self.changed = True


@module("community.general.modprobe")
def modprobe_module(params, ctx):
    p = common_validate("community.general.modprobe", params, _MODPROBE_SPEC, ctx)
    try:
        run = _ModprobeRun(p, ctx)
        if run.state == "present" and not run.loaded():
            run.load()
        elif run.state == "absent" and run.loaded():
            run.unload()
        if p["persistent"] == "present" and not (run.persistently_loaded() and run.params_set()):
            run.make_persistent()
        elif p["persistent"] == "absent" and (run.persistently_loaded() or run.permanent_params()):
            run.remove_persistence()
        return run.result()
    except ModuleFailed:
        raise
    except Exception as ex:  # the module has no handler: a traceback
        raise ModuleFailed("Task failed: Module failed: %s" % ex,
                           exception=traceback.format_exc()) from ex
