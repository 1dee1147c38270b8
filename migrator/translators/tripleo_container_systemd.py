"""tripleo-ansible's container_systemd action plugin: ship the unit template to the node.

The plugin renders the role's templates/systemd-service.j2 (found by the controller's search
path, as `path_dwim_relative(role_path, 'templates', ...)` does), which the node does not
have. The converter ships the candidates (shipping.py) and passes the name as the internal
argument `_unit_template`, which the runtime resolves to the shipped file before the port
(migrator/runtime/modules/container_systemd.py) reads it.
"""

from __future__ import annotations

from ..model import Finding, Severity
from . import Prepared, prepare

_CONTAINER_SYSTEMD_TEMPLATE = "systemd-service.j2"


@prepare("container_systemd", "ansible.legacy.container_systemd")
def container_systemd_prepare(task, ctx):
    from ..shipping import ship

    args = dict(task.args)
    shipment = ship(ctx.converter, ctx.scope, [_CONTAINER_SYSTEMD_TEMPLATE], "templates")
    if isinstance(shipment, str):
        return Prepared(None, findings=[Finding("template", Severity.ERROR, shipment)])
    if not shipment.search["files"]:
        return Prepared(None, findings=[Finding(
            "template", Severity.ERROR,
            f"container_systemd renders templates/{_CONTAINER_SYSTEMD_TEMPLATE}, which is not in the task's "
            f"search path (the tripleo_container_manage role provides it)")])
    args["_unit_template"] = _CONTAINER_SYSTEMD_TEMPLATE
    return Prepared(args, jobs_before=shipment.jobs, spec={"search": dict(shipment.search, arg="_unit_template")})
