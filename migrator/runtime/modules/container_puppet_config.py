"""container_puppet_config (tripleo-ansible): write the container-puppet-<volume> container
configs for a step (one per config_volume, with the shared puppet_tags, step_config and
volumes merged) under /var/lib/tripleo-config/container-puppet-config/step_N, and put the new
config hashes (<config_vol_prefix>/<volume>.md5sum) into the container startup configs
(TRIPLEO_CONFIG_HASH in /var/lib/tripleo-config/container-startup-config/**.json).

As in the module: the step directory is always removed and written anew (changed: true
whenever there is a config), `check_mode` is an option (it mounts /etc/puppet/check-mode into
the containers) and Ansible's check mode changes nothing in the module's behaviour: it
writes anyway.
"""

import copy
import fnmatch
import json
import os
import shutil

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_validate  # tm:strip

_CPC_SPEC = {
    "no_archive": {"type": "bool", "default": True},
    "check_mode": {"type": "bool", "default": False},
    "config_vol_prefix": {"type": "str", "default": "/var/lib/config-data"},
    "debug": {"type": "bool", "default": False},
    "net_host": {"type": "bool", "default": True},
    "puppet_config": {"type": "str", "default": ""},
    "short_hostname": {"type": "str", "default": ""},
    "step": {"type": "int", "default": 6},
    "update_config_hash_only": {"type": "bool", "default": False},
}

# module-level so that tests may point them elsewhere
CPC_PUPPET_CONFIG = "/var/lib/tripleo-config/container-puppet-config"
CPC_STARTUP_CONFIG = "/var/lib/tripleo-config/container-startup-config"
_CPC_ENTRYPOINT = "/var/lib/container-puppet/container-puppet.sh"


class _CpcManager:
    def __init__(self, p, ctx):
        self.p = p
        self.ctx = ctx
        self.prefix = p["config_vol_prefix"]
        self.result = {"changed": False}

    def slurp(self, path):
        if os.path.exists(path):
            with open(path, "r") as stream:
                return stream.read()
        self.ctx.warn("%s was not found." % path)
        return ""

    def write_config(self, path, config):
        with open(path, "wb") as stream:
            stream.write(json.dumps(config, indent=2).encode("utf-8"))
        os.chmod(path, 0o600)
        self.result["changed"] = True

    def merge_volumes(self, data):
        merged = {}
        for config in data:
            volume = config.get("config_volume")
            if volume is None or volume == "":
                continue
            if volume not in merged:
                merged[volume] = config
                continue
            known = merged[volume]
            known_image = known["config_image"]
            if config.get("volumes"):
                volumes = known.get("volumes", [])
                volumes.extend(config["volumes"])
                known["volumes"] = sorted(set(volumes))
            if config.get("puppet_tags") is not None:
                known["puppet_tags"] = "%s,%s" % (known["puppet_tags"], config["puppet_tags"])
            if config.get("step_config") is not None:
                known["step_config"] = "%s\n%s" % (known["step_config"], config["step_config"])
            if config.get("config_image") != known_image:
                self.ctx.warn("%s config image does not match with %s" % (config.get("config_image"), known_image))
        return merged

    def environment(self):
        p = self.p
        env = {"STEP": 6 if p["step"] == 1 else p["step"], "NET_HOST": str(p["net_host"]).lower(),
               "DEBUG": str(p["debug"]).lower()}
        if p["short_hostname"] is not None:
            env["HOSTNAME"] = p["short_hostname"]
        env["NO_ARCHIVE"] = p["no_archive"] if p["no_archive"] else ""
        return env

    def container_configs(self, data):
        default_volumes = [
            "/etc/localtime:/etc/localtime:ro",
            "/etc/puppet:/tmp/puppet-etc:ro",
            "/etc/pki/ca-trust/extracted:/etc/pki/ca-trust/extracted:ro",
            "/etc/pki/tls/certs/ca-bundle.crt:/etc/pki/tls/certs/ca-bundle.crt:ro",
            "/etc/pki/tls/certs/ca-bundle.trust.crt:/etc/pki/tls/certs/ca-bundle.trust.crt:ro",
            "/etc/pki/tls/cert.pem:/etc/pki/tls/cert.pem:ro",
            "%s:/var/lib/config-data:rw" % self.prefix,
            "/var/lib/container-puppet/puppetlabs/facter.conf:/etc/puppetlabs/facter/facter.conf:ro",
            "/var/lib/container-puppet/puppetlabs:/opt/puppetlabs:ro",
            "%s:%s:ro" % (_CPC_ENTRYPOINT, _CPC_ENTRYPOINT),
            "/usr/share/openstack-puppet/modules:/usr/share/openstack-puppet/modules:ro",
            "/dev/log:/dev/log:rw",
        ]
        defaults = {"security_opt": ["label=disable"], "user": 0, "detach": False,
                    "entrypoint": _CPC_ENTRYPOINT, "environment": self.environment()}
        configs = {}
        for volume, config in data.items():
            cdata = copy.deepcopy(defaults)
            volumes = list(default_volumes)
            if self.p["check_mode"]:
                volumes.append("/etc/puppet/check-mode:/tmp/puppet-check-mode:ro")
            if self.p["net_host"]:
                cdata["net"] = ["host"]
                volumes.append("/etc/hosts:/etc/hosts:ro")
            else:
                cdata["net"] = ["none"]
            tags = "file,file_line,concat,augeas,cron"
            if config.get("puppet_tags") is not None:
                tags += ",%s" % config["puppet_tags"]
            cdata["environment"]["PUPPET_TAGS"] = tags
            cdata["environment"]["NAME"] = volume
            for key, value in config.items():
                if key in ("config_volume", "puppet_tags"):
                    continue
                if key == "step_config":
                    cdata["environment"]["STEP_CONFIG"] = value
                elif key == "config_image":
                    cdata["image"] = value
                elif key == "privileged":
                    cdata["privileged"] = value
                elif key == "volumes":
                    if isinstance(value, list):
                        volumes.extend(value)
                    else:
                        volumes.append(value)
                else:
                    cdata[key] = value
            cdata["volumes"] = sorted(set(volumes))
            configs["container-puppet-" + volume] = cdata
        return configs

    def config_base(self, volume):
        path = volume
        base = self.prefix.rstrip(os.path.sep)
        generated = os.path.join(base, "puppet-generated")
        while path.startswith(self.prefix):
            dirname = os.path.dirname(path)
            if dirname in (base, generated):
                return path
            path = dirname
        raise ModuleFailed("Could not find config base for: %s with prefix: %s" % (volume, self.prefix))

    def update_hashes(self):
        found = []
        if os.path.exists(CPC_STARTUP_CONFIG):
            for root, _, files in os.walk(CPC_STARTUP_CONFIG):
                found += [os.path.join(root, name) for name in fnmatch.filter(files, "*.json")]
        else:
            self.ctx.warn("%s does not exists" % CPC_STARTUP_CONFIG)
        for path in found:
            name = os.path.splitext(os.path.basename(path))[0]
            if name.startswith("hashed-"):
                if os.path.exists(path):
                    os.remove(path)
                continue
            startup = json.loads(self.slurp(path))
            try:
                volumes = startup.get("volumes", [])
            except AttributeError:
                raise ModuleFailed("Error fetching volumes. Prefix: %s - Config: %s"
                                   % (self.prefix, startup)) from None
            bases = sorted(self.config_base(v.split(":")[0]) for v in volumes if v.startswith(self.prefix))
            hashes = []
            for base in bases:
                if os.path.exists("%s.md5sum" % base):
                    hashes.append(self.slurp("%s.md5sum" % base).strip("\n"))
            hashes = [h for h in hashes if h]
            old = startup["environment"].get("TRIPLEO_CONFIG_HASH", "") if "environment" in startup else ""
            # the module tests a filter object for truth: always true, so an empty hash is
            # written when no volume has one
            new = "-".join(hashes)
            if new == old:
                continue
            startup.setdefault("environment", {})["TRIPLEO_CONFIG_HASH"] = new
            self.write_config(path, startup)

    def run(self):
        p = self.p
        if not p["update_config_hash_only"]:
            data = json.loads(self.slurp(p["puppet_config"]))
            config_path = os.path.join(CPC_PUPPET_CONFIG, "step_" + str(p["step"]))
            old = CPC_STARTUP_CONFIG + "-step_" + str(p["step"]) + ".json"
            if os.path.exists(old):
                os.remove(old)
            if os.path.exists(config_path):
                shutil.rmtree(config_path)
            os.makedirs(config_path)
            for name, config in self.container_configs(self.merge_volumes(data)).items():
                self.write_config(os.path.join(config_path, name + ".json"), config)
        self.update_hashes()
        return self.result


@module("container_puppet_config", "ansible.legacy.container_puppet_config")
def container_puppet_config_module(params, ctx):
    p = common_validate("container_puppet_config", params, _CPC_SPEC, ctx)
    warned = len(ctx.warnings)
    try:
        return _CpcManager(p, ctx).run()
    except ModuleFailed:
        raise
    except Exception as ex:  # the module crashes, its warnings unsaid
        del ctx.warnings[warned:]
        raise ModuleFailed("Task failed: Module failed: %s" % ex) from ex
