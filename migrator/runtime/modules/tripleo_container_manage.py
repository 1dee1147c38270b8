"""tripleo-ansible's tripleo_container_manage (6.0.0).

Every `config_patterns` file of `config_dir` (JSON, named after its
container) with `config_overrides` applied, batched by `start_order`, each
batch run `concurrency` at a time: `action: exec` configs by `podman exec`
into their (running) target container, the others turned from TripleO's
container format into podman_container options (labels config_id,
container_name, managed_by and config_data; conmon pidfile, k8s-file log
under log_base_path) and handed to the podman_container port's manager with
state started, as the module hands them to the collection's PodmanManager.
A container that fails (after its `retries`, `retry_sleep` apart) is a
warning; the task fails at the end naming the failed containers, else it
reports changed.
"""

import glob
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_boolean, common_run, common_validate  # tm:strip
from migrator.runtime.modules.podman_container import (  # tm:strip
    PODMAN_CONTAINER_SPEC, PodmanContainerManager)  # tm:strip

_TRIPLEO_CONTAINER_MANAGE_SPEC = {
    "config_id": {"type": "str", "required": True},
    "config_dir": {"type": "str", "required": True},
    "config_patterns": {"type": "str", "default": "*.json"},
    "config_overrides": {"type": "dict", "default": {}, "required": False},
    "log_base_path": {"type": "str", "default": "/var/log/containers/stdouts"},
    "concurrency": {"type": "int", "default": 1},
    "debug": {"type": "bool", "default": False},
}
_TRIPLEO_CONTAINER_MANAGE_TYPES = {"str": str, "list": list, "dict": dict, "bool": bool, "int": int}


class _TripleoContainerManageFailure(Exception):
    """The module's ExecFailure: what PodmanManager's fail_json raises in this module."""

    def __init__(self, failed):
        super().__init__(failed.result.get("msg"))
        self.msg = failed.result.get("msg")
        self.stderr = failed.result.get("stderr")

    def __str__(self):
        return "ERROR: %s\nstderr: %s" % (self.msg, self.stderr)


class _TripleoContainerManage:
    def __init__(self, p, ctx):
        self.p, self.ctx = p, ctx

    def configs(self):
        configs = {}
        config_dir = self.p["config_dir"]
        if not os.path.exists(config_dir):
            self.ctx.warn("Configuration directory does not exist %s" % config_dir)
            return configs
        for match in glob.glob(os.path.join(config_dir, self.p["config_patterns"])):
            name = os.path.splitext(os.path.basename(match))[0]
            with open(match, encoding="utf-8") as stream:
                configs[name] = json.loads(stream.read())
        for name, overrides in (self.p["config_overrides"] or {}).items():
            if name in configs:
                for key, value in overrides.items():
                    configs[name][key] = value
        return configs

    @staticmethod
    def container_options(opts):
        """_container_opts_update, then _container_opts_types."""
        options = {k: v.get("default") for k, v in PODMAN_CONTAINER_SPEC.items()}
        aliases = {alias: key for key, spec in PODMAN_CONTAINER_SPEC.items()
                   for alias in spec.get("aliases", ())}
        for key in list(opts):
            if key in aliases:
                options[aliases[key]] = opts.pop(key)
        options.update(opts)
        for key, value in options.items():
            if value is None or key not in PODMAN_CONTAINER_SPEC:
                continue
            wanted = PODMAN_CONTAINER_SPEC[key].get("type")
            if wanted in ("raw", "path") or isinstance(value, _TRIPLEO_CONTAINER_MANAGE_TYPES[wanted]):
                continue
            if isinstance(value, str) and wanted == "list":
                options[key] = [value]
            elif isinstance(value, str) and wanted == "bool":
                options[key] = common_boolean(value)
            elif isinstance(value, str) and wanted == "int":
                options[key] = int(value)
            elif isinstance(value, int) and wanted == "str":
                options[key] = str(value)
            else:
                raise TypeError("Container %s option (%s, %s) is not type %s is %s" % (
                    options["name"], key, value, wanted, type(value)))
        return options

    def running(self, name, retries=10):
        for _ in range(retries):
            rc, out, _ = common_run(self.ctx, ["podman", "inspect", name])
            if rc == 0 and json.loads(out)[0].get("State", {}).get("Running", False):
                return True
            time.sleep(6)
        return False

    def exec_container(self, name, config):
        target = config["command"][0]
        if not self.running(target):
            self.ctx.warn("Cannot run %s because target container is not running %s" % (name,
                                                                                        target))
            return False
        cmd = ["podman", "exec", "--user=%s" % config.get("user", "root")]
        if "privileged" in config:
            cmd.append("--privileged=%s" % str(config["privileged"]).lower())
        environment = config.get("environment")
        if isinstance(environment, dict):
            for key, value in sorted(environment.items()):
                if value:
                    cmd.append("--env=%s=%s" % (key, value))
                elif key:
                    cmd.append("--env=%s" % key)
        elif isinstance(environment, list):
            cmd += ["--env=%s" % value for value in environment if value]
        cmd.extend(config["command"])
        rc, out, err = common_run(self.ctx, cmd)
        if rc != 0:
            self.ctx.warn("Failure running exec '%s'. rc=%s, stdout=%s, stderr=%s" % (name, rc, out,
                                                                                      err))
            return False
        return True

    def manage_container(self, name, config):
        p = self.p
        opts = {"name": name, "state": "started",
                "label": {"config_id": p["config_id"], "container_name": name,
                          "managed_by": "tripleo_ansible", "config_data": config},
                "conmon_pidfile": "/run/%s.pid" % name, "debug": p["debug"],
                "log_driver": "k8s-file", "log_level": "info",
                "log_opt": {"path": "%s/%s.log" % (p["log_base_path"], name)}}
        opts.update(config)
        # TripleO's container format into the module's options, as the module does
        if "volumes" in opts:
            opts["volume"] = opts.pop("volumes")
        if "environment" in opts:
            opts["env"] = opts.pop("environment")
        if "healthcheck" in opts and isinstance(opts["healthcheck"], dict):
            opts["healthcheck"] = opts["healthcheck"].get("test", None)
        if "check_interval" in opts:
            opts["healthcheck_interval"] = opts.pop("check_interval")
        if "remove" in opts:
            opts["rm"] = opts.pop("remove")
        if "restart" in opts:
            opts["restart"] = False  # systemd restarts TripleO's containers
        if "stop_grace_period" in opts:
            opts["stop_timeout"] = opts.pop("stop_grace_period")
        try:
            PodmanContainerManager(self.container_options(opts), self.ctx, p["debug"]).execute()
        except ModuleFailed as ex:
            self.ctx.warn(str(_TripleoContainerManageFailure(ex)))
            return False
        return True

    def run_container(self, item):
        name, config = item
        action = config.get("action", "create")
        retries = config.pop("retries", 0)
        retry_sleep = config.pop("retry_sleep", 30)
        while True:
            if action == "exec":
                success = self.exec_container(name, config)
            else:
                success = self.manage_container(name, config)
            if success or retries <= 0:
                return name, success
            self.ctx.warn("Remaining retries for %s: %s" % (name, retries))
            retries -= 1
            time.sleep(retry_sleep)

    def run(self):
        batches = {}
        for name, config in self.configs().items():
            batches.setdefault(config.get("start_order", 0), []).append((name, config))
        failed = []
        for start_order in sorted(batches):
            with ThreadPoolExecutor(max_workers=self.p["concurrency"]) as pool:
                results = list(pool.map(self.run_container, batches[start_order]))
            failed += [name for name, success in results if not success]
        if failed:
            raise ModuleFailed("Failed containers: %s" % ", ".join(failed))
        return {"changed": True}


@module("tripleo_container_manage", "ansible.legacy.tripleo_container_manage")
def tripleo_container_manage(params, ctx):
    p = common_validate("tripleo_container_manage", params, _TRIPLEO_CONTAINER_MANAGE_SPEC, ctx)
    try:
        return _TripleoContainerManage(p, ctx).run()
    except ModuleFailed:
        raise
    except Exception as ex:  # the module does not catch them: ansible-core's message
        raise ModuleFailed("Task failed: Module failed: %s" % ex, exception=str(ex)) from None
