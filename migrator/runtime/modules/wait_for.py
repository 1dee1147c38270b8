"""ansible.builtin.wait_for (Linux: drained reads /proc/net/tcp*, like the module)."""

import binascii
import contextlib
import datetime
import errno
import math
import mmap
import os
import re
import select
import socket
import time

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_path_info, common_validate  # tm:strip

_WAIT_FOR_SPEC = {
    "host": {"default": "127.0.0.1"},
    "timeout": {"type": "int", "default": 300},
    "connect_timeout": {"type": "int", "default": 5},
    "delay": {"type": "int", "default": 0},
    "port": {"type": "int"},
    "active_connection_states": {"type": "list", "elements": "str",
                                 "default": ["ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2",
                                             "SYN_RECV", "SYN_SENT", "TIME_WAIT"]},
    "path": {"type": "path"},
    "search_regex": {},
    "state": {"default": "started",
              "choices": ["absent", "drained", "present", "started", "stopped"]},
    "exclude_hosts": {"type": "list", "elements": "str"},
    "sleep": {"type": "int", "default": 1},
    "msg": {},
}

_WAIT_FOR_STATE_IDS = {"ESTABLISHED": "01", "SYN_SENT": "02", "SYN_RECV": "03",
                       "FIN_WAIT1": "04", "FIN_WAIT2": "05", "TIME_WAIT": "06"}


def _wait_for_host_hex(host):
    """host's addresses as /proc/net/tcp* writes them (little-endian 32-bit words)."""
    ips = []
    if host is not None:
        for family, _, _, _, sockaddr in socket.getaddrinfo(host, 80, 0, 0, socket.SOL_TCP):
            addresses = [(family, sockaddr[0])]
            if family == socket.AF_INET:
                addresses.append((socket.AF_INET6, "::ffff:" + sockaddr[0]))
            for fam, ip in addresses:
                raw = binascii.b2a_hex(socket.inet_pton(fam, ip))
                ips.append((fam, "".join("%08X" % socket.ntohl(int(raw[i:i + 8], 16))
                                         for i in range(0, len(raw), 8))))
    return ips


def _wait_for_active_connections(p):
    ips = _wait_for_host_hex(p["host"])
    port = "%0.4X" % int(p["port"])
    exclude = [ip for host in p["exclude_hosts"] or () for ip in _wait_for_host_hex(host)]
    states = [_WAIT_FOR_STATE_IDS[s] for s in p["active_connection_states"]]
    match_all = {socket.AF_INET: "00000000", socket.AF_INET6: "0" * 32}
    count = 0
    for family, source in ((socket.AF_INET, "/proc/net/tcp"), (socket.AF_INET6, "/proc/net/tcp6")):
        if not os.path.isfile(source):
            continue
        try:
            with open(source) as stream:
                for line in stream.readlines():
                    fields = line.strip().split()
                    if fields[1] == "local_address" or fields[3] not in states:
                        continue
                    local_ip, local_port = fields[1].split(":")
                    if local_port != port or (family, fields[2].split(":")[0]) in exclude:
                        continue
                    if ((family, local_ip) in ips or (family, match_all[family]) in ips
                            or (local_ip.startswith("0000000000000000FFFF0000")
                                and (family, "0000000000000000FFFF000000000000") in ips)):
                        count += 1
        except OSError:
            pass
    return count


def _wait_for_close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError as ex:
        if ex.errno != errno.ENOTCONN:
            raise
        return  # the server already closed its end
    sock.close()


def _wait_for_search_file(path, regex):
    """(groups, groupdict) of regex's match in the file; None if no match or unreadable."""
    def groups(found):
        return found and (_wait_for_text(found.groups()), _wait_for_text(found.groupdict()))

    try:
        with open(path, "rb") as stream:
            try:
                with contextlib.closing(mmap.mmap(stream.fileno(), 0,
                                                  access=mmap.ACCESS_READ)) as mapped:
                    return groups(regex.search(mapped))
            except (ValueError, OSError):  # empty or unmappable: read it
                return groups(regex.search(stream.read()))
    except OSError:
        return None


def _wait_for_now():
    return datetime.datetime.now(datetime.timezone.utc)


def _wait_for_text(groups):
    """Match groups are bytes; results carry text, as the module's JSON does."""
    def text(value):
        return value.decode("utf-8", "surrogateescape") if value is not None else None
    if isinstance(groups, dict):
        return {k: text(v) for k, v in groups.items()}
    return tuple(text(v) for v in groups)


@module("ansible.builtin.wait_for", "ansible.legacy.wait_for")
def wait_for_module(params, ctx):
    p = common_validate("ansible.builtin.wait_for", params, _WAIT_FOR_SPEC, ctx)
    host, timeout, port, state, path = p["host"], p["timeout"], p["port"], p["state"], p["path"]
    search_regex, msg = p["search_regex"], p["msg"]
    regex = None
    if search_regex is not None:
        try:
            regex = re.compile(search_regex.encode("utf-8", "surrogateescape"), re.MULTILINE)
        except re.error as ex:
            raise ModuleFailed("Invalid regular expression: %s" % ex) from ex
    if port and path:
        raise ModuleFailed("port and path parameter can not both be passed to wait_for",
                           elapsed=0)
    if path and state in ("stopped", "drained"):
        raise ModuleFailed("state=%s should only be used for checking a port in the wait_for "
                           "module" % state, elapsed=0)
    if p["exclude_hosts"] is not None and state != "drained":
        raise ModuleFailed("exclude_hosts should only be with state=drained", elapsed=0)
    for connection_state in p["active_connection_states"]:
        if connection_state not in _WAIT_FOR_STATE_IDS:
            raise ModuleFailed("unknown active_connection_state (%s) defined" % connection_state,
                               elapsed=0)

    start = _wait_for_now()
    end = start + datetime.timedelta(seconds=timeout)
    match_groups, match_groupdict = (), {}

    def elapsed():
        return (_wait_for_now() - start).seconds

    if p["delay"]:
        time.sleep(p["delay"])
    if not port and not path and state != "drained":
        time.sleep(timeout)
    elif state in ("absent", "stopped"):
        while _wait_for_now() < end:
            if path:
                if not os.access(path, os.F_OK):
                    break
            else:
                try:
                    _wait_for_close(socket.create_connection((host, port), p["connect_timeout"]))
                except Exception:
                    break
            time.sleep(p["sleep"])
        else:
            if port:
                raise ModuleFailed(msg or "Timeout when waiting for %s:%s to stop." % (host, port),
                                   elapsed=elapsed())
            raise ModuleFailed(msg or "Timeout when waiting for %s to be absent." % path,
                               elapsed=elapsed())
    elif state in ("started", "present"):
        while _wait_for_now() < end:
            if path:
                try:
                    os.stat(path)
                except OSError as ex:
                    if ex.errno != errno.ENOENT:
                        raise ModuleFailed(msg or "Failed to stat %s, %s" % (path, ex.strerror),
                                           elapsed=elapsed()) from ex
                else:
                    if not regex:
                        break
                    found = _wait_for_search_file(path, regex)
                    if found:
                        match_groups = found[0] or match_groups
                        match_groupdict = found[1] or match_groupdict
                        break
            else:
                remaining = math.ceil((end - _wait_for_now()).total_seconds())
                try:
                    sock = socket.create_connection((host, int(port)),
                                                    min(p["connect_timeout"], remaining))
                except Exception:
                    pass  # not listening yet
                else:
                    if not regex:
                        _wait_for_close(sock)
                        break
                    data, matched = b"", False
                    while _wait_for_now() < end:
                        remaining = math.ceil((end - _wait_for_now()).total_seconds())
                        if not select.select([sock], [], [], remaining)[0]:
                            continue
                        response = sock.recv(1024)
                        if not response:
                            break  # the server hung up
                        data += response
                        if regex.search(data):
                            matched = True
                            break
                    _wait_for_close(sock)
                    if matched:
                        break
            time.sleep(p["sleep"])
        else:
            if port:
                if search_regex:
                    text = "Timeout when waiting for search string %s in %s:%s" % (
                        search_regex, host, port)
                else:
                    text = "Timeout when waiting for %s:%s" % (host, port)
            elif search_regex:
                text = "Timeout when waiting for search string %s in %s" % (search_regex, path)
            else:
                text = "Timeout when waiting for file %s" % path
            raise ModuleFailed(msg or text, elapsed=elapsed())
    elif state == "drained":
        while _wait_for_now() < end:
            if _wait_for_active_connections(p) == 0:
                break
            time.sleep(p["sleep"])
        else:
            raise ModuleFailed(msg or "Timeout when waiting for %s:%s to drain" % (host, port),
                               elapsed=elapsed())
    # exit_json's path info overwrites `state` when the path exists, as in Ansible
    return common_path_info({"changed": False, "state": state, "port": port,
                             "search_regex": search_regex, "match_groups": match_groups,
                             "match_groupdict": match_groupdict, "path": path,
                             "elapsed": elapsed()}, ctx)
