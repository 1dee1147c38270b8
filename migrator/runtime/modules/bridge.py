"""tm.bridge: run an Ansible module that has no port with ansible-core on the node.

`tripleo-migrate convert --bridge` turns a task with no translation and no port
into a TASK job of this pseudo-module instead of a stub:

    args: {module: <the task's module>, args: {<its arguments>}, library: <node dir>}

The runtime core has already done what the task's keywords ask (when, loop,
register, ...) and templated the arguments; the bridge runs the module once, on
this node, with `ansible-playbook -c local` (check mode, diff, the task's
environment and become_user included), and returns the module's result as
Ansible reports it. The arguments go to Ansible tagged `!unsafe`, so they are not
templated a second time. `library` is where the converter's COPY job put the
module file of a custom module (a role's library/, --module-path).

It needs ansible-core on the node: in the interpreter that runs the Directord
client, or `ansible-playbook` on PATH. Modules of collections need those
collections installed there too.
"""

import importlib.util
import json
import os
import shutil
import sys
import tempfile

import yaml

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.templating import OMIT  # tm:strip

_BRIDGE_CALLBACK = '''
import json, os
from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "tm_bridge"

    def __init__(self):
        super().__init__()
        self.result = None

    def _keep(self, result, **extra):
        self.result = dict(result._result, **extra)

    def v2_runner_on_ok(self, result):
        self._keep(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._keep(result, failed=True)

    def v2_runner_on_skipped(self, result):
        self._keep(result, skipped=True)

    def v2_runner_on_unreachable(self, result):
        self._keep(result, unreachable=True, failed=True)

    def v2_playbook_on_stats(self, stats):
        with open(os.environ["TM_BRIDGE_RESULT"], "w") as out:
            json.dump(self.result, out, default=str)
'''


class _BridgeUnsafeDumper(yaml.SafeDumper):
    """Every string value goes out as `!unsafe`: Ansible must not template it again."""


def _bridge_unsafe_str(dumper, value):
    return dumper.represent_scalar("!unsafe", value, style='"')


def _bridge_plain_mapping(dumper, value):
    # keys stay plain strings (Ansible never templates argument names)
    node = yaml.MappingNode("tag:yaml.org,2002:map", [], flow_style=False)
    for key, item in value.items():
        key_node = yaml.ScalarNode("tag:yaml.org,2002:str", str(key), style='"')
        node.value.append((key_node, dumper.represent_data(item)))
    return node


_BridgeUnsafeDumper.add_representer(str, _bridge_unsafe_str)
_BridgeUnsafeDumper.add_representer(dict, _bridge_plain_mapping)


def _bridge_command():
    """(argv of ansible-playbook, interpreter the module runs with), or (None, None)."""
    if importlib.util.find_spec("ansible") is not None and \
            importlib.util.find_spec("ansible.cli.playbook") is not None:
        return [sys.executable, "-m", "ansible", "playbook"], sys.executable
    found = shutil.which("ansible-playbook")
    if not found:
        return None, None
    interpreter = "/usr/bin/python3"
    try:
        with open(found, "rb") as stream:
            first = stream.readline().decode("utf-8", "replace").strip()
        if first.startswith("#!"):
            words = first[2:].split()
            interpreter = words[-1] if words and os.path.basename(words[0]) == "env" else words[0]
    except (OSError, IndexError):
        pass
    return [found], interpreter


@module("tm.bridge")
def bridge_module(params, ctx):
    name = params.get("module")
    args = params.get("args") or {}
    library = params.get("library")
    if not isinstance(name, str) or not name:
        raise ModuleFailed("tm.bridge needs the name of the module to run")
    if not isinstance(args, dict):
        raise ModuleFailed("tm.bridge: the arguments of %s must be a dict, got %s" % (name, type(args).__name__))
    # `| default(omit)` inside the module's arguments: Ansible leaves the option out
    args = {key: value for key, value in args.items() if value is not OMIT}
    command, interpreter = _bridge_command()
    if command is None:
        raise ModuleFailed("bridge: %s needs ansible-core on this node (neither the Python that runs the "
                           "Directord client nor PATH has ansible-playbook)" % name)
    work = tempfile.mkdtemp(prefix="tm-bridge-")
    try:
        os.chmod(work, 0o755)  # become_user must read the playbook
        scratch = os.path.join(work, "tmp")
        os.mkdir(scratch)
        os.chmod(scratch, 0o1777)
        os.mkdir(os.path.join(work, "callbacks"))
        with open(os.path.join(work, "callbacks", "tm_bridge.py"), "w") as stream:
            stream.write(_BRIDGE_CALLBACK)
        task = {"name": "bridge " + name, name: args}
        environment = {k: str(v) for k, v in ctx.environment.items()}
        if environment:
            task["environment"] = environment
        play = [{"hosts": "localhost", "gather_facts": False, "tasks": [task],
                 "vars": {"ansible_python_interpreter": interpreter}}]
        playbook = os.path.join(work, "bridge.yml")
        with open(playbook, "w") as stream:
            yaml.dump(play, stream, Dumper=_BridgeUnsafeDumper, default_flow_style=False, sort_keys=False)
        result_file = os.path.join(scratch, "result.json")  # written as become_user
        env = {
            "ANSIBLE_STDOUT_CALLBACK": "tm_bridge", "ANSIBLE_CALLBACK_PLUGINS": os.path.join(work, "callbacks"),
            "TM_BRIDGE_RESULT": result_file, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
            "ANSIBLE_LOCAL_TEMP": scratch, "ANSIBLE_REMOTE_TEMP": scratch,
            "ANSIBLE_DEPRECATION_WARNINGS": "0", "ANSIBLE_HOST_KEY_CHECKING": "0",
        }
        if ctx.become_user and ctx.become_user != "root":
            env["ANSIBLE_HOME"] = os.path.join(scratch, "home")  # root's ~/.ansible is not theirs
        if library:
            known = os.environ.get("ANSIBLE_LIBRARY")
            env["ANSIBLE_LIBRARY"] = library + (os.pathsep + known if known else "")
        argv = command + ["-i", "localhost,", "-c", "local", playbook]
        if ctx.check_mode:
            argv.append("--check")
        if ctx.diff:
            argv.append("--diff")
        rc, out, err = ctx.run(argv, cwd=work, env=env)
        result = None
        if os.path.exists(result_file):
            with open(result_file) as stream:
                result = json.load(stream)
        if not isinstance(result, dict):
            raise ModuleFailed("bridge: ansible-playbook ran no %s task (exit %d)" % (name, rc),
                               rc=rc, stdout=out, stderr=err)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {k: v for k, v in result.items() if not k.startswith("_ansible")}
    if result.get("failed"):
        raise ModuleFailed(result.pop("msg", "%s failed" % name), **{k: v for k, v in result.items() if k != "failed"})
    return result
