"""The node's facts, as ansible-core's setup module reports them (a subset).

Each value follows the collector it is named after in
ansible/module_utils/facts/ (platform, distribution, hardware/linux,
network/linux, system/user, env, selinux, date_time), for Linux nodes.
"""

import datetime
import getpass
import os
import platform
import socket
import subprocess
import time

# ansible-core reads the distribution name through `distro`; these are the ids it maps
_DISTRIBUTION_NAMES = {
    "rhel": "RedHat", "centos": "CentOS", "fedora": "Fedora", "rocky": "Rocky",
    "almalinux": "AlmaLinux", "ol": "OracleLinux", "amzn": "Amazon", "debian": "Debian",
    "ubuntu": "Ubuntu", "sles": "SLES", "opensuse-leap": "openSUSE Leap",
    "opensuse-tumbleweed": "openSUSE Tumbleweed", "arch": "Archlinux", "alpine": "Alpine",
}
_OS_FAMILIES = {
    "RedHat": ("RedHat", "Fedora", "CentOS", "OracleLinux", "Amazon", "AlmaLinux", "Rocky"),
    "Debian": ("Debian", "Ubuntu"),
    "Suse": ("SLES", "openSUSE Leap", "openSUSE Tumbleweed"),
    "Archlinux": ("Archlinux",),
    "Alpine": ("Alpine",),
}


def _read(path, default=None):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def _os_release():
    fields = {}
    for line in (_read("/etc/os-release") or "").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip().strip("\"'")
    return fields


def _distribution_facts():
    release = _os_release()
    distro_id = release.get("ID", "").lower()
    name = _DISTRIBUTION_NAMES.get(distro_id, distro_id.capitalize() or platform.system())
    version = release.get("VERSION_ID", "")
    if name == "Debian":
        # ansible reports the point release from /etc/debian_version (12.11, not 12)
        point = _read("/etc/debian_version", "")
        if point[:1].isdigit():
            version = point
    family = next((f for f, names in _OS_FAMILIES.items() if name in names), name)
    return {
        "distribution": name,
        "distribution_version": version,
        "distribution_major_version": version.split(".")[0],
        "os_family": family,
    }


def _platform_facts():
    fqdn = socket.getfqdn()
    return {
        "system": platform.system(),
        "kernel": platform.release(),
        "kernel_version": platform.version(),
        "machine": platform.machine(),
        "architecture": platform.machine(),
        "python_version": platform.python_version(),
        "fqdn": fqdn,
        "hostname": platform.node().split(".")[0],
        "nodename": platform.node(),
        "domain": ".".join(fqdn.split(".")[1:]),
    }


def _cpu_facts(architecture):
    """hardware/linux.py get_cpu_facts for the non-Xen, non-s390x case."""
    entries = vendor_ids = model_names = processors = 0
    sockets, cores = {}, {}
    physid = coreid = 0
    for line in (_read("/proc/cpuinfo") or "").splitlines():
        key, _, val = line.partition(":")
        key, val = key.strip(), val.strip()
        if key in ("model name", "Processor", "vendor_id", "cpu", "Vendor", "processor"):
            entries += 1
            vendor_ids += key == "vendor_id"
            model_names += key == "model name"
            processors += key == "processor"
        elif key == "physical id":
            physid = val
            sockets.setdefault(physid, 1)
        elif key == "core id":
            coreid = val
            if coreid not in sockets:
                cores[coreid] = 1
        elif key == "cpu cores":
            sockets[physid] = int(val)
        elif key == "siblings":
            cores[coreid] = int(val)
    count = entries
    if vendor_ids and vendor_ids == model_names:
        count = vendor_ids
    if architecture.startswith(("armv", "aarch", "ppc")):
        count = processors
    processor_count = len(sockets) if sockets else count
    socket_values = list(sockets.values())
    processor_cores = socket_values[0] if socket_values and socket_values[0] else 1
    core_values = list(cores.values())
    threads = round((core_values[0] if core_values else 1) / processor_cores)
    return {
        "processor_count": processor_count,
        "processor_cores": processor_cores,
        "processor_threads_per_core": threads,
        "processor_vcpus": threads * processor_count * processor_cores,
        "processor_nproc": len(os.sched_getaffinity(0)),
    }


def _memory_facts():
    for line in (_read("/proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            return {"memtotal_mb": int(line.split()[1]) // 1024}
    return {}


def _ip(*args):
    try:
        return subprocess.run(["ip"] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, check=False).stdout.decode()
    except OSError:
        return ""


def _network_facts():
    """default_ipv4 from `ip -4 route get 8.8.8.8`, addresses from `ip addr`, as network/linux.py."""
    default = {}
    words = (_ip("-4", "route", "get", "8.8.8.8").splitlines() or [""])[0].split()
    if words and words[0] == "8.8.8.8":
        for i in range(len(words) - 1):
            if words[i] == "dev":
                default["interface"] = words[i + 1]
            elif words[i] == "src":
                default["address"] = words[i + 1]
            elif words[i] == "via" and words[i + 1] != "8.8.8.8":
                default["gateway"] = words[i + 1]
    addresses = []
    for line in _ip("-4", "-o", "addr", "show").splitlines():
        fields = line.split()
        if "inet" not in fields:
            continue
        inet = fields[fields.index("inet") + 1]
        address, _, prefix = inet.partition("/")
        prefix = prefix or "32"
        if default.get("address") == address:
            device = fields[1]
            mask = (1 << 32) - (1 << 32 >> int(prefix))
            packed = int.from_bytes(socket.inet_aton(address), "big")
            sysfs = "/sys/class/net/%s/" % device
            mac = _read(sysfs + "address")
            default.update(
                broadcast=fields[fields.index("brd") + 1] if "brd" in fields else "",
                netmask=socket.inet_ntoa(mask.to_bytes(4, "big")),
                network=socket.inet_ntoa((packed & mask).to_bytes(4, "big")),
                prefix=prefix,
                mtu=int(_read(sysfs + "mtu", "0")),
                type={"1": "ether", "32": "infiniband", "512": "ppp", "772": "loopback",
                      "65534": "tunnel"}.get(_read(sysfs + "type", ""), "unknown"),
                alias=line.split("\\")[0].split()[-1],
            )
            if mac and mac != "00:00:00:00:00:00":
                default["macaddress"] = mac
            if os.path.exists(sysfs + "bridge"):
                default["type"] = "bridge"
            if os.path.exists(sysfs + "bonding"):
                default["type"] = "bonding"
        if not address.startswith("127."):
            addresses.append(address)
    return {"default_ipv4": default, "all_ipv4_addresses": addresses}


def _selinux_facts():
    """What the selinux collector reports, read from selinuxfs instead of libselinux."""
    if not os.path.isdir("/sys/fs/selinux") or _read("/sys/fs/selinux/enforce") is None:
        return {"selinux": {"status": "disabled"}}
    config = {}
    for line in (_read("/etc/selinux/config") or "").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            config[key.strip()] = value.strip()
    return {"selinux": {
        "status": "enabled",
        "mode": "enforcing" if _read("/sys/fs/selinux/enforce") == "1" else "permissive",
        "config_mode": config.get("SELINUX", "unknown"),
        "type": config.get("SELINUXTYPE", "unknown"),
        "policyvers": int(_read("/sys/fs/selinux/policyvers", "0")) or "unknown",
    }}


def _date_time_facts():
    epoch = time.time()
    now = datetime.datetime.fromtimestamp(epoch)
    utcnow = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    return {"date_time": {
        "year": now.strftime("%Y"),
        "month": now.strftime("%m"),
        "weekday": now.strftime("%A"),
        "weekday_number": now.strftime("%w"),
        "weeknumber": now.strftime("%W"),
        "day": now.strftime("%d"),
        "hour": now.strftime("%H"),
        "minute": now.strftime("%M"),
        "second": now.strftime("%S"),
        "epoch": str(int(epoch)),
        "epoch_int": str(int(epoch)),
        "date": now.strftime("%Y-%m-%d"),
        "time": now.strftime("%H:%M:%S"),
        "iso8601_micro": utcnow.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "iso8601": utcnow.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "iso8601_basic": now.strftime("%Y%m%dT%H%M%S%f"),
        "iso8601_basic_short": now.strftime("%Y%m%dT%H%M%S"),
        "tz": time.strftime("%Z"),
        "tz_dst": time.tzname[1],
        "tz_offset": time.strftime("%z"),
    }}


def gather_facts():
    """Facts named as setup returns them: with the `ansible_` prefix."""
    facts = _platform_facts()
    facts.update(_distribution_facts())
    facts.update(_cpu_facts(facts["architecture"]))
    facts.update(_memory_facts())
    facts.update(_network_facts())
    facts.update(_selinux_facts())
    facts.update(_date_time_facts())
    facts["env"] = dict(os.environ)
    facts["user_id"] = getpass.getuser()
    return {"ansible_" + name: value for name, value in facts.items()}
