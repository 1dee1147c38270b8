"""lvm2_physical_devices_facts (tripleo-ansible): the PVs of the volume groups that hold an
active logical volume, as the fact lvm2_active_pvs.

`lvs --noheadings --options vg_name --select lv_active=active`, then
`vgs --noheadings --options pv_name VG` for each group found. The module builds
the lists out of sets, so their order is arbitrary (ours is sorted). Check mode
runs nothing and returns empty facts, as the module does.
"""

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_run, common_validate  # tm:strip


@module("lvm2_physical_devices_facts", "ansible.legacy.lvm2_physical_devices_facts")
def lvm2_physical_devices_facts_module(params, ctx):
    common_validate("lvm2_physical_devices_facts", params, {}, ctx)
    if ctx.check_mode:
        return {"changed": False, "ansible_facts": {}}
    rc, out, err = common_run(ctx, ["lvs", "--noheadings", "--options", "vg_name",
                                    "--select", "lv_active=active"])
    if rc != 0:
        raise ModuleFailed("Failed to run LVM2 lvs command", err=err)
    active_pvs = set()
    for vg in sorted(set(out.split())):
        rc, out, err = common_run(ctx, ["vgs", "--noheadings", "--options", "pv_name", vg])
        if rc != 0:
            raise ModuleFailed("Failed to run LVM2 vgs command for %s" % vg, err=err)
        active_pvs.update(out.split())
    return {"changed": False, "ansible_facts": {"lvm2_active_pvs": sorted(active_pvs)}}
