"""containers.podman.podman_container, as in containers.podman 1.18 (podman CLI).

The module's PodmanManager on ctx.run: the image made present (`podman image
exists`, else `podman image pull`), the container inspected, the podman
version asked, then per state the same `podman container run|create|start|
stop|restart|rm` command lines, built from the options in the order Ansible
hands them over (the task's own, then aliased ones, then defaults). A
container is recreated when an option differs from what `podman container
inspect` shows (its CreateCommand, labels, capabilities, ...), the same
comparisons as the module's PodmanContainerDiff, each in the module's order.
Results: changed, actions, container (the inspection after the change),
podman_actions, stdout/stderr of the last action, podman_systemd (`podman
generate systemd`, written under generate_systemd.path when given) and
podman_quadlet (the quadlet text the module renders for the options).
state=quadlet (writing a quadlet file) is not ported: it fails saying so.

`podman_container_manager(params, ctx)` is shared with tripleo_container_manage,
which drives the same manager for each container of a config directory.
"""

import json
import os
import shlex

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.filters import LooseVersion  # tm:strip
from migrator.runtime.modules.common import common_run, common_validate  # tm:strip
from migrator.runtime.modules.podman_container_info import (  # tm:strip
    podman_container_info_executable)  # tm:strip

PODMAN_CONTAINER_SPEC = {
    "name": {"required": True, "type": "str"},
    "executable": {"default": "podman", "type": "str"},
    "state": {"type": "str", "default": "started",
              "choices": ["absent", "present", "stopped", "started", "created", "quadlet"]},
    "image": {"type": "str"},
    "annotation": {"type": "dict"},
    "arch": {"type": "str"},
    "attach": {"type": "list", "elements": "str", "choices": ["stdout", "stderr", "stdin"]},
    "authfile": {"type": "path"},
    "blkio_weight": {"type": "int"},
    "blkio_weight_device": {"type": "dict"},
    "cap_add": {"type": "list", "elements": "str", "aliases": ["capabilities"]},
    "cap_drop": {"type": "list", "elements": "str"},
    "cgroup_conf": {"type": "dict"},
    "cgroup_parent": {"type": "path"},
    "cgroupns": {"type": "str"},
    "cgroups": {"type": "str"},
    "chrootdirs": {"type": "str"},
    "cidfile": {"type": "path"},
    "cmd_args": {"type": "list", "elements": "str"},
    "conmon_pidfile": {"type": "path"},
    "command": {"type": "raw"},
    "cpu_period": {"type": "int"},
    "cpu_quota": {"type": "int"},
    "cpu_rt_period": {"type": "int"},
    "cpu_rt_runtime": {"type": "int"},
    "cpu_shares": {"type": "int"},
    "cpus": {"type": "str"},
    "cpuset_cpus": {"type": "str"},
    "cpuset_mems": {"type": "str"},
    "decryption_key": {"type": "str"},
    "delete_depend": {"type": "bool"},
    "delete_time": {"type": "str"},
    "delete_volumes": {"type": "bool"},
    "detach": {"type": "bool", "default": True},
    "debug": {"type": "bool", "default": False},
    "detach_keys": {"type": "str"},
    "device": {"type": "list", "elements": "str"},
    "device_cgroup_rule": {"type": "str"},
    "device_read_bps": {"type": "list", "elements": "str"},
    "device_read_iops": {"type": "list", "elements": "str"},
    "device_write_bps": {"type": "list", "elements": "str"},
    "device_write_iops": {"type": "list", "elements": "str"},
    "dns": {"type": "list", "elements": "str", "aliases": ["dns_servers"]},
    "dns_option": {"type": "str", "aliases": ["dns_opts"]},
    "dns_search": {"type": "list", "elements": "str", "aliases": ["dns_search_domains"]},
    "entrypoint": {"type": "str"},
    "env": {"type": "dict"},
    "env_file": {"type": "list", "elements": "path", "aliases": ["env_files"]},
    "env_host": {"type": "bool"},
    "env_merge": {"type": "dict"},
    "etc_hosts": {"type": "dict", "aliases": ["add_hosts"]},
    "expose": {"type": "list", "elements": "str", "aliases": ["exposed", "exposed_ports"]},
    "force_restart": {"type": "bool", "default": False, "aliases": ["restart"]},
    "force_delete": {"type": "bool", "default": True},
    "generate_systemd": {"type": "dict", "default": {}},
    "gidmap": {"type": "list", "elements": "str"},
    "gpus": {"type": "str"},
    "group_add": {"type": "list", "elements": "str", "aliases": ["groups"]},
    "group_entry": {"type": "str"},
    "healthcheck": {"type": "str", "aliases": ["health_cmd"]},
    "healthcheck_interval": {"type": "str", "aliases": ["health_interval"]},
    "healthcheck_retries": {"type": "int", "aliases": ["health_retries"]},
    "healthcheck_start_period": {"type": "str", "aliases": ["health_start_period"]},
    "health_startup_cmd": {"type": "str"},
    "health_startup_interval": {"type": "str"},
    "health_startup_retries": {"type": "int"},
    "health_startup_success": {"type": "int"},
    "health_startup_timeout": {"type": "str"},
    "healthcheck_timeout": {"type": "str", "aliases": ["health_timeout"]},
    "healthcheck_failure_action": {"type": "str", "choices": ["none", "kill", "restart", "stop"],
                                   "aliases": ["health_on_failure"]},
    "hooks_dir": {"type": "list", "elements": "str"},
    "hostname": {"type": "str"},
    "hostuser": {"type": "str"},
    "http_proxy": {"type": "bool"},
    "image_volume": {"type": "str", "choices": ["bind", "tmpfs", "ignore"]},
    "image_strict": {"type": "bool", "default": False},
    "init": {"type": "bool"},
    "init_ctr": {"type": "str", "choices": ["once", "always"]},
    "init_path": {"type": "str"},
    "interactive": {"type": "bool"},
    "ip": {"type": "str"},
    "ip6": {"type": "str"},
    "ipc": {"type": "str", "aliases": ["ipc_mode"]},
    "kernel_memory": {"type": "str"},
    "label": {"type": "dict", "aliases": ["labels"]},
    "label_file": {"type": "str"},
    "log_driver": {"type": "str", "choices": ["k8s-file", "journald", "json-file"]},
    "log_level": {"type": "str", "choices": ["debug", "info", "warn", "error", "fatal", "panic"]},
    "log_opt": {"type": "dict", "aliases": ["log_options"],
                "options": {"max_size": {"type": "str"}, "path": {"type": "str"},
                            "tag": {"type": "str"}}},
    "mac_address": {"type": "str"},
    "memory": {"type": "str"},
    "memory_reservation": {"type": "str"},
    "memory_swap": {"type": "str"},
    "memory_swappiness": {"type": "int"},
    "mount": {"type": "list", "elements": "str", "aliases": ["mounts"]},
    "network": {"type": "list", "elements": "str", "aliases": ["net", "network_mode"]},
    "network_aliases": {"type": "list", "elements": "str", "aliases": ["network_alias"]},
    "no_healthcheck": {"type": "bool"},
    "no_hosts": {"type": "bool"},
    "oom_kill_disable": {"type": "bool"},
    "oom_score_adj": {"type": "int"},
    "os": {"type": "str"},
    "passwd": {"type": "bool"},
    "passwd_entry": {"type": "str"},
    "personality": {"type": "str"},
    "pid": {"type": "str", "aliases": ["pid_mode"]},
    "pid_file": {"type": "path"},
    "pids_limit": {"type": "str"},
    "platform": {"type": "str"},
    "pod": {"type": "str"},
    "pod_id_file": {"type": "path"},
    "preserve_fd": {"type": "list", "elements": "str"},
    "preserve_fds": {"type": "str"},
    "privileged": {"type": "bool"},
    "publish": {"type": "list", "elements": "str",
                "aliases": ["ports", "published", "published_ports"]},
    "publish_all": {"type": "bool"},
    "pull": {"type": "str", "choices": ["always", "missing", "never", "newer"]},
    "quadlet_dir": {"type": "path"},
    "quadlet_filename": {"type": "str"},
    "quadlet_file_mode": {"type": "raw"},
    "quadlet_options": {"type": "list", "elements": "str"},
    "rdt_class": {"type": "str"},
    "read_only": {"type": "bool"},
    "read_only_tmpfs": {"type": "bool"},
    "recreate": {"type": "bool", "default": False},
    "requires": {"type": "list", "elements": "str"},
    "restart_policy": {"type": "str"},
    "restart_time": {"type": "str"},
    "retry": {"type": "int"},
    "retry_delay": {"type": "str"},
    "rm": {"type": "bool", "aliases": ["remove", "auto_remove"]},
    "rmi": {"type": "bool"},
    "rootfs": {"type": "bool"},
    "seccomp_policy": {"type": "str"},
    "secrets": {"type": "list", "elements": "str"},
    "sdnotify": {"type": "str"},
    "security_opt": {"type": "list", "elements": "str"},
    "shm_size": {"type": "str"},
    "shm_size_systemd": {"type": "str"},
    "sig_proxy": {"type": "bool"},
    "stop_signal": {"type": "int"},
    "stop_timeout": {"type": "int"},
    "stop_time": {"type": "str"},
    "subgidname": {"type": "str"},
    "subuidname": {"type": "str"},
    "sysctl": {"type": "dict"},
    "systemd": {"type": "str"},
    "timeout": {"type": "int"},
    "timezone": {"type": "str"},
    "tls_verify": {"type": "bool"},
    "tmpfs": {"type": "dict"},
    "tty": {"type": "bool"},
    "uidmap": {"type": "list", "elements": "str"},
    "ulimit": {"type": "list", "elements": "str", "aliases": ["ulimits"]},
    "umask": {"type": "str"},
    "unsetenv": {"type": "list", "elements": "str"},
    "unsetenv_all": {"type": "bool"},
    "user": {"type": "str"},
    "userns": {"type": "str", "aliases": ["userns_mode"]},
    "uts": {"type": "str"},
    "variant": {"type": "str"},
    "volume": {"type": "list", "elements": "str", "aliases": ["volumes"]},
    "volumes_from": {"type": "list", "elements": "str"},
    "workdir": {"type": "str", "aliases": ["working_dir"]},
}

# How each option becomes podman run/create arguments (PodmanModuleParams.addparam_*):
#   val: --flag VALUE; eq: --flag=VALUE; each: --flag ITEM per item (falsy items skipped
#   where the module skips them: eachset); eacheq: --flag=ITEM; join: --flag a,b;
#   items: --flag k<sep>v per dict item (str() of both where the module uses to_bytes);
#   on: --flag when true; special ones are handled in _podman_container_addparam.
_PODMAN_CONTAINER_ADD = {
    "annotation": ("items", "--annotation", "="), "arch": ("eq", "--arch"),
    "attach": ("eacheq", "--attach"), "authfile": ("val", "--authfile"),
    "blkio_weight": ("val", "--blkio-weight"),
    "blkio_weight_device": ("items", "--blkio-weight-device", ":"),
    "cap_add": ("each", "--cap-add"), "cap_drop": ("each", "--cap-drop"),
    "cgroups": ("version", "--cgroups", "1.6.0"), "cgroupns": ("version", "--cgroupns", "1.6.2"),
    "cgroup_parent": ("val", "--cgroup-parent"), "cgroup_conf": ("special",),
    "chrootdirs": ("val", "--chrootdirs"), "cidfile": ("val", "--cidfile"),
    "conmon_pidfile": ("val", "--conmon-pidfile"), "cpu_period": ("val", "--cpu-period"),
    "cpu_quota": ("val", "--cpu-quota"), "cpu_rt_period": ("val", "--cpu-rt-period"),
    "cpu_rt_runtime": ("val", "--cpu-rt-runtime"), "cpu_shares": ("val", "--cpu-shares"),
    "cpus": ("val", "--cpus"), "cpuset_cpus": ("val", "--cpuset-cpus"),
    "cpuset_mems": ("val", "--cpuset-mems"), "decryption_key": ("eq", "--decryption-key"),
    "detach": ("special",), "detach_keys": ("val", "--detach-keys"),
    "device": ("each", "--device"), "device_cgroup_rule": ("eq", "--device-cgroup-rule"),
    "device_read_bps": ("each", "--device-read-bps"),
    "device_read_iops": ("each", "--device-read-iops"),
    "device_write_bps": ("each", "--device-write-bps"),
    "device_write_iops": ("each", "--device-write-iops"),
    "dns": ("join", "--dns"), "dns_option": ("val", "--dns-option"),
    "dns_search": ("each", "--dns-search"), "entrypoint": ("eq", "--entrypoint"),
    "env": ("itemstr", "--env", "="), "env_file": ("each", "--env-file"),
    "env_host": ("version", "--env-host", "1.5.0"),
    "etc_hosts": ("items", "--add-host", ":"), "env_merge": ("itemstr", "--env-merge", "="),
    "expose": ("each", "--expose"), "gidmap": ("each", "--gidmap"), "gpus": ("val", "--gpus"),
    "group_add": ("each", "--group-add"), "group_entry": ("val", "--group-entry"),
    "healthcheck": ("val", "--healthcheck-command"),
    "healthcheck_interval": ("val", "--healthcheck-interval"),
    "healthcheck_retries": ("val", "--healthcheck-retries"),
    "healthcheck_start_period": ("val", "--healthcheck-start-period"),
    "health_startup_cmd": ("val", "--health-startup-cmd"),
    "health_startup_interval": ("val", "--health-startup-interval"),
    "healthcheck_timeout": ("val", "--healthcheck-timeout"),
    "health_startup_retries": ("val", "--health-startup-retries"),
    "health_startup_success": ("val", "--health-startup-success"),
    "health_startup_timeout": ("val", "--health-startup-timeout"),
    "healthcheck_failure_action": ("val", "--health-on-failure"),
    "hooks_dir": ("eacheq", "--hooks-dir"), "hostname": ("val", "--hostname"),
    "hostuser": ("val", "--hostuser"), "http_proxy": ("eq", "--http-proxy"),
    "image_volume": ("val", "--image-volume"), "init": ("on", "--init"),
    "init_path": ("val", "--init-path"), "init_ctr": ("val", "--init-ctr"),
    "interactive": ("eq", "--interactive"), "ip": ("val", "--ip"), "ip6": ("val", "--ip6"),
    "ipc": ("val", "--ipc"), "kernel_memory": ("val", "--kernel-memory"),
    "label": ("itemstr", "--label", "="), "label_file": ("val", "--label-file"),
    "log_driver": ("val", "--log-driver"), "log_opt": ("special",),
    "log_level": ("val", "--log-level"), "mac_address": ("val", "--mac-address"),
    "memory": ("val", "--memory"), "memory_reservation": ("val", "--memory-reservation"),
    "memory_swap": ("val", "--memory-swap"), "memory_swappiness": ("val", "--memory-swappiness"),
    "mount": ("eachset", "--mount"), "network": ("special",),
    "network_aliases": ("each", "--network-alias"), "no_hosts": ("eq", "--no-hosts"),
    "no_healthcheck": ("on", "--no-healthcheck"), "oom_kill_disable": ("eq", "--oom-kill-disable"),
    "oom_score_adj": ("val", "--oom-score-adj"), "os": ("val", "--os"),
    "passwd": ("on", "--passwd"), "passwd_entry": ("val", "--passwd-entry"),
    "personality": ("val", "--personality"), "pid": ("val", "--pid"),
    "pid_file": ("val", "--pid-file"), "pids_limit": ("val", "--pids-limit"),
    "platform": ("val", "--platform"), "pod": ("val", "--pod"),
    "pod_id_file": ("val", "--pod-id-file"), "preserve_fd": ("each", "--preserve-fd"),
    "preserve_fds": ("val", "--preserve-fds"), "privileged": ("eq", "--privileged"),
    "publish": ("each", "--publish"), "publish_all": ("eq", "--publish-all"),
    "pull": ("eq", "--pull"), "rdt_class": ("val", "--rdt-class"),
    "read_only": ("eq", "--read-only"), "read_only_tmpfs": ("eq", "--read-only-tmpfs"),
    "requires": ("join", "--requires"), "restart_policy": ("eq", "--restart"),
    "retry": ("val", "--retry"), "retry_delay": ("val", "--retry-delay"),
    "rm": ("on", "--rm"), "rmi": ("on", "--rmi"), "rootfs": ("eq", "--rootfs"),
    "sdnotify": ("eq", "--sdnotify"), "seccomp_policy": ("val", "--seccomp-policy"),
    "secrets": ("each", "--secret"), "security_opt": ("each", "--security-opt"),
    "shm_size": ("val", "--shm-size"), "shm_size_systemd": ("val", "--shm-size-systemd"),
    "sig_proxy": ("eq", "--sig-proxy"), "stop_signal": ("val", "--stop-signal"),
    "stop_timeout": ("val", "--stop-timeout"), "subgidname": ("val", "--subgidname"),
    "subuidname": ("val", "--subuidname"), "sysctl": ("itemstr", "--sysctl", "="),
    "systemd": ("special",), "timeout": ("val", "--timeout"), "timezone": ("eq", "--tz"),
    "tls_verify": ("eq", "--tls-verify"), "tmpfs": ("items", "--tmpfs", ":"),
    "tty": ("eq", "--tty"), "uidmap": ("each", "--uidmap"), "ulimit": ("each", "--ulimit"),
    "umask": ("val", "--umask"), "unsetenv": ("each", "--unsetenv"),
    "unsetenv_all": ("on", "--unsetenv-all"), "user": ("val", "--user"),
    "userns": ("val", "--userns"), "uts": ("val", "--uts"), "variant": ("val", "--variant"),
    "volume": ("eachset", "--volume"), "volumes_from": ("each", "--volumes-from"),
    "workdir": ("val", "--workdir"), "cmd_args": ("special",),
}

# Options compared with the container's CreateCommand (PodmanContainerDiff._diff_generic):
# option -> (podman flag, flag without value); the others have comparisons of their own.
_PODMAN_CONTAINER_GENERIC_DIFF = {
    "arch": "--arch", "authfile": "--authfile", "blkio_weight": "--blkio-weight",
    "blkio_weight_device": "--blkio-weight-device", "cgroup_conf": "--cgroup-conf",
    "cgroup_parent": "--cgroup-parent", "cgroupns": "--cgroupns", "chrootdirs": "--chrootdirs",
    "conmon_pidfile": "--conmon-pidfile", "cpu_period": "--cpu-period",
    "cpu_quota": "--cpu-quota", "cpu_rt_period": "--cpu-rt-period",
    "cpu_rt_runtime": "--cpu-rt-runtime", "cpu_shares": "--cpu-shares", "cpus": "--cpus",
    "cpuset_cpus": "--cpuset-cpus", "cpuset_mems": "--cpuset-mems",
    "decryption_key": "--decryption-key", "device": "--device",
    "device_cgroup_rule": "--device-cgroup-rule", "device_read_bps": "--device-read-bps",
    "device_read_iops": "--device-read-iops", "device_write_bps": "--device-write-bps",
    "device_write_iops": "--device-write-iops", "dns": "--dns", "dns_option": "--dns-option",
    "dns_search": "--dns-search", "env": "--env", "env_file": "--env-file",
    "env_merge": "--env-merge", "env_host": "--env-host", "expose": "--expose",
    "gidmap": "--gidmap", "gpus": "--gpus", "group_add": "--group-add",
    "group_entry": "--group-entry", "healthcheck_interval": "--healthcheck-interval",
    "healthcheck_retries": "--healthcheck-retries",
    "healthcheck_start_period": "--healthcheck-start-period",
    "health_startup_cmd": "--health-startup-cmd",
    "health_startup_interval": "--health-startup-interval",
    "health_startup_retries": "--health-startup-retries",
    "health_startup_success": "--health-startup-success",
    "health_startup_timeout": "--health-startup-timeout",
    "healthcheck_timeout": "--healthcheck-timeout", "hooks_dir": "--hooks-dir",
    "hostname": "--hostname", "hostuser": "--hostuser", "http_proxy": "--http-proxy",
    "image_volume": "--image-volume", "init": ("--init", True), "init_ctr": "--init-ctr",
    "init_path": "--init-path", "interactive": "--interactive", "ip": "--ip", "ip6": "--ip6",
    "ipc": "--ipc", "label_file": "--label-file", "log_driver": "--log-driver",
    "log_opt": "--log-opt", "mac_address": "--mac-address", "memory": "--memory",
    "memory_reservation": "--memory-reservation", "memory_swap": "--memory-swap",
    "memory_swappiness": "--memory-swappiness", "mount": "--mount", "network": "--network",
    "network_aliases": "--network-alias", "no_healthcheck": ("--no-healthcheck", True),
    "no_hosts": "--no-hosts", "oom_kill_disable": "--oom-kill-disable",
    "oom_score_adj": "--oom-score-adj", "os": "--os", "passwd": ("--passwd", True),
    "passwd_entry": "--passwd-entry", "personality": "--personality", "pid": "--pid",
    "pid_file": "--pid-file", "pids_limit": "--pids-limit", "platform": "--platform",
    "privileged": "--privileged", "publish": "--publish", "publish_all": "--publish-all",
    "pull": "--pull", "rdt_class": "--rdt-class", "read_only": "--read-only",
    "read_only_tmpfs": "--read-only-tmpfs", "requires": "--requires",
    "restart_policy": "--restart", "retry": "--retry", "retry_delay": "--retry-delay",
    "rootfs": "--rootfs", "rmi": ("--rmi", True), "seccomp_policy": "--seccomp-policy",
    "secrets": "--secret", "security_opt": "--security-opt", "shm_size": "--shm-size",
    "shm_size_systemd": "--shm-size-systemd", "stop_signal": "--stop-signal",
    "stop_timeout": "--stop-timeout", "subgidname": "--subgidname",
    "subuidname": "--subuidname", "sysctl": "--sysctl", "systemd": "--systemd",
    "timeout": "--timeout", "timezone": "--tz", "tls_verify": "--tls-verify",
    "uidmap": "--uidmap", "ulimit": "--ulimit", "umask": "--umask", "unsetenv": "--unsetenv",
    "unsetenv_all": ("--unsetenv-all", True), "user": "--user", "userns": "--userns",
    "uts": "--uts", "variant": "--variant", "volumes_from": "--volumes-from",
    "workdir": "--workdir",
}
_PODMAN_CONTAINER_OWN_DIFF = ("annotation", "cap_add", "cap_drop", "command", "etc_hosts",
                              "healthcheck", "healthcheck_failure_action", "image", "label",
                              "rm", "tmpfs", "tty", "volume")

# CreateCommand spellings of a flag (common.ARGUMENTS_OPTS_DICT)
_PODMAN_CONTAINER_SHORT = {
    "--attach": ["--attach", "-a"], "--cpu-shares": ["--cpu-shares", "-c"],
    "--detach": ["--detach", "-d"], "--env": ["--env", "-e"],
    "--hostname": ["--hostname", "-h"], "--interactive": ["--interactive", "-i"],
    "--label": ["--label", "-l"], "--memory": ["--memory", "-m"],
    "--network": ["--network", "--net"], "--publish": ["--publish", "-p"],
    "--publish-all": ["--publish-all", "-P"], "--quiet": ["--quiet", "-q"],
    "--tty": ["--tty", "-t"], "--user": ["--user", "-u"], "--volume": ["--volume", "-v"],
    "--workdir": ["--workdir", "-w"],
}

# ContainerQuadlet.param_map: option -> quadlet key, in the module's order
_PODMAN_CONTAINER_QUADLET = (
    ("cap_add", "AddCapability"), ("device", "AddDevice"), ("annotation", "Annotation"),
    ("name", "ContainerName"), ("dns", "DNS"), ("dns_option", "DNSOption"),
    ("dns_search", "DNSSearch"), ("cap_drop", "DropCapability"), ("cgroups", "CgroupsMode"),
    ("entrypoint", "Entrypoint"), ("env", "Environment"), ("env_file", "EnvironmentFile"),
    ("env_host", "EnvironmentHost"), ("etc_hosts", "AddHost"), ("command", "Exec"),
    ("expose", "ExposeHostPort"), ("gidmap", "GIDMap"), ("global_args", "GlobalArgs"),
    ("group", "Group"), ("group_add", "GroupAdd"), ("healthcheck", "HealthCmd"),
    ("healthcheck_interval", "HealthInterval"),
    ("healthcheck_failure_action", "HealthOnFailure"),
    ("healthcheck_retries", "HealthRetries"), ("healthcheck_start_period", "HealthStartPeriod"),
    ("healthcheck_timeout", "HealthTimeout"), ("health_startup_cmd", "HealthStartupCmd"),
    ("health_startup_interval", "HealthStartupInterval"),
    ("health_startup_retries", "HealthStartupRetries"),
    ("health_startup_success", "HealthStartupSuccess"),
    ("health_startup_timeout", "HealthStartupTimeout"), ("hostname", "HostName"),
    ("image", "Image"), ("ip", "IP"), ("ip6", "IP6"), ("label", "Label"),
    ("log_driver", "LogDriver"), ("log_opt", "LogOpt"), ("mount", "Mount"),
    ("network", "Network"), ("network_aliases", "NetworkAlias"),
    ("no_new_privileges", "NoNewPrivileges"), ("sdnotify", "Notify"),
    ("pids_limit", "PidsLimit"), ("pod", "Pod"), ("publish", "PublishPort"), ("pull", "Pull"),
    ("read_only", "ReadOnly"), ("read_only_tmpfs", "ReadOnlyTmpfs"), ("rootfs", "Rootfs"),
    ("init", "RunInit"), ("secrets", "Secret"), ("shm_size", "ShmSize"),
    ("stop_signal", "StopSignal"), ("stop_timeout", "StopTimeout"),
    ("subgidname", "SubGIDMap"), ("subuidname", "SubUIDMap"), ("sysctl", "Sysctl"),
    ("timezone", "Timezone"), ("tmpfs", "Tmpfs"), ("uidmap", "UIDMap"), ("ulimit", "Ulimit"),
    ("user", "User"), ("userns", "UserNS"), ("volume", "Volume"), ("workdir", "WorkingDir"),
    ("podman_args", "PodmanArgs"),
)
# options that go to PodmanArgs as `--flag value` (kind "v"), `--flag` when true ("on"),
# `--flag=value` ("eq"), one `--flag item` per item ("each"), in the module's order
_PODMAN_CONTAINER_QUADLET_ARGS = (
    ("arch", "v", "--arch"), ("authfile", "v", "--authfile"), ("attach", "each", "--attach"),
    ("blkio_weight", "v", "--blkio-weight"), ("blkio_weight_device", "blkio", None),
    ("cgroupns", "v", "--cgroupns"), ("cgroup_conf", "kv", "--cgroup-conf"),
    ("cgroup_parent", "v", "--cgroup-parent"), ("chrootdirs", "v", "--chrootdirs"),
    ("cidfile", "v", "--cidfile"), ("conmon_pidfile", "v", "--conmon-pidfile"),
    ("cpus", "v", "--cpus"), ("cpuset_cpus", "v", "--cpuset-cpus"),
    ("cpuset_mems", "v", "--cpuset-mems"), ("cpu_period", "v", "--cpu-period"),
    ("cpu_quota", "v", "--cpu-quota"), ("cpu_rt_period", "v", "--cpu-rt-period"),
    ("cpu_rt_runtime", "v", "--cpu-rt-runtime"), ("cpu_shares", "v", "--cpu-shares"),
    ("decryption_key", "v", "--decryption-key"),
    ("device_cgroup_rule", "v", "--device-cgroup-rule"),
    ("device_read_bps", "each", "--device-read-bps"),
    ("device_read_iops", "each", "--device-read-iops"),
    ("device_write_bps", "each", "--device-write-bps"),
    ("device_write_iops", "each", "--device-write-iops"), ("etc_hosts", "hosts", None),
    ("env_merge", "kv", "--env"), ("gpus", "v", "--gpus"), ("group_entry", "v", "--group-entry"),
    ("hostuser", "v", "--hostuser"), ("hooks_dir", "each", "--hooks-dir"),
    ("http_proxy", "v", "--http-proxy"), ("image_volume", "v", "--image-volume"),
    ("init_ctr", "v", "--init-ctr"), ("init_path", "v", "--init-path"),
    ("interactive", "on", "--interactive"), ("ipc", "v", "--ipc"),
    ("kernel_memory", "v", "--kernel-memory"), ("label_file", "v", "--label-file"),
    ("log_opt", "logopt", None), ("mac_address", "v", "--mac-address"),
    ("memory", "v", "--memory"), ("memory_reservation", "v", "--memory-reservation"),
    ("memory_swap", "v", "--memory-swap"), ("memory_swappiness", "v", "--memory-swappiness"),
    ("no_healthcheck", "on", "--no-healthcheck"), ("no_hosts", "nohosts", "--no-hosts"),
    ("oom_kill_disable", "eq", "--oom-kill-disable"), ("oom_score_adj", "v", "--oom-score-adj"),
    ("os", "v", "--os"), ("passwd", "on", "--passwd"), ("passwd_entry", "v", "--passwd-entry"),
    ("personality", "v", "--personality"), ("pid", "v", "--pid"),
    ("pid_file", "v", "--pid-file"), ("platform", "v", "--platform"),
    ("preserve_fd", "each", "--preserve-fd"), ("preserve_fds", "v", "--preserve-fds"),
    ("privileged", "on", "--privileged"), ("publish_all", "on", "--publish-all"),
    ("rdt_class", "v", "--rdt-class"), ("requires", "join", "--requires"),
    ("restart_policy", "v", "--restart"), ("retry", "v", "--retry"),
    ("retry_delay", "v", "--retry-delay"), ("rm", "on", "--rm"), ("rmi", "on", "--rmi"),
    ("seccomp_policy", "v", "--seccomp-policy"), ("security_opt", "each", "--security-opt"),
    ("shm_size_systemd", "v", "--shm-size-systemd"), ("sig_proxy", "v", "--sig-proxy"),
    ("systemd", "lower", "--systemd"), ("timeout", "v", "--timeout"),
    ("tls_verify", "lower", "--tls-verify"), ("tty", "on", "--tty"), ("umask", "v", "--umask"),
    ("unsetenv", "each", "--unsetenv"), ("unsetenv_all", "on", "--unsetenv-all"),
    ("uts", "v", "--uts"), ("variant", "v", "--variant"),
    ("volumes_from", "each", "--volumes-from"), ("cmd_args", "extend", None),
)


def _podman_container_text(value):
    """to_bytes/to_native of a value that may not be a string: its str()."""
    return value if isinstance(value, str) else str(value)


def _podman_container_version_cmp(left, right):
    return LooseVersion(left)._cmp(LooseVersion(right))


def _podman_container_lower_keys(value):
    if isinstance(value, list):
        return [_podman_container_lower_keys(item) for item in value]
    if isinstance(value, dict):
        return {k.lower(): _podman_container_lower_keys(v) for k, v in value.items()}
    return value


# ---------------------------------------------------------------------------
# command lines (PodmanModuleParams)


def _podman_container_addparam(name, p, action, version, cmd):
    how = _PODMAN_CONTAINER_ADD[name]
    kind, value = how[0], p[name]
    if kind == "val":
        return cmd + [how[1], _podman_container_text(value)]
    if kind == "eq":
        return cmd + ["%s=%s" % (how[1], value)]
    if kind == "version":
        if _podman_container_version_cmp(how[2], version) > 0:
            raise ModuleFailed("Parameter %s is supported from podman version %s only! "
                               "Current version is %s" % (how[1], how[2], version))
        return cmd + ["%s=%s" % (how[1], value)]
    if kind in ("each", "eachset"):
        for item in value:
            if item or kind == "each":
                cmd += [how[1], item]
        return cmd
    if kind == "eacheq":
        return cmd + ["%s=%s" % (how[1], item) for item in value]
    if kind == "join":
        return cmd + [how[1], ",".join(value)]
    if kind == "items":
        for pair in value.items():
            cmd += [how[1], how[2].join(pair)]
        return cmd
    if kind == "itemstr":
        for pair in value.items():
            cmd += [how[1], how[2].join(_podman_container_text(i) for i in pair)]
        return cmd
    if kind == "on":
        return cmd + [how[1]] if value else cmd
    # the special ones
    if name == "cgroup_conf":
        return cmd + ["--cgroup-conf=%s" % "=".join(str(i) for i in pair) for pair in value.items()]
    if name == "detach":
        if action == "create" or p["attach"]:
            return cmd
        return cmd + ["--detach=%s" % value]
    if name == "log_opt":
        for key, item in value.items():
            if item is not None:
                cmd += ["--log-opt", "%s=%s" % (key.replace("max_size", "max-size"),
                                                  _podman_container_text(item))]
        return cmd
    if name == "network":
        if _podman_container_version_cmp(version, "4.0.0") >= 0:
            for net in value:
                cmd += ["--network", net]
            return cmd
        return cmd + ["--network", ",".join(value)]
    if name == "systemd":
        return cmd + ["--systemd=%s" % str(value).lower()]
    return cmd + value  # cmd_args


def _podman_container_command(action, p, version):
    """PodmanModuleParams.construct_command_from_params: the arguments after `podman`."""
    if action in ("create", "run"):
        cmd = [action, "--name", p["name"]]
        for name in [k for k in p if p[k] is not None]:
            if name in _PODMAN_CONTAINER_ADD:
                cmd = _podman_container_addparam(name, p, action, version, cmd)
        cmd.append(p["image"])
        if p["command"]:
            if isinstance(p["command"], list):
                cmd += [_podman_container_text(i) for i in p["command"]]
            else:
                cmd += p["command"].split()
        return [_podman_container_text(i) for i in cmd]
    cmd = ["rm" if action == "delete" else action]
    if action == "start":
        if p["attach"]:
            cmd.append("--attach")
        if p["detach"] is False and "--attach" not in cmd:
            cmd.append("--attach")
        if p["detach_keys"]:
            cmd += ["--detach-keys", p["detach_keys"]]
        if p["sig_proxy"]:
            cmd.append("--sig-proxy")
    if p["stop_time"] and action == "stop":
        cmd += ["--time", p["stop_time"]]
    if p["restart_time"] and action == "restart":
        cmd += ["--time", p["restart_time"]]
    if action == "delete":
        if p["delete_depend"]:
            cmd.append("--depend")
        if p["delete_time"]:
            cmd += ["--time", p["delete_time"]]
        if p["delete_volumes"]:
            cmd.append("--volumes")
        if p["force_delete"]:
            cmd.append("--force")
    return cmd + [p["name"]]


# ---------------------------------------------------------------------------
# comparison with `podman container inspect` (PodmanContainerDiff)


def _podman_container_createcommand(flag, config, boolean_type=False):
    if "createcommand" not in config:
        return []
    created = config["createcommand"]
    container_cmd = config.get("cmd")
    if container_cmd and container_cmd == created[-len(container_cmd):]:
        created = created[:-len(container_cmd)]
    values = []
    for spelling in _PODMAN_CONTAINER_SHORT.get(flag, [flag]):
        for index, word in enumerate(created):
            if word == spelling:
                if boolean_type:
                    return [True]
                if not created[index + 1].startswith("-"):
                    values.append(created[index + 1])
                else:
                    return [True]
            if word.startswith("%s=" % spelling):
                values.append(word.split("=", 1)[1])
    return values


def _podman_container_diff_generic(params, config, name, flag, boolean_type=False):
    before = _podman_container_createcommand(flag, config, boolean_type) or None
    after = params[name]
    if boolean_type and (before, after) in [(None, False), (False, None)]:
        return False, False
    if before is None and after is None:
        return before, after
    if after is not None:
        if isinstance(after, list):
            after = ",".join(sorted(str(i).lower() for i in after))
            before = ",".join(sorted(str(i).lower() for i in before)) if before else ""
        elif isinstance(after, dict):
            if name == "log_opt" and "max_size" in after:
                after["max-size"] = after.pop("max_size")  # the module renames it in place
            after = ",".join(sorted(str(k).lower() + "=" + str(v).lower()
                                    for k, v in after.items() if v is not None))
            before = ",".join(sorted(j.lower() for j in before)) if before else ""
        elif isinstance(after, bool):
            after = str(after).capitalize()
            if before is not None:
                before = str(before[0]).capitalize()
        elif isinstance(after, int):
            after = str(after)
            if before is not None:
                before = str(before[0])
        else:
            before = before[0] if before else None
    else:
        before = ",".join(sorted(before)) if len(before) > 1 else before[0]
    return before, after


def _podman_container_join_quotes(words):
    result, buffer, in_quotes = [], [], False
    for item in words:
        if item.startswith('"') and not in_quotes:
            buffer.append(item)
            in_quotes = True
        elif item.endswith('"') and in_quotes:
            buffer.append(item)
            result.append(" ".join(buffer).strip('"'))
            buffer, in_quotes = [], False
        elif in_quotes:
            buffer.append(item)
        else:
            result.append(item)
    if in_quotes:
        result.extend(buffer)
    return result


def _podman_container_clean_volume(part):
    if not part.rstrip("/"):
        return "/"
    return part.replace("//", "/").rstrip("/")


class _PodmanContainerDiff:
    """PodmanContainerDiff: each option against the inspection, in the module's order."""

    def __init__(self, module_params, info, image_info, version, diff_mode):
        self.module_params = module_params
        self.info = _podman_container_lower_keys(info)
        self.image_info = _podman_container_lower_keys(image_info)
        defaults = {"detach": True, "log_level": "error", "tty": False}
        if _podman_container_version_cmp(version, "1.8.0") >= 0 \
                and _podman_container_version_cmp(version, "1.9.0") < 0:
            defaults["cpu_shares"] = 1024
        if _podman_container_version_cmp(version, "3.0.0") >= 0:
            defaults["log_level"] = "warning"
        self.params = {k: (defaults[k] if v is None and k in defaults else v)
                       for k, v in module_params.items()}
        self.diff = {"before": {}, "after": {}}
        self.diff_mode = diff_mode

    def _compare(self, name, before, after):
        if before != after:
            self.diff["before"][name] = before
            self.diff["after"][name] = after
            return True
        return False

    def check(self, name):
        if name in _PODMAN_CONTAINER_GENERIC_DIFF:
            flag = _PODMAN_CONTAINER_GENERIC_DIFF[name]
            flag, boolean_type = flag if isinstance(flag, tuple) else (flag, False)
            if name == "systemd" and self.params["systemd"] is not None:
                self.params["systemd"] = str(self.params["systemd"]).lower()
            before, after = _podman_container_diff_generic(self.params, self.info["config"], name,
                                                           flag, boolean_type)
            return self._compare(name, before, after)
        return getattr(self, "_" + name)()

    def _annotation(self):
        before = self.info["config"]["annotations"] or {}
        after = before.copy()
        if self.module_params["annotation"] is not None:
            after.update(self.params["annotation"])
        return self._compare("annotation", before, after)

    def _caps(self, name):
        before = sorted(set(i.lower() for i in self.info["effectivecaps"] or []))
        wanted = []
        for cap in self.module_params[name] or []:
            cap = cap.lower()
            wanted.append(cap if cap.startswith("cap_") else "cap_" + cap)
        return before, wanted

    def _cap_add(self):
        before, wanted = self._caps("cap_add")
        return self._compare("cap_add", before, sorted(set(wanted + before)))

    def _cap_drop(self):
        before, wanted = self._caps("cap_drop")
        after = [i.lower() for i in self.info["effectivecaps"] or []]
        for cap in wanted:
            if cap in after:
                after.remove(cap)
        return self._compare("cap_drop", before, sorted(set(after)))

    def _command(self):
        if self.module_params["command"] is None:
            return False
        before = self.info["config"]["cmd"]
        after = self.params["command"]
        if before:
            before = _podman_container_join_quotes(before)
        if isinstance(after, list):
            after = [str(i) for i in after]
        if isinstance(after, str):
            after = shlex.split(after)
        return self._compare("command", before, after)

    def _etc_hosts(self):
        extra = self.info["hostconfig"]["extrahosts"]
        before = dict(i.split(":", 1) for i in extra) if extra else {}
        return self._compare("etc_hosts", before, self.params["etc_hosts"] or {})

    def _healthcheck(self):
        before = ""
        if "healthcheck" in self.info["config"]:
            if len(self.info["config"]["healthcheck"]["test"]) > 1:
                before = self.info["config"]["healthcheck"]["test"][1]
        return self._compare("healthcheck", before, self.params["healthcheck"] or before)

    def _healthcheck_failure_action(self):
        before = self.info["config"].get("healthcheckonfailureaction", "")
        after = self.params["healthcheck_failure_action"] or before
        return self._compare("healthcheckonfailureaction", before, after)

    def _image(self):
        before_id = self.info["image"] or self.info["rootfs"]
        after_id = self.image_info["id"]
        if before_id == after_id:
            return self._compare("image", before_id, after_id)
        is_rootfs = self.info["rootfs"] != "" or self.params["rootfs"]
        before = self.info["config"]["image"] or before_id
        after = self.params["image"]
        if self.params["image_strict"] or is_rootfs:
            return self._compare("image", before_id, after_id)
        before = before.replace(":latest", "").split("/")[-1]
        after = after.replace(":latest", "").split("/")[-1]
        return self._compare("image", before, after)

    def _label(self):
        before = self.info["config"]["labels"] or {}
        after = self.image_info.get("labels") or {}
        if self.params["label"]:
            after.update({str(k).lower(): str(v) for k, v in self.params["label"].items()})
        if "podman_systemd_unit" in before:
            after.pop("podman_systemd_unit", None)
            before.pop("podman_systemd_unit", None)
        return self._compare("label", before, after)

    def _rm(self):
        if self.params["rm"] is None:
            return self._compare("rm", "", "")
        return self._compare("rm", self.info["hostconfig"]["autoremove"], self.params["rm"])

    def _tty(self):
        return self._compare("tty", self.info["config"]["tty"], self.params["tty"])

    def _tmpfs(self):
        before = _podman_container_createcommand("--tmpfs", self.info["config"]) or None
        after = self.params["tmpfs"]
        if before is None and after is None:
            return self._compare("tmpfs", before, after)
        if after is not None:
            after = ",".join(sorted(str(k).lower() + ":" + str(v).lower()
                                    for k, v in after.items() if v is not None))
            before = ",".join(sorted(j.lower() for j in before)) if before else ""
        return self._compare("tmpfs", before, after)

    def _volume(self):
        def clean(volume):
            return ":".join(_podman_container_clean_volume(i) for i in volume.split(":")[:3])

        before = _podman_container_createcommand("--volume", self.info["config"]) or None
        after = self.params["volume"]
        if after is not None:
            after = [clean(v) for v in self.params["volume"]]
        if before is not None:
            before = [clean(v) for v in before]
        if before is None and after is None:
            return self._compare("volume", before, after)
        if after is not None:
            after = ",".join(sorted(str(i).lower() for i in after))
            if before:
                before = ",".join(sorted(str(i).lower() for i in before))
        return self._compare("volume", before, after)

    def is_different(self):
        # the module runs its diffparam_* methods in name order, stopping at the first
        # difference unless in diff mode
        different = False
        for name in sorted(list(_PODMAN_CONTAINER_GENERIC_DIFF) + list(_PODMAN_CONTAINER_OWN_DIFF)):
            if self.check(name):
                if not self.diff_mode:
                    return True
                different = True
        return different


# ---------------------------------------------------------------------------
# systemd units and quadlet text


def _podman_container_systemd_command(p, version):
    sysconf = p["generate_systemd"]
    command = [p["executable"], "generate", "systemd", p["name"], "--format", "json"]
    gt4 = _podman_container_version_cmp(version, "4.0.0") >= 0
    policy = sysconf.get("restart_policy")
    if policy:
        if policy not in ("no", "on-success", "on-failure", "on-abnormal", "on-watchdog",
                          "on-abort", "always"):
            raise ModuleFailed('Restart policy for systemd unit file is "%s" and must be one of: '
                               '"no", "on-success", "on-failure", "on-abnormal", "on-watchdog", '
                               '"on-abort", or "always"' % policy)
        command += ["--restart-policy", policy]
    if sysconf.get("restart_sec") is not None:
        command.append("--restart-sec=%s" % sysconf["restart_sec"])
    if sysconf.get("stop_timeout") is not None or sysconf.get("time") is not None:
        value = sysconf.get("stop_timeout")
        command.append("--%s=%s" % ("stop-timeout" if gt4 else "time",
                                    value if value is not None else sysconf.get("time")))
    if sysconf.get("start_timeout") is not None:
        command.append("--start-timeout=%s" % sysconf["start_timeout"])
    if sysconf.get("no_header"):
        command.append("--no-header")
    if sysconf.get("names", True):
        command.append("--name")
    if sysconf.get("new"):
        command.append("--new")
    for key in ("container_prefix", "pod_prefix", "separator"):
        if sysconf.get(key) is not None:
            command.append("--%s=%s" % (key.replace("_", "-"), sysconf[key]))
    for key in ("after", "wants", "requires"):
        if sysconf.get(key) is not None:
            values = sysconf[key]
            for value in [values] if isinstance(values, str) else values:
                command.append("--%s=%s" % (key, value))
    for key in ("after", "wants", "requires"):
        if sysconf.get(key) is not None and not gt4:
            raise ModuleFailed("Systemd parameter '%s' is supported from podman version 4 only! "
                               "Current version is %s" % (key, version))
    return command


def _podman_container_unit_diff(path, content):
    """compare_systemd_file_content: None when equal but for comments."""
    if not os.path.exists(path):
        return "", content
    with open(path, encoding="utf-8") as stream:
        current = stream.read()

    def uncommented(text):
        return "\n".join(line for line in text.splitlines() if not line.startswith("#"))

    current, wanted = uncommented(current), uncommented(content)
    if current == wanted:
        return None
    return ([line for line in current.splitlines() if line not in wanted.splitlines()],
            [line for line in wanted.splitlines() if line not in current.splitlines()])


def podman_container_generate_systemd(ctx, p, version):
    result = {"changed": False, "systemd": {}, "diff": {}}
    sysconf = p["generate_systemd"]
    rc, out, err = common_run(ctx, _podman_container_systemd_command(p, version))
    if rc != 0:
        if sysconf:
            raise ModuleFailed("Error generating systemd: %s" % err)
        return result
    try:
        data = json.loads(out)
        result["systemd"] = data
        if sysconf.get("path"):
            full_path = os.path.expanduser(sysconf["path"])
            if not os.path.exists(full_path):
                os.makedirs(full_path)
                result["changed"] = True
            if not os.path.isdir(full_path):
                raise ModuleFailed("Path %s is not a directory! Can not save systemd unit files "
                                   "there!" % full_path)
            for unit, content in data.items():
                file_name = unit + ".service"
                target = os.path.join(full_path, file_name)
                key = "systemd_%s.service" % file_name
                if not os.path.exists(target):
                    result["changed"] = True
                    if result["diff"].get("before") is None:
                        result["diff"] = {"before": {}, "after": {}}
                    result["diff"]["before"][key] = ""
                    result["diff"]["after"][key] = content
                else:
                    found = _podman_container_unit_diff(target, content)
                    if found:
                        result["changed"] = True
                        if result["diff"].get("before") is None:
                            result["diff"] = {"before": {}, "after": {}}
                        result["diff"]["before"][key] = "\n".join(found[0])
                        result["diff"]["after"][key] = "\n".join(found[1])
                with open(target, "w", encoding="utf-8") as stream:
                    stream.write(content)
            before = "\n".join("%s - %s" % (j, k) for j, k in
                               result["diff"].get("before", {}).items() if "PIDFile" not in k)
            after = "\n".join("%s - %s" % (j, k) for j, k in
                              result["diff"].get("after", {}).items() if "PIDFile" not in k)
            if before.strip() or after.strip():
                result["diff"]["before"] = before.strip() + "\n"
                result["diff"]["after"] = after.strip() + "\n"
            else:
                result["diff"] = {}
        return result
    except ModuleFailed:
        raise
    except Exception as ex:
        if sysconf:
            raise ModuleFailed("Error writing systemd: %s" % ex) from None
        return result


def _podman_container_delete_systemd(ctx, p, version):
    sysconf = p["generate_systemd"]
    if not sysconf.get("path"):
        return
    rc, out, _ = common_run(ctx, _podman_container_systemd_command(p, version))
    if rc != 0:
        return
    try:
        for unit in json.loads(out):
            target = os.path.join(os.path.expanduser(sysconf["path"]), unit + ".service")
            if os.path.exists(target):
                os.unlink(target)
    except Exception:  # the module logs and goes on
        return


def _podman_container_quadlet_params(params):
    """ContainerQuadlet.custom_prepare_params, on a copy."""
    p = dict(params)
    if p["annotation"]:
        p["annotation"] = ["%s=%s" % (k, v) for k, v in p["annotation"].items()]
    if p["cap_add"]:
        p["cap_add"] = " ".join(p["cap_add"])
    if p["cap_drop"]:
        p["cap_drop"] = " ".join(p["cap_drop"])
    if p["command"]:
        p["command"] = (" ".join(str(j) for j in p["command"]) if isinstance(p["command"], list)
                        else p["command"])
    if p["label"]:
        p["label"] = [shlex.quote("%s=%s" % (k, v)) for k, v in p["label"].items()]
    if p["env"]:
        p["env"] = [shlex.quote("%s=%s" % (k, v)) for k, v in p["env"].items()]
    if p["rootfs"]:
        p["rootfs"], p["image"] = p["image"], None
    if p["sysctl"]:
        p["sysctl"] = ["%s=%s" % (k, v) for k, v in p["sysctl"].items()]
    if p["tmpfs"]:
        p["tmpfs"] = ["%s:%s" % (k, v) if v else k for k, v in p["tmpfs"].items()]
    p["global_args"] = []
    if p["user"] and len(str(p["user"]).split(":")) > 1:
        p["user"], p["group"] = p["user"].split(":")
    if p["security_opt"]:
        if "no-new-privileges" in p["security_opt"]:
            p["no_new_privileges"] = True
            p["security_opt"] = [i for i in p["security_opt"]]
            p["security_opt"].remove("no-new-privileges")
    if p["log_level"]:
        p["global_args"].append("--log-level %s" % p["log_level"])
    if p["debug"]:
        p["global_args"].append("--log-level debug")
    args = p["podman_args"] = []
    for name, kind, flag in _PODMAN_CONTAINER_QUADLET_ARGS:
        value = p[name]
        if name == "no_hosts":
            if value is not None:
                args.append("%s=%s" % (flag, value))
            continue
        if not value:
            continue
        if kind == "v":
            args.append("%s %s" % (flag, value))
        elif kind == "on":
            args.append(flag)
        elif kind == "eq":
            args.append("%s=%s" % (flag, value))
        elif kind == "lower":
            args.append("%s=%s" % (flag, str(value).lower()))
        elif kind == "each":
            args += ["%s %s" % (flag, item) for item in value]
        elif kind == "join":
            args.append("%s %s" % (flag, ",".join(value)))
        elif kind == "kv":
            args += ["%s %s=%s" % (flag, k, v) for k, v in value.items()]
        elif kind == "blkio":
            args.append(" ".join("--blkio-weight-device %s" % ":".join(pair)
                                 for pair in value.items()))
        elif kind == "hosts":
            p["etc_hosts"] = ["%s:%s" % (k, v) for k, v in value.items()]
        elif kind == "logopt":
            p["log_opt"] = ["%s=%s" % (k.replace("max_size", "max-size"), v)
                            for k, v in value.items() if v is not None]
        elif kind == "extend":
            args += value
    return p


def podman_container_quadlet(params):
    """ContainerQuadlet(params).create_quadlet_content()."""
    p = _podman_container_quadlet_params(params)
    entries = []
    for name, key in _PODMAN_CONTAINER_QUADLET:
        value = p.get(name)
        if value is None:
            continue
        if isinstance(value, list):
            entries += [(key, item) for item in value]
        else:
            entries.append((key, str(value).lower() if isinstance(value, bool) else value))
    custom = p.get("quadlet_options")
    custom_text = "\n" + "\n".join(custom) if custom else ""
    return ("[Container]\n" + "\n".join("%s=%s" % (k, v) for k, v in entries) + custom_text
            + "\n")


# ---------------------------------------------------------------------------
# the manager


class PodmanContainerManager:
    """PodmanManager with its PodmanContainer, on ctx.run.

    debug: the module's own `debug` (module.params["debug"]), which the tripleo module
    passes apart from the container's options.
    """

    def __init__(self, p, ctx, debug=False):
        self.p, self.ctx, self.debug = p, ctx, debug
        self.results = {"changed": False, "actions": [], "container": {}}
        self.name = p["name"]
        self.executable = p["executable"]
        podman_container_info_executable(self.executable, ctx)  # get_bin_path(required=True)
        self.image = p["image"]
        self.state = p["state"]
        if not (self.state in ("quadlet", "absent") or p["pull"] == "never"):
            self.results["actions"] += self.ensure_image()
        self.restart = p["force_restart"]
        self.recreate = p["recreate"]
        if p["generate_systemd"].get("new"):
            p["rm"] = True
        self.stdout = self.stderr = ""
        self.actions = []
        self.diff = {}
        self.info = self.get_info()
        self.version = self.get_version()

    # podman

    def run(self, args, expand=True):
        return common_run(self.ctx, [self.executable] + args, expand=expand)

    def ensure_image(self):
        p, image = self.p, self.image
        if p["rootfs"]:
            if not os.path.exists(image) or not os.path.isdir(image):
                raise ModuleFailed("Image rootfs doesn't exist %s" % image)
            return []
        if not image:
            return []
        if self.run(["image", "exists", image])[0] == 0:
            return []
        args = ["image", "pull", image]
        if p["tls_verify"] is False:
            args.append("--tls-verify=false")
        if p["authfile"]:
            args += ["--authfile", p["authfile"]]
        for key in ("arch", "decryption_key", "platform", "os", "variant"):
            if p[key]:
                args.append("--%s=%s" % (key.replace("_", "-"), p[key]))
        rc, out, err = self.run(args)
        if rc != 0:
            raise ModuleFailed("Can't pull image %s" % image, stdout=out, stderr=err)
        return ["pulled image %s" % image]

    def get_info(self):
        rc, out, _ = self.run(["container", "inspect", self.name])
        return json.loads(out)[0] if rc == 0 else {}

    def get_image_info(self):
        if self.p["rootfs"]:
            return {"Id": self.image}
        rc, out, _ = self.run(["image", "inspect", self.image.replace("docker://", "")])
        return json.loads(out)[0] if rc == 0 else {}

    def get_version(self):
        rc, out, _ = self.run(["--version"])
        if rc != 0 or not out or "version" not in out:
            raise ModuleFailed("%s run failed!" % self.executable)
        return out.split("version")[1].strip()

    @property
    def exists(self):
        return self.info != {}

    @property
    def running(self):
        return self.exists and self.info["State"]["Running"]

    @property
    def stopped(self):
        return self.exists and not self.info["State"]["Running"]

    @property
    def different(self):
        check = _PodmanContainerDiff(self.p, self.info, self.get_image_info(), self.version,
                                     self.ctx.diff)
        different = check.is_different()
        found = check.diff
        if self.ctx.diff and different and found["before"] and found["after"]:
            self.diff["before"] = "\n".join("%s - %s" % (k, v) for k, v in
                                            sorted(found["before"].items())) + "\n"
            self.diff["after"] = "\n".join("%s - %s" % (k, v) for k, v in
                                           sorted(found["after"].items())) + "\n"
        return different

    def act(self, action):
        args = _podman_container_command(action, self.p, self.version)
        self.actions.append(" ".join([self.executable] + args))
        if self.ctx.check_mode:
            return
        rc, out, err = self.run(["container"] + args, expand=False)
        self.stdout, self.stderr = out, err
        if rc != 0:
            raise ModuleFailed("Container %s exited with code %s when %sed" % (self.name, rc,
                                                                               action),
                               stdout=out, stderr=err)

    def recreate_container(self, action):
        if self.running:
            self.act("stop")
        if not self.info["HostConfig"]["AutoRemove"]:
            self.act("delete")
        self.act(action)

    # results

    def note(self, what):
        self.results["actions"].append("%s %s" % (what, self.name))

    def update(self, changed=True):
        facts = self.get_info() if changed else self.info
        self.results.update(changed=changed, container=facts, podman_actions=self.actions,
                            stdout=self.stdout, stderr=self.stderr)
        if self.diff:
            self.results["diff"] = self.diff
        if self.debug or self.p["debug"]:
            self.results["podman_version"] = self.version
        sysd = podman_container_generate_systemd(self.ctx, self.p, self.version)
        self.results["changed"] = changed or sysd["changed"]
        self.results["podman_systemd"] = sysd["systemd"]
        if sysd["diff"]:
            if "diff" not in self.results:
                self.results["diff"] = sysd["diff"]
            else:
                self.results["diff"]["before"] += sysd["diff"]["before"]
                self.results["diff"]["after"] += sysd["diff"]["after"]
        self.results["podman_quadlet"] = podman_container_quadlet(self.p)

    def restart_or_start(self):
        if self.running:
            self.act("restart")
            self.note("restarted")
        else:
            self.act("start")
            self.note("started")
        self.update()

    # states

    def make_started(self):
        if not self.image:
            if not self.exists:
                raise ModuleFailed("Cannot start container when image is not specified!")
            if self.restart:
                self.act("restart")
                self.note("restarted")
            else:
                self.act("start")
                self.note("started")
            self.update()
        elif self.exists and self.restart:
            self.restart_or_start()
        elif self.running and (self.different or self.recreate):
            self.recreate_container("run")
            self.note("recreated")
            self.update()
        elif self.running and not self.different:
            if self.restart:
                self.act("restart")
                self.note("restarted")
                self.update()
            else:
                self.update(changed=False)
        elif not self.exists:
            self.act("run")
            self.note("started")
            self.update()
        elif self.stopped and (self.different or self.recreate):
            self.recreate_container("run")
            self.note("recreated")
            self.update()
        elif self.stopped and not self.different:
            self.act("start")
            self.note("started")
            self.update()

    def make_created(self):
        if not self.exists and not self.image:
            raise ModuleFailed("Cannot create container when image is not specified!")
        if not self.exists:
            self.act("create")
            self.note("created")
            self.update()
        elif self.different or self.recreate:
            self.recreate_container("create")
            self.note("recreated")
            if self.running:
                self.act("start")
                self.note("started")
            self.update()
        elif self.restart:
            self.restart_or_start()
        else:
            self.update(changed=False)

    def make_stopped(self):
        if not self.exists and not self.image:
            raise ModuleFailed("Cannot create container when image is not specified!")
        if not self.exists:
            self.act("create")
            self.note("created")
            self.update()
        elif self.stopped:
            self.update(changed=False)
        elif self.running:
            self.act("stop")
            self.note("stopped")
            self.update()

    def make_absent(self):
        if self.exists:
            _podman_container_delete_systemd(self.ctx, self.p, self.version)
            self.act("delete")
            self.note("deleted")
            self.results["changed"] = True
        self.results.update(container={}, podman_actions=self.actions)

    def execute(self):
        {"present": self.make_created, "created": self.make_created,
         "started": self.make_started, "stopped": self.make_stopped,
         "absent": self.make_absent}[self.state]()
        return self.results


def podman_container_manager(p, ctx, debug=False):
    """PodmanManager(module, params).execute(), any unexpected error a failure."""
    try:
        return PodmanContainerManager(p, ctx, debug).execute()
    except ModuleFailed:
        raise
    except Exception as ex:
        # an error the module does not handle: ansible-core's message for it
        raise ModuleFailed("Task failed: Module failed: %s" % ex, exception=str(ex)) from None


@module("containers.podman.podman_container")
def podman_container_module(params, ctx):
    # ansible-core hands a module its arguments sorted by name (nested dicts as written);
    # the command line follows that order
    params = dict(sorted(params.items()))
    p = common_validate("containers.podman.podman_container", params, PODMAN_CONTAINER_SPEC, ctx,
                        mutually_exclusive=[["no_hosts", "etc_hosts"]])
    if p["state"] in ("present", "created") and not p["force_restart"] and not p["image"]:
        raise ModuleFailed("State '%s' required image to be configured!" % p["state"])
    if p["state"] == "quadlet":
        raise ModuleFailed("state=quadlet is not supported by the TASK runtime")
    return podman_container_manager(p, ctx)
