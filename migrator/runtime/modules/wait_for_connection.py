"""ansible.builtin.wait_for_connection: the action plugin, run on the node itself.

Ansible's plugin sleeps `delay`, then retries a connection test and the ping
module every `sleep` seconds until `timeout`. On the node the TASK runtime is
already running, so the first ping succeeds: what remains is the delay, the
argument checks and the result (`elapsed`, whole seconds since the start).
A timeout of 0 or less leaves no time for the first ping, as in Ansible.
"""

import datetime
import time

from migrator.runtime.api import ModuleFailed, module  # tm:strip

_WAIT_FOR_CONNECTION_ARGS = ("connect_timeout", "delay", "sleep", "timeout")


def _wait_for_connection_int(params, key, default):
    value = params.get(key, default)
    try:
        return int(value)
    except (TypeError, ValueError) as ex:
        # the action plugin's exception, as ansible-core 2.19 reports it
        raise ModuleFailed("Task failed: %s" % ex) from None


@module("ansible.builtin.wait_for_connection", "ansible.legacy.wait_for_connection")
def wait_for_connection_module(params, ctx):
    bad = sorted(set(params) - set(_WAIT_FOR_CONNECTION_ARGS))
    if bad:
        raise ModuleFailed("Invalid options for ansible.builtin.wait_for_connection: %s"
                           % ",".join(bad))
    _wait_for_connection_int(params, "connect_timeout", 5)
    delay = _wait_for_connection_int(params, "delay", 0)
    _wait_for_connection_int(params, "sleep", 1)
    timeout = _wait_for_connection_int(params, "timeout", 600)
    if ctx.check_mode:
        return {"changed": False, "skipped": True}
    start = datetime.datetime.now()
    if delay:
        time.sleep(delay)
    result = {"changed": False}
    # the ping happens when the clock, started after the delay, has time left
    if timeout <= 0:
        result.update(failed=True, msg="timed out waiting for ping module test: no attempt "
                                       "within a timeout of %s seconds" % timeout)
    result["elapsed"] = (datetime.datetime.now() - start).seconds
    if result.get("failed"):
        raise ModuleFailed(result.pop("msg"), **{k: v for k, v in result.items() if k != "failed"})
    return result
