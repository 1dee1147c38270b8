"""systemd and service: SERVICE for start/stop/restart/reload with enablement.

Directord's SERVICE always acts on the running state (start by default), so
a task that only enables, disables or masks a unit becomes RUN systemctl.
"""

from __future__ import annotations

import re

from .. import jinja
from ..model import Job
from . import Native, native

_STATE_FLAGS = {"started": "", "stopped": "--stopped", "restarted": "--restarted", "reloaded": "--reloaded"}
_UNIT = re.compile(r"^[A-Za-z0-9_.@:\\-]+$")
_TRUE = (True, "yes", "true", "True", "on", 1)
_FALSE = (False, "no", "false", "False", "off", 0)


@native("ansible.builtin.systemd", "ansible.builtin.systemd_service", "ansible.builtin.service")
def service(task, ctx):
    args = task.args
    if set(args) - {"name", "state", "enabled", "daemon_reload", "daemon-reload", "masked", "use"}:
        return None
    name = args.get("name")
    if name is not None and (not isinstance(name, str) or jinja.is_template(name) or not _UNIT.match(name)
                             or name.startswith("-")):
        return None
    state, enabled, masked = args.get("state"), args.get("enabled"), args.get("masked")
    reload = args.get("daemon_reload", args.get("daemon-reload"))
    if state not in (None, *_STATE_FLAGS) or any(v not in (None, *_TRUE, *_FALSE) for v in (enabled, masked, reload)):
        return None
    jobs = []
    if reload in _TRUE:
        jobs.append(Job("RUN", "systemctl daemon-reload"))
    if name is None:
        return Native(jobs) if jobs and state is None and enabled is None and masked is None else None
    # Ansible orders these: mask/unmask, then enable/disable, then state.
    if masked is not None:
        jobs.append(Job("RUN", f"systemctl {'mask' if masked in _TRUE else 'unmask'} {name}"))
    if state is None:
        if enabled is not None:
            jobs.append(Job("RUN", f"systemctl {'enable' if enabled in _TRUE else 'disable'} {name}"))
        return Native(jobs) if jobs else None
    flags = [_STATE_FLAGS[state]] if _STATE_FLAGS[state] else []
    if enabled is not None:
        flags.append("--enable" if enabled in _TRUE else "--disable")
    jobs.append(Job("SERVICE", " ".join(flags + [name])))
    return Native(jobs)
