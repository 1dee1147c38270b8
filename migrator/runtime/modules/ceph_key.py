"""ceph_key (tripleo-ansible, from ceph-ansible): manage CephX keys with `ceph auth` and
`ceph-authtool`, inside the CEPH_CONTAINER_IMAGE container when that is set.

Behaviour kept from the module:
- present/update: `auth get <name> -f <output_format>` tells whether the key exists;
  an existing key whose secret and caps match is only fetched to the keyring file when
  that file is missing (changed: false, the file attributes applied all the same);
  otherwise the keyring is written by ceph-authtool and imported (`auth import`, as
  client.admin) or created (`auth get-or-create`, as another user). A failing create
  is reported with rc 0 and "Couldn't create or update <name>" (not as a failure).
- absent: the module never looks the key up (its "exists" flag is only set for
  present) and then reads variables nothing assigned: it crashes, always.
- info: a missing key is "skipped, since <name> does not exist" with rc 0.
- fetch_initial_keys, list, generate_secret as the module does them.
- check mode: nothing runs; an empty command result.
"""

import base64
import datetime
import json
import os
import socket
import struct
import time

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.ceph_common import (  # tm:strip
    CEPH_COMMON_CHECK_RESULT, ceph_common_container, ceph_common_crash, ceph_common_image,  # tm:strip
    ceph_common_result)  # tm:strip
from migrator.runtime.modules.common import (  # tm:strip
    common_file_args, common_run, common_set_fs_attributes, common_validate)  # tm:strip

_CEPH_KEY_SPEC = {
    "cluster": {"type": "str", "default": "ceph"},
    "name": {"type": "str", "required": True},
    "user": {"type": "str", "default": "client.admin"},
    "user_key": {"type": "str"},
    "state": {"type": "str", "default": "present",
              "choices": ["present", "update", "absent", "list", "info", "fetch_initial_keys",
                          "generate_secret"]},
    "caps": {"type": "dict"},
    "secret": {"type": "str"},
    "import_key": {"type": "bool", "default": True},
    "dest": {"type": "str", "default": "/etc/ceph/"},
    "fetch_initial_keys": {"type": "str", "default": "false"},
    "output_format": {"type": "str", "default": "json"},
}
_CEPH_KEY_INITIAL = ["client.admin", "client.bootstrap-mds", "client.bootstrap-mgr", "client.bootstrap-osd",
                     "client.bootstrap-rbd", "client.bootstrap-rbd-mirror", "client.bootstrap-rgw"]


class _CephKeyExit(Exception):
    """exit_json before the end of the module: carries the result."""

    def __init__(self, result):
        super().__init__("exit")
        self.result = result


def _ceph_key_secret():
    """A CephX secret: a little-endian header (type 1, creation time, 0, length) and 16 random bytes."""
    key = os.urandom(16)
    return base64.b64encode(struct.pack("<hiih", 1, int(time.time()), 0, len(key)) + key).decode()


def _ceph_key_caps(for_authtool, caps):
    """The caps as `<type> <cap>` pairs (`--cap <type> <cap>` for ceph-authtool); empty types dropped."""
    out = []
    for kind, cap in caps.items():
        if len(kind) == 0:
            continue
        if for_authtool:
            out.append("--cap")
        out += [kind, cap]
    return out


def _ceph_key_ceph(ctx, cluster, args, user, keyring, image):
    """`ceph -n <user> -k <keyring> --cluster <cluster> auth <args>`."""
    prefix = ceph_common_container(ctx, "ceph", image) if image else ["ceph"]
    return prefix + ["-n", user, "-k", keyring, "--cluster", cluster, "auth"] + args


def _ceph_key_authtool(ctx, name, secret, caps, dest, image):
    prefix = ceph_common_container(ctx, "ceph-authtool", image) if image else ["ceph-authtool"]
    return prefix + ["--create-keyring", dest, "--name", name, "--add-key", secret] + \
        _ceph_key_caps(True, caps)


def _ceph_key_info(ctx, cluster, name, user, keyring, output_format, image):
    return [_ceph_key_ceph(ctx, cluster, ["get", name, "-f", output_format], user, keyring, image)]


def _ceph_key_run(ctx, cmd_list):
    """exec_commands(): run in turn, stop at the first failure; (rc, cmd, out, err) of the last run."""
    rc, cmd, out, err = 0, None, "", ""
    for cmd in cmd_list:
        rc, out, err = common_run(ctx, cmd)
        if rc != 0:
            break
    return rc, cmd, out, err


def _ceph_key_path(cluster, entity):
    """build_key_path(): where an initial key lives on a monitor."""
    if "admin" in entity:
        return os.path.join("/etc/ceph", "%s.%s.keyring" % (cluster, entity))
    if "bootstrap" in entity:
        return os.path.join("/var/lib/ceph", entity.split(".")[1], cluster + ".keyring")
    return None


def _ceph_key_initial_entities(out):
    """lookup_ceph_initial_entities()."""
    try:
        dump = json.loads(out)
    except ValueError as ex:
        raise ModuleFailed("Could not decode 'ceph auth list' json  output: {}".format(ex), rc=1) from None
    if "auth_dump" not in dump:
        raise ModuleFailed("'auth_dump' key not present in json output:", rc=1)
    entities = [value for entry in dump["auth_dump"] for key, value in entry.items()
                if key == "entity" and value in _CEPH_KEY_INITIAL]
    if len(entities) != len(_CEPH_KEY_INITIAL):
        missing = [e for e in _CEPH_KEY_INITIAL if e not in entities]
        raise ModuleFailed("initial keyring does not contain keys: " + " ".join(missing), rc=1)
    return entities


def _ceph_key_unbound_cmd():
    """The module reads `cmd` for state absent, where nothing assigned it: its UnboundLocalError."""
    if False:  # pragma: no cover - never assigned, like the module's
        cmd = None  # noqa: F841
    return cmd  # noqa: F821


def _ceph_key_present(ctx, p, result, file_args, cluster, name, user, keyring, image):
    """present/update: returns (rc, cmd, out, err, changed) or raises _CephKeyExit."""
    secret, caps, dest, import_key = p["secret"], p["caps"], p["dest"], p["import_key"]
    existing_secret, existing_caps, key_exist = secret, caps, 1
    rc, cmd, out, err = 0, None, "", ""
    if not os.path.isdir(dest):
        file_path = dest
    else:
        filename = cluster + ".keyring" if "bootstrap" in dest else "%s.%s.keyring" % (cluster, name)
        file_path = os.path.join(dest, filename)
    file_args["path"] = file_path
    if import_key:
        rc, cmd, out, err = _ceph_key_run(ctx, _ceph_key_info(ctx, cluster, name, user, keyring,
                                                              p["output_format"], image))
        key_exist = rc
        if not caps and key_exist != 0:
            raise ModuleFailed("Capabilities must be provided when state is 'present'", rc=1)
        if key_exist != 0 and secret is None and caps is None:
            raise ModuleFailed("Keyring doesn't exist, you must provide 'secret' and 'caps'", rc=1)
        if key_exist == 0:
            info = json.loads(out)
            if not secret:
                secret = info[0]["key"]
            existing_secret = info[0]["key"]
            if not caps:
                caps = info[0]["caps"]
            existing_caps = info[0]["caps"]
            if secret == existing_secret and caps == existing_caps:
                if not os.path.isfile(file_path):
                    rc, cmd, out, err = _ceph_key_run(ctx, [_ceph_key_ceph(
                        ctx, cluster, ["get", name, "-o", file_path], user, keyring, image)])
                    result["rc"] = rc
                    if rc != 0:
                        result["stdout"] = "Couldn't fetch the key {0} at {1}.".format(name, file_path)
                        raise _CephKeyExit(result)
                result["stdout"] = "{0} already exists and doesn't need to be updated.".format(name)
                result["rc"] = 0
                common_set_fs_attributes(file_args, False, ctx)
                raise _CephKeyExit(result)
    elif os.path.isfile(file_path) and not secret or not caps:
        result["stdout"] = "{0} already exists in {1} you must provide secret *and* caps when import_key " \
                           "is {2}".format(name, dest, import_key)
        result["rc"] = 0
        raise _CephKeyExit(result)
    changed = False
    if (key_exist == 0 and (secret != existing_secret or caps != existing_caps)) or key_exist != 0:
        # create_key()
        if not secret:
            secret = _ceph_key_secret()
        if user == "client.admin":
            args = ["import", "-i", file_path]
        else:
            args = ["get-or-create", name] + _ceph_key_caps(False, caps) + ["-o", file_path]
        cmd_list = [_ceph_key_authtool(ctx, name, secret, caps, file_path, image)]
        if import_key or user != "client.admin":
            cmd_list.append(_ceph_key_ceph(ctx, cluster, args, user, keyring, image))
        rc, cmd, out, err = _ceph_key_run(ctx, cmd_list)
        if rc != 0:
            result["stdout"] = "Couldn't create or update {0}".format(name)
            result["stderr"] = err
            raise _CephKeyExit(result)
        common_set_fs_attributes(file_args, False, ctx)
        changed = True
    return rc, cmd, out, err, changed


@module("ceph_key", "ansible.legacy.ceph_key")
def ceph_key_module(params, ctx):
    p = common_validate("ceph_key", params, _CEPH_KEY_SPEC, ctx, file_common=True)
    file_args = common_file_args(p, ctx)
    result = dict(CEPH_COMMON_CHECK_RESULT)
    if ctx.check_mode:
        return result
    startd = datetime.datetime.now()
    try:
        return _ceph_key_states(ctx, p, result, file_args, startd)
    except _CephKeyExit as ex:
        return ex.result
    except ModuleFailed:
        raise
    except Exception as ex:  # the module's own crashes, and anything unforeseen
        raise ceph_common_crash(ex) from None


def _ceph_key_states(ctx, p, result, file_args, startd):
    state, name, cluster, user = p["state"], p["name"], p["cluster"], p["user"]
    image = ceph_common_image(ctx)
    keyring = p["user_key"] or os.path.join("/etc/ceph", "{}.{}.keyring".format(cluster, user))
    changed = False
    if state in ("present", "update"):
        rc, cmd, out, err, changed = _ceph_key_present(ctx, p, result, file_args, cluster, name, user, keyring,
                                                       image)
    elif state == "absent":
        # the module's key_exist is never 0 here: nothing runs, then it reads cmd and out
        raise _ceph_key_unbound_cmd()
    elif state == "info":
        rc, cmd, out, err = _ceph_key_run(ctx, _ceph_key_info(ctx, cluster, name, user, keyring,
                                                              p["output_format"], image))
        if rc != 0:
            result["stdout"] = "skipped, since {0} does not exist".format(name)
            result["rc"] = 0
            return result
    elif state == "list":
        rc, cmd, out, err = _ceph_key_run(ctx, [_ceph_key_ceph(ctx, cluster, ["ls", "-f", "json"], user, keyring,
                                                               image)])
    elif state == "fetch_initial_keys":
        user = "mon."
        keyring = os.path.join("/var/lib/ceph/mon/", "%s-%s/keyring" % (cluster, socket.gethostname().split(".", 1)[0]))
        rc, cmd, out, err = _ceph_key_run(ctx, [_ceph_key_ceph(ctx, cluster, ["ls", "-f", "json"], user, keyring,
                                                               image)])
        if rc != 0:
            result["stdout"] = "failed to retrieve ceph keys"
            result["stderr"] = err
            result["rc"] = 0
            return result
        for entity in _ceph_key_initial_entities(out):
            key_path = _ceph_key_path(cluster, entity)
            if key_path is None:
                raise ModuleFailed("Failed to build key path, no entity yet?", rc=1)
            if os.path.isfile(key_path):
                continue
            info = _ceph_key_info(ctx, cluster, entity, user, keyring, "plain", image)
            info[0] += ["-o", key_path]
            rc, cmd, out, err = _ceph_key_run(ctx, info)
            common_set_fs_attributes(dict(common_file_args(p, ctx), path=key_path), False, ctx)
    else:  # generate_secret
        rc, cmd, out, err, changed = 0, "", _ceph_key_secret(), "", True
    final = ceph_common_result(out, rc, cmd, err, startd, changed)
    if rc != 0:
        raise ModuleFailed("non-zero return code", **final)
    return final
