"""tripleo_findif_for_ip (tripleo-ansible): the interface `ip -br addr` lists the address on.

The module validates the address with netaddr (1.x: strict inet_pton forms, no
IPv6 zone); the port does the same with the standard library.
"""

import ipaddress

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_run, common_validate  # tm:strip

_FINDIF_SPEC = {"ip_address": {"type": "str"}, "debug": {"type": "bool", "default": False}}


def _findif_valid(address):
    if not isinstance(address, str):  # netaddr.valid_ipv6 raises for anything else
        raise ModuleFailed("Task failed: Module failed: Invalid type: %s" % type(address))
    if "%" in address:
        return False
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


@module("tripleo_findif_for_ip", "ansible.legacy.tripleo_findif_for_ip")
def tripleo_findif_for_ip_module(params, ctx):
    address = common_validate("tripleo_findif_for_ip", params, _FINDIF_SPEC, ctx)["ip_address"]
    if not _findif_valid(address):
        raise ModuleFailed("%s is not a valid ip address" % address)
    _, out, _ = common_run(ctx, ["ip", "-br", "addr"])
    for line in out.splitlines():
        columns = line.strip().split()
        if not columns:
            continue
        for found in columns[2:]:
            if found.split("/")[0] == address:
                return {"changed": False, "interface": columns[0]}
    return {"changed": False, "interface": ""}
