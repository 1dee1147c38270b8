"""ansible.builtin.dnf (also yum, and package on dnf hosts), through the dnf command line.

The real module drives the dnf Python API; the node may not have it for our
interpreter, so this port runs `dnf` and, like the module, reports what the
transaction installed and removed: the package sets `rpm -qa` lists before
and after. Options with no command-line equivalent fail rather than being
silently ignored.
"""

import os

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import (  # tm:strip
    common_add_lines, common_bin_path, common_run, common_validate)  # tm:strip

_DNF_SPEC = {
    "allow_downgrade": {"type": "bool", "default": False},
    "allowerasing": {"type": "bool", "default": False},
    "autoremove": {"type": "bool", "default": False},
    "best": {"type": "bool"},
    "bugfix": {"type": "bool", "default": False},
    "cacheonly": {"type": "bool", "default": False},
    "conf_file": {},
    "disable_excludes": {},
    "disable_gpg_check": {"type": "bool", "default": False},
    "disable_plugin": {"type": "list", "elements": "str", "default": []},
    "disablerepo": {"type": "list", "elements": "str", "default": []},
    "download_only": {"type": "bool", "default": False},
    "download_dir": {},
    "enable_plugin": {"type": "list", "elements": "str", "default": []},
    "enablerepo": {"type": "list", "elements": "str", "default": []},
    "exclude": {"type": "list", "elements": "str", "default": []},
    "installroot": {"default": "/"},
    "install_repoquery": {"type": "bool", "default": True},
    "install_weak_deps": {"type": "bool", "default": True},
    "list": {},
    "name": {"type": "list", "elements": "str", "aliases": ["pkg"], "default": []},
    "nobest": {"type": "bool"},
    "releasever": {},
    "security": {"type": "bool", "default": False},
    "skip_broken": {"type": "bool", "default": False},
    "state": {"choices": ["absent", "installed", "latest", "present", "removed"]},
    "update_cache": {"type": "bool", "default": False, "aliases": ["expire-cache"]},
    "update_only": {"type": "bool", "default": False},
    "validate_certs": {"type": "bool", "default": True},
    "sslverify": {"type": "bool", "default": True},
    "lock_timeout": {"type": "int", "default": 30},
    "use_backend": {"default": "auto", "choices": ["auto", "dnf", "yum", "yum4", "dnf4", "dnf5"]},
}

# Options of the module this port cannot express with the dnf command line.
_DNF_UNSUPPORTED = ("list", "download_only", "download_dir", "allow_downgrade", "update_only",
                    "autoremove")

# dnf's str(package): name-[epoch:]version-release.arch
_DNF_RPM_FORMAT = "%{NAME}-%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}.%{ARCH}\\n"


def _dnf_listify(values):
    """Comma-separated strings inside the list become elements, appended at the end."""
    plain = [v for v in values if "," not in v]
    split = [e.strip() for v in values if "," in v for e in v.split(",")]
    return plain + split


@module("ansible.builtin.dnf", "ansible.builtin.yum", "ansible.legacy.dnf", "ansible.legacy.yum")
def dnf_module(params, ctx):
    return dnf_run(params, ctx)


@module("ansible.builtin.package", "ansible.legacy.package")
def package_module(params, ctx):
    """The package action plugin on a dnf host: the dnf module without `use`."""
    params = dict(params)
    use = str(params.pop("use", "auto")).lower()
    if use not in ("auto", "dnf", "yum", "dnf5"):
        raise ModuleFailed("package: use=%s is not supported here; this port drives dnf only"
                           % use)
    return dnf_run(params, ctx)


def dnf_run(params, ctx):
    p = common_validate("ansible.legacy.dnf", params, _DNF_SPEC, ctx,
                        required_one_of=[["name", "list", "update_cache"]],
                        mutually_exclusive=[["name", "list"], ["best", "nobest"]])
    names = _dnf_listify([name.strip() for name in p["name"]])
    for name in names:
        if " " in name and not any(spec in name for spec in ("@", ">", "<", "=")):
            raise ModuleFailed("It appears that a space separated string of packages was passed "
                               "in as an argument. To operate on several packages, pass a comma "
                               "separated string of packages or a list of packages.")
    state = p["state"] or ("absent" if p["autoremove"] else "present")
    if p["autoremove"] and state != "absent":
        raise ModuleFailed("Autoremove should be used alone or with state=absent", results=[])
    for option in _DNF_UNSUPPORTED:
        if p[option] != _DNF_SPEC[option].get("default"):
            raise ModuleFailed("%s is not supported by tripleo-migrate's dnf command-line port"
                               % option, results=[])

    dnf = common_bin_path("dnf", ctx) or common_bin_path("yum", ctx)
    if not dnf:
        raise ModuleFailed("Could not find the dnf command: tripleo-migrate's port of the "
                           "dnf/yum/package modules runs dnf", results=[])
    options = _dnf_options(p, state)
    if p["update_cache"] and not names:
        rc, out, err = common_run(ctx, [dnf] + options + ["makecache"])
        if rc != 0:
            raise ModuleFailed("Failed to synchronize repodata: %s" % (err or out), rc=1,
                               results=[], changed=False)
        return {"msg": "Cache updated", "changed": False, "results": [], "rc": 0}
    if os.geteuid() != 0:
        raise ModuleFailed("This command has to be run under the root user.", results=[])

    rpm = [common_bin_path("rpm", ctx, required=True), "--root", p["installroot"]]
    before = _dnf_installed(rpm, ctx)
    if state in ("absent", "removed"):
        # remove only what is there, as the module does
        names = [n for n in names if n.startswith("@") or _dnf_is_installed(rpm, n, ctx)]
        commands = [["remove"] + names] if names else []
    elif not names:
        commands = []  # the module resolves an empty transaction: nothing to do
    elif state == "latest":
        commands = [["upgrade"]] if names == ["*"] else [["install"] + names, ["upgrade"] + names]
    else:
        commands = [["install"] + names]

    if ctx.check_mode:
        would = False
        for command in commands:
            rc, out, err = common_run(ctx, [dnf] + options + ["--assumeno"] + command)
            if rc != 0 and "Operation aborted" not in out + err:
                _dnf_fail(state, rc, out, err)
            would = would or rc != 0
        if would:
            return {"msg": "Check mode: No changes made, but would have if not in check mode",
                    "changed": True, "results": [], "rc": 0}
        return {"msg": "Nothing to do", "changed": False, "results": [], "rc": 0}

    for command in commands:
        rc, out, err = common_run(ctx, [dnf, "-y"] + options + command)
        if rc != 0:
            _dnf_fail(state, rc, out, err)
    after = _dnf_installed(rpm, ctx)
    results = (["Installed: %s" % pkg for pkg in sorted(after - before)]
               + ["Removed: %s" % pkg for pkg in sorted(before - after)])
    if not results:
        return {"msg": "Nothing to do", "changed": False, "results": [], "rc": 0}
    return {"msg": "", "changed": True, "results": results, "rc": 0}


def _dnf_options(p, state):
    options = []
    if p["conf_file"]:
        options += ["-c", p["conf_file"]]
    if p["disable_gpg_check"]:
        options.append("--nogpgcheck")
    options += ["--disablerepo=%s" % r for r in _dnf_listify(p["disablerepo"])]
    options += ["--enablerepo=%s" % r for r in _dnf_listify(p["enablerepo"])]
    options += ["--exclude=%s" % e for e in _dnf_listify(p["exclude"])]
    if p["installroot"] != "/":
        options.append("--installroot=%s" % p["installroot"])
    if p["releasever"]:
        options.append("--releasever=%s" % p["releasever"])
    # the module lets removals take dependent packages along, like the CLI does
    if p["allowerasing"] and state not in ("absent", "removed"):
        options.append("--allowerasing")
    if p["nobest"] or p["best"] is False:
        options.append("--nobest")
    elif p["best"]:
        options.append("--best")
    if p["skip_broken"]:
        options.append("--skip-broken")
    if state == "latest":
        options += ["--security"] if p["security"] else []
        options += ["--bugfix"] if p["bugfix"] else []
    if p["cacheonly"]:
        options.append("--cacheonly")
    if p["disable_excludes"]:
        options.append("--disableexcludes=%s" % p["disable_excludes"])
    options += ["--enableplugin=%s" % x for x in p["enable_plugin"]]
    options += ["--disableplugin=%s" % x for x in p["disable_plugin"]]
    if not p["install_weak_deps"]:
        options.append("--setopt=install_weak_deps=False")
    if not p["sslverify"]:
        options.append("--setopt=sslverify=False")
    if p["update_cache"]:
        options.append("--refresh")
    return options


def _dnf_installed(rpm, ctx):
    rc, out, err = common_run(ctx, rpm + ["-qa", "--qf", _DNF_RPM_FORMAT], expand=False)
    if rc != 0:
        raise ModuleFailed("Could not list installed packages: %s" % err, rc=rc)
    return set(line for line in out.splitlines() if line)


def _dnf_is_installed(rpm, spec, ctx):
    """A name, NEVRA or glob matched by an installed package (or providing it)."""
    if common_run(ctx, rpm + ["-qa", spec], expand=False)[1].strip():
        return True
    return common_run(ctx, rpm + ["-q", "--whatprovides", spec], expand=False)[0] == 0


def _dnf_fail(state, rc, out, err):
    action = "remove" if state in ("absent", "removed") else "install"
    raise ModuleFailed("Failed to %s some of the specified packages" % action,
                       **common_add_lines({"rc": rc, "results": [], "stdout": out, "stderr": err,
                                           "failures": [l for l in err.splitlines()
                                                        if l.startswith("Error")]}))
