"""ansible.builtin.iptables: one rule, a chain's policy, a flush, or a chain itself,
with the module's command lines (`-C` to ask whether the rule is there, then `-A`,
`-I` or `-D`)."""

import re
import shlex

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_bin_path, common_run, common_validate  # tm:strip

_IPTABLES_SPEC = {
    "table": {"type": "str", "default": "filter", "choices": ["filter", "nat", "mangle", "raw", "security"]},
    "state": {"type": "str", "default": "present", "choices": ["absent", "present"]},
    "action": {"type": "str", "default": "append", "choices": ["append", "insert"]},
    "ip_version": {"type": "str", "default": "ipv4", "choices": ["ipv4", "ipv6", "both"]},
    "chain": {"type": "str"},
    "rule_num": {"type": "str"},
    "protocol": {"type": "str"},
    "wait": {"type": "str"},
    "source": {"type": "str"},
    "to_source": {"type": "str"},
    "destination": {"type": "str"},
    "to_destination": {"type": "str"},
    "match": {"type": "list", "elements": "str", "default": []},
    "tcp_flags": {"type": "dict", "options": {"flags": {"type": "list", "elements": "str"},
                                              "flags_set": {"type": "list", "elements": "str"}}},
    "jump": {"type": "str"},
    "gateway": {"type": "str"},
    "log_prefix": {"type": "str"},
    "log_level": {"type": "str", "choices": ["0", "1", "2", "3", "4", "5", "6", "7", "emerg", "alert", "crit",
                                             "error", "warning", "notice", "info", "debug"]},
    "goto": {"type": "str"},
    "in_interface": {"type": "str"},
    "out_interface": {"type": "str"},
    "fragment": {"type": "str"},
    "set_counters": {"type": "str"},
    "source_port": {"type": "str"},
    "destination_port": {"type": "str"},
    "destination_ports": {"type": "list", "elements": "str", "default": []},
    "to_ports": {"type": "str"},
    "set_dscp_mark": {"type": "str"},
    "set_dscp_mark_class": {"type": "str"},
    "comment": {"type": "str"},
    "ctstate": {"type": "list", "elements": "str", "default": []},
    "src_range": {"type": "str"},
    "dst_range": {"type": "str"},
    "match_set": {"type": "str"},
    "match_set_flags": {"type": "str", "choices": ["src", "dst", "src,dst", "dst,src", "src,src", "dst,dst"]},
    "limit": {"type": "str"},
    "limit_burst": {"type": "str"},
    "uid_owner": {"type": "str"},
    "gid_owner": {"type": "str"},
    "reject_with": {"type": "str"},
    "icmp_type": {"type": "str"},
    "syn": {"type": "str", "default": "ignore", "choices": ["ignore", "match", "negate"]},
    "flush": {"type": "bool", "default": False},
    "policy": {"type": "str", "choices": ["ACCEPT", "DROP", "QUEUE", "RETURN"]},
    "chain_management": {"type": "bool", "default": False},
    "numeric": {"type": "bool", "default": False},
}
_IPTABLES_ICMP = {"ipv4": "--icmp-type", "ipv6": "--icmpv6-type", "both": "--icmp-type --icmpv6-type"}


def _iptables_param(rule, param, flag, is_list=False):
    if is_list:
        for item in param:
            _iptables_param(rule, item, flag)
    elif param is not None:
        rule.extend(["!", flag, param[1:]] if param[0] == "!" else [flag, param])


def _iptables_flag(rule, param, flag, negatable):
    if param == "match":
        rule.append(flag)
    elif negatable and param == "negate":
        rule.extend(["!", flag])


def _iptables_csv(rule, param, flag):
    if param:
        rule.extend([flag, ",".join(param)])


def _iptables_match(rule, param, match):
    if param:
        rule.extend(["-m", match])


def _iptables_jump(rule, param, jump):
    if param:
        rule.extend(["-j", jump])


def _iptables_rule(p):
    """construct_rule"""
    rule = []
    _iptables_param(rule, p["protocol"], "-p")
    _iptables_param(rule, p["source"], "-s")
    _iptables_param(rule, p["destination"], "-d")
    _iptables_param(rule, p["match"], "-m", True)
    flags = p["tcp_flags"]
    if flags and "flags" in flags and "flags_set" in flags:
        rule.extend(["--tcp-flags", ",".join(flags["flags"]), ",".join(flags["flags_set"])])
    _iptables_param(rule, p["jump"], "-j")
    if p.get("jump") and p["jump"].lower() == "tee":
        _iptables_param(rule, p["gateway"], "--gateway")
    _iptables_param(rule, p["log_prefix"], "--log-prefix")
    _iptables_param(rule, p["log_level"], "--log-level")
    _iptables_param(rule, p["to_destination"], "--to-destination")
    _iptables_match(rule, p["destination_ports"], "multiport")
    _iptables_csv(rule, p["destination_ports"], "--dports")
    _iptables_param(rule, p["to_source"], "--to-source")
    _iptables_param(rule, p["goto"], "-g")
    _iptables_param(rule, p["in_interface"], "-i")
    _iptables_param(rule, p["out_interface"], "-o")
    _iptables_param(rule, p["fragment"], "-f")
    _iptables_param(rule, p["set_counters"], "-c")
    _iptables_param(rule, p["source_port"], "--source-port")
    _iptables_param(rule, p["destination_port"], "--destination-port")
    _iptables_param(rule, p["to_ports"], "--to-ports")
    _iptables_param(rule, p["set_dscp_mark"], "--set-dscp")
    if p.get("set_dscp_mark") and p.get("jump").lower() != "dscp":
        _iptables_jump(rule, p["set_dscp_mark"], "DSCP")
    _iptables_param(rule, p["set_dscp_mark_class"], "--set-dscp-class")
    if p.get("set_dscp_mark_class") and p.get("jump").lower() != "dscp":
        _iptables_jump(rule, p["set_dscp_mark_class"], "DSCP")
    _iptables_flag(rule, p["syn"], "--syn", True)
    if "conntrack" in p["match"]:
        _iptables_csv(rule, p["ctstate"], "--ctstate")
    elif "state" in p["match"]:
        _iptables_csv(rule, p["ctstate"], "--state")
    elif p["ctstate"]:
        _iptables_match(rule, p["ctstate"], "conntrack")
        _iptables_csv(rule, p["ctstate"], "--ctstate")
    if "iprange" in p["match"]:
        _iptables_param(rule, p["src_range"], "--src-range")
        _iptables_param(rule, p["dst_range"], "--dst-range")
    elif p["src_range"] or p["dst_range"]:
        _iptables_match(rule, p["src_range"] or p["dst_range"], "iprange")
        _iptables_param(rule, p["src_range"], "--src-range")
        _iptables_param(rule, p["dst_range"], "--dst-range")
    if "set" in p["match"]:
        _iptables_param(rule, p["match_set"], "--match-set")
        _iptables_flag(rule, "match", p["match_set_flags"], False)
    elif p["match_set"]:
        _iptables_match(rule, p["match_set"], "set")
        _iptables_param(rule, p["match_set"], "--match-set")
        _iptables_flag(rule, "match", p["match_set_flags"], False)
    _iptables_match(rule, p["limit"] or p["limit_burst"], "limit")
    _iptables_param(rule, p["limit"], "--limit")
    _iptables_param(rule, p["limit_burst"], "--limit-burst")
    for owner, flag in (("uid_owner", "--uid-owner"), ("gid_owner", "--gid-owner")):
        _iptables_match(rule, p[owner], "owner")
        _iptables_flag(rule, p[owner], flag, True)
        _iptables_param(rule, p[owner], flag)
    if p["jump"] is None:
        _iptables_jump(rule, p["reject_with"], "REJECT")
        _iptables_jump(rule, p["set_dscp_mark_class"], "DSCP")
        _iptables_jump(rule, p["set_dscp_mark"], "DSCP")
    _iptables_param(rule, p["reject_with"], "--reject-with")
    _iptables_param(rule, p["icmp_type"], _IPTABLES_ICMP[p["ip_version"]])
    _iptables_match(rule, p["comment"], "comment")
    _iptables_param(rule, p["comment"], "--comment")
    return rule


def _iptables_command(path, action, p, make_rule=True):
    cmd = [path, "-t", p["table"], action, p["chain"]]
    if action == "-I" and p["rule_num"]:
        cmd.append(p["rule_num"])
    if p["wait"]:
        cmd.extend(["-w", p["wait"]])
    if make_rule:
        cmd.extend(_iptables_rule(p))
    return cmd


def _iptables_run(ctx, cmd, check=True):
    rc, out, err = common_run(ctx, cmd)
    if check and rc != 0:
        raise ModuleFailed(err.rstrip(), cmd=" ".join(shlex.quote(a) for a in cmd if a is not None), rc=rc,
                           stdout=out, stderr=err)
    return rc, out, err


def _iptables_version(text):
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


@module("ansible.builtin.iptables", "ansible.legacy.iptables")
def iptables_module(params, ctx):
    p = common_validate("ansible.builtin.iptables", params, _IPTABLES_SPEC, ctx,
                        mutually_exclusive=[["set_dscp_mark", "set_dscp_mark_class"], ["flush", "policy"]],
                        required_by={"set_dscp_mark": ["jump"], "set_dscp_mark_class": ["jump"]},
                        required_if=[["jump", "TEE", ["gateway"]], ["jump", "tee", ["gateway"]],
                                     ["flush", False, ["chain"]]])
    result = {"changed": False, "failed": False, "ip_version": p["ip_version"], "table": p["table"],
              "chain": p["chain"], "flush": p["flush"], "rule": " ".join(_iptables_rule(p)), "state": p["state"],
              "chain_management": p["chain_management"], "wait": p["wait"]}
    versions = ["ipv4", "ipv6"] if p["ip_version"] == "both" else [p["ip_version"]]
    paths = [common_bin_path("iptables" if v == "ipv4" else "ip6tables", ctx, required=True) for v in versions]
    changed_any = False
    for path in paths:
        if p.get("log_prefix") or p.get("log_level"):
            if p["jump"] is None:
                p["jump"] = "LOG"
            elif p["jump"] != "LOG":
                raise ModuleFailed("Logging options can only be used with the LOG jump target.")
        out = _iptables_run(ctx, [path, "--version"])[1]
        version = _iptables_version(out.split("v")[1])
        if version >= (1, 4, 20):
            if version < (1, 6, 0):
                p["wait"] = ""
        else:
            p["wait"] = None
        listing = _iptables_command(path, "-L", p, make_rule=False) + (["--numeric"] if p["numeric"] else [])
        if p["flush"] is True:
            result["changed"] = changed_any = True
            if not ctx.check_mode:
                _iptables_run(ctx, _iptables_command(path, "-F", p, make_rule=False))
        elif p["policy"]:
            header = _iptables_run(ctx, listing)[1].split("\n")[0]
            match = re.search(r"\(policy ([A-Z]+)\)", header)
            if not match:
                raise ModuleFailed("Can't detect current policy")
            changed = match.group(1) != p["policy"]
            result["changed"] = changed
            changed_any = changed_any or changed
            if changed and not ctx.check_mode:
                _iptables_run(ctx, _iptables_command(path, "-P", p, make_rule=False) + [p["policy"]])
        elif result["state"] == "absent" and not result["rule"]:
            present = _iptables_run(ctx, listing, check=False)[0] == 0
            result["changed"] = present
            changed_any = changed_any or present
            if present and p["chain_management"] and not ctx.check_mode:
                _iptables_run(ctx, _iptables_command(path, "-X", p, make_rule=False))
        elif result["state"] == "present" and not result["rule"]:
            present = _iptables_run(ctx, listing, check=False)[0] == 0
            result["changed"] = not present
            changed_any = changed_any or not present
            if not present and p["chain_management"] and not ctx.check_mode:
                _iptables_run(ctx, _iptables_command(path, "-N", p, make_rule=False))
        else:
            present = _iptables_run(ctx, _iptables_command(path, "-C", p), check=False)[0] == 0
            wanted = result["state"] == "present"
            result["changed"] = present != wanted
            changed_any = changed_any or present != wanted
            if present == wanted or ctx.check_mode:
                continue
            if wanted:
                _iptables_run(ctx, _iptables_command(path, "-I" if p["action"] == "insert" else "-A", p))
            else:
                _iptables_run(ctx, _iptables_command(path, "-D", p))
    result["changed"] = changed_any
    return result
