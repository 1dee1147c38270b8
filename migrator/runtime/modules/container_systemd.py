"""container_systemd (tripleo-ansible ACTION plugin): the systemd units of containers.

For every container of container_config (a list of {name: config}), as the action plugin
does with the modules it runs on the node:
- file absent /etc/systemd/system/tripleo_<name>.requires;
- with systemd_healthchecks, where tripleo_<name>_healthcheck.timer exists: stop and disable
  the timer (its failure ignored), remove the .service and .timer, daemon-reload;
- render the role's templates/systemd-service.j2 with `container_data_unit` set to the
  container's entry and copy it to /etc/systemd/system/tripleo_<name>.service (0644 root:root);
- daemon-reload when a unit changed, restart the containers whose unit changed and start the
  others (systemd: enabled), each up to 5 times 5 s apart until its `Result` is success;
`restarted` lists the services that changed doing so. The sub-modules are the runtime's
file, stat, copy and systemd ports, so check mode behaves as theirs do in Ansible.

The template is a controller file: the converter ships it from the role (migrator/translators/
tripleo_container_systemd.py) and passes its place on the node as the internal argument
`_unit_template`. Like the plugin, the options are taken as given (no type conversion).
"""

import os
import tempfile
import time

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.copy import copy_run_module  # tm:strip
from migrator.runtime.modules.file import file_module  # tm:strip
from migrator.runtime.modules.stat import stat_module  # tm:strip
from migrator.runtime.modules.systemd import systemd_run  # tm:strip

CONTAINER_SYSTEMD_OPTIONS = ("container_config", "systemd_healthchecks", "debug")
# module-level so that tests may point them elsewhere
CONTAINER_SYSTEMD_UNIT_DIR = "/etc/systemd/system"
CONTAINER_SYSTEMD_RETRY = (5, 5)  # tenacity: attempts, seconds between them


class _ContainerSystemd:
    def __init__(self, ctx):
        self.ctx = ctx
        self.changed = False
        self.restarted = []

    def sub(self, func, params, *args):
        """_execute_module: a failed module is a result, not an exception."""
        try:
            return func(params, self.ctx, *args)
        except ModuleFailed as ex:
            return ex.result

    def systemd(self, **params):
        return self.sub(lambda p, ctx: systemd_run("ansible.legacy.systemd", p, ctx), params)

    def reload(self):
        if self.systemd(daemon_reload=True).get("changed", False):
            self.changed = True

    def cleanup_requires(self, names):
        for name in names:
            path = os.path.join(CONTAINER_SYSTEMD_UNIT_DIR, "tripleo_%s.requires" % name)
            if self.sub(file_module, {"path": path, "state": "absent"}).get("changed", False):
                self.changed = True

    def cleanup_healthchecks(self, names):
        reload = False
        for name in names:
            timer = os.path.join(CONTAINER_SYSTEMD_UNIT_DIR, "tripleo_%s_healthcheck.timer" % name)
            if not self.sub(stat_module, {"path": timer}).get("stat", {}).get("exists", False):
                continue
            self.systemd(state="stopped", name="tripleo_%s_healthcheck.timer" % name, enabled=False,
                         daemon_reload=False)
            for ext in ("service", "timer"):
                path = os.path.join(CONTAINER_SYSTEMD_UNIT_DIR, "tripleo_%s_healthcheck.%s" % (name, ext))
                if self.sub(file_module, {"path": path, "state": "absent"}).get("changed", False):
                    self.changed = True
                    reload = True
        if reload:
            self.reload()

    def create_units(self, containers, template):
        changed = []
        for container in containers:
            for name in container:
                unit = self.ctx.render(template, extra_vars={"container_data_unit": container})
                fd, source = tempfile.mkstemp(prefix=".container_systemd.")
                try:
                    with os.fdopen(fd, "w") as stream:
                        stream.write(unit)
                    dest = os.path.join(CONTAINER_SYSTEMD_UNIT_DIR, "tripleo_%s.service" % name)
                    result = self.sub(copy_run_module, {"src": source, "dest": dest, "mode": "0644",
                                                        "owner": "root", "group": "root"}, False)
                finally:
                    os.remove(source)
                if result.get("changed", False):
                    changed.append(name)
        return changed

    def manage(self, name, state):
        attempts, wait = CONTAINER_SYSTEMD_RETRY
        for attempt in range(attempts):
            if attempt:
                time.sleep(wait)
            result = self.systemd(state=state, name="tripleo_%s.service" % name, enabled=True,
                                  daemon_reload=False)
            status = result.get("status")
            if isinstance(status, dict) and status.get("Result") == "success":
                if result.get("changed", False):
                    self.changed = True
                    self.restarted.append("tripleo_%s.service" % name)
                return
        raise ModuleFailed("Service %s has not started yet" % name)


@module("container_systemd", "ansible.legacy.container_systemd")
def container_systemd_module(params, ctx):
    params = dict(params)
    template_path = params.pop("_unit_template", None)
    bad = [key for key in params if key not in CONTAINER_SYSTEMD_OPTIONS]
    if bad:
        raise ModuleFailed("Invalid options for container_systemd: %s" % ",".join(bad))
    if params.get("container_config") is None:
        raise ModuleFailed("Missing required parameters: container_config")
    containers = params["container_config"]
    healthchecks = params.get("systemd_healthchecks", True)
    work = _ContainerSystemd(ctx)
    try:
        names = [name for container in containers for name in container]
        work.cleanup_requires(names)
        if healthchecks:
            work.cleanup_healthchecks(names)
        if not template_path or not os.path.exists(template_path):
            raise ModuleFailed("Template %s was not found" % (template_path or "templates/systemd-service.j2"))
        with open(template_path) as stream:
            template = stream.read()
        changed = work.create_units(containers, template)
        if changed:
            work.reload()
        for name in changed:
            work.manage(name, "restarted")
        for name in names:
            if name not in changed:
                work.manage(name, "started")
    except ModuleFailed:
        raise
    except Exception as ex:  # templating errors and crashes of the plugin
        raise ModuleFailed(str(ex)) from ex
    return {"changed": work.changed, "restarted": work.restarted}
