"""The module ports (migrator/runtime/modules) against ansible-core itself.

Most cases are data: a file tree, a module and its arguments. ansible-playbook
(local connection) runs every case on its own copy of the tree, once: the
outcomes are cached, see ansible_runs. Each test runs the port on a second
copy and compares the resulting trees (type, content, mode, owner, link
target) and the result fields Ansible reports. What ansible-core cannot run
here (the community.general and ansible.posix modules, and anything that
would change this machine's packages, services or accounts) is tested against
hand-computed expectations, with fake executables recording the commands the
ports build. The helpers shared with ansible-core (symbolic modes, argument
conversions) are compared with ansible-core's own functions.
"""

import ast
import base64
import json
import os
import re
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import jinja2
import pytest

from migrator.runtime.api import MODULES, ModuleContext, ModuleFailed
from migrator.runtime.modules import (  # noqa: F401  (importing registers the ports)
    blockinfile, command, copy, dnf, file, find, group, ini_file, lineinfile, replace, shell,
    slurp, stat as stat_port, sysctl, systemd, template, tempfile, user, wait_for)

# Its real side runs every case once per session (a session fixture): on one xdist worker only
pytestmark = pytest.mark.xdist_group("runtime_modules")

ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
D = "@D@"  # stands for the case's directory in arguments and expectations
BACKUP_SUFFIX = r"\.\d+\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d~"  # backup_local's

RECORD_CALLBACK = '''
import json, os
from ansible.plugins.callback import CallbackBase

class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "record"

    def __init__(self):
        super().__init__()
        self.results = {}

    def _record(self, result, **extra):
        self.results[result.task.get_name()] = dict(result.result, **extra)

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True)

    def v2_runner_on_skipped(self, result):
        self._record(result, skipped=True)

    def v2_playbook_on_stats(self, stats):
        with open(os.environ["RECORD_FILE"], "w") as out:
            json.dump(self.results, out, default=str)
'''


class Context(ModuleContext):
    """A ModuleContext whose render is plain Jinja2 with the template module's settings.

    It honours the `#jinja2:` override header the way Ansible's templar does,
    which is how the template port passes its options.
    """

    def render(self, text, extra_vars=None):
        options = {"trim_blocks": True}
        if text.startswith("#jinja2:"):
            header, _, text = text.partition("\n")
            for pair in header[len("#jinja2:"):].split(","):
                key, value = pair.split(":", 1)
                options[key.strip()] = ast.literal_eval(value.strip())
        env = jinja2.Environment(undefined=jinja2.StrictUndefined, **options)
        result = env.from_string(text).render(dict(self.vars, **(extra_vars or {})))
        # Jinja drops the final newline; Ansible gives back all the template had
        missing = (len(text) - len(text.rstrip("\n"))) - (len(result) - len(result.rstrip("\n")))
        return result + options.get("newline_sequence", "\n") * max(missing, 0)


# ---------------------------------------------------------------------------
# trees


def make_tree(root, tree):
    """tree: name -> text | bytes | {content, mode} | DIR | ("link", target) | ("hard", name)."""
    root.mkdir(parents=True, exist_ok=True)
    for name, spec in tree.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(spec, tuple) and spec[0] == "link":
            os.symlink(spec[1].replace(D, str(root)), path)
            continue
        if isinstance(spec, tuple) and spec[0] == "hard":
            os.link(root / spec[1], path)
            continue
        if isinstance(spec, dict) and spec.get("dir"):
            path.mkdir(exist_ok=True)
            path.chmod(spec.get("mode", 0o755))
            continue
        if not isinstance(spec, dict):
            spec = {"content": spec}
        content = spec.get("content", "")
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        path.chmod(spec.get("mode", 0o644))


DIR = {"dir": True}


def snapshot(root):
    """What a case left behind, with backup names normalised."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            rel = re.sub(BACKUP_SUFFIX, ".BACKUP~", os.path.relpath(path, root))
            rel = re.sub(r"^tmp\.\w{8}", "tmp.RANDOM", rel)  # tempfile's names
            entry = {"mode": oct(stat.S_IMODE(st.st_mode)), "uid": st.st_uid, "gid": st.st_gid}
            if stat.S_ISLNK(st.st_mode):
                entry.update(type="link", target=os.readlink(path).replace(str(root), D))
            elif stat.S_ISDIR(st.st_mode):
                entry.update(type="dir")
            else:
                entry.update(type="file", nlink=st.st_nlink,
                             content=base64.b64encode(Path(path).read_bytes()).decode())
            found[rel] = entry
    return found


# ---------------------------------------------------------------------------
# cases run by both ansible-core and the ports

COMPARED = ("changed", "failed", "skipped", "msg", "rc", "stdout", "stderr", "stdout_lines",
            "stderr_lines", "cmd", "path", "dest", "state", "mode", "uid", "gid", "owner",
            "group", "size", "checksum", "md5sum", "found", "backup", "backup_file",
            "exit_status", "content", "encoding", "source", "stat", "matched", "examined",
            "files", "skipped_paths", "name", "comment", "home", "shell", "groups", "system",
            "create_home", "append", "move_home", "force", "remove", "port", "search_regex",
            "match_groups", "match_groupdict")


def case(id, module, args, tree=None, check=False, keys=COMPARED, vars=None):
    return pytest.param(dict(module=module, args=args, tree=tree or {}, check=check,
                             keys=keys, vars=vars or {}), id=id)


CASES = [
    # command / shell
    case("command-raw", "command", {"_raw_params": "echo  'a  b' $HOME ~"}),
    case("command-cmd-chdir", "command", {"cmd": "ls", "chdir": D}, {"x": "", "y": ""}),
    case("command-argv", "command", {"argv": ["printf", "%s|", "a b", "$HOME"]}),
    case("command-no-expand", "command", {"argv": ["echo", "$HOME"],
                                          "expand_argument_vars": False}),
    case("command-creates-hit", "command", {"cmd": "touch made", "chdir": D, "creates": "x*"},
         {"x1": ""}),
    case("command-creates-miss", "command", {"cmd": "touch made", "chdir": D,
                                             "creates": D + "/nothing"}),
    case("command-removes-miss", "command", {"cmd": "false", "removes": D + "/nothing"}),
    case("command-stdin", "command", {"cmd": "cat", "stdin": "one\ntwo"}),
    case("command-stdin-no-newline", "command", {"cmd": "od -c", "stdin": "x",
                                                 "stdin_add_newline": False}),
    case("command-no-strip", "command", {"cmd": "printf 'a\\n\\n'", "strip_empty_ends": False}),
    case("command-rc", "command", {"cmd": "sh -c 'echo out; echo err >&2; exit 3'"}),
    case("command-missing", "command", {"cmd": "/nonexistent/tool arg"}),
    case("command-bad-chdir", "command", {"cmd": "true", "chdir": D + "/nope"}),
    case("command-check", "command", {"cmd": "touch made", "chdir": D}, check=True),
    case("command-check-creates", "command", {"cmd": "touch made", "chdir": D,
                                              "creates": D + "/made"}, check=True),
    case("command-exclusive", "command", {"cmd": "true", "argv": ["true"]}),
    case("command-none", "command", {"chdir": D}),
    case("command-unknown", "command", {"cmd": "true", "bogus": 1}),
    case("shell-pipe", "shell", {"_raw_params": "echo $((1+2)) | tr 3 x; echo e >&2"}),
    case("shell-executable", "shell", {"cmd": "echo ${BASH_VERSION:+bash}",
                                       "executable": "/bin/bash"}),
    case("shell-chdir-creates", "shell", {"cmd": "echo hi > out", "chdir": D,
                                          "creates": "out"}, {"out": "old"}),
    case("shell-fail", "shell", {"cmd": "exit 4"}),
    case("shell-stdin", "shell", {"cmd": "read a; echo got $a", "stdin": "val"}),
    case("shell-expand-vars", "shell", {"cmd": "true", "expand_argument_vars": False}),
    # file
    case("file-directory-parents-mode", "file", {"path": D + "/a/b/c", "state": "directory",
                                                 "mode": "0700"}),
    case("file-directory-exists-symbolic", "file", {"path": D + "/a", "state": "directory",
                                                    "mode": "u=rwx,g=rx,o="}, {"a": DIR}),
    case("file-directory-recurse", "file", {"path": D + "/a", "state": "directory",
                                            "recurse": True, "owner": "daemon", "group": "bin",
                                            "mode": "u+rwX,g-w,o-rwx"},
         {"a/f": "x", "a/b/g": {"content": "y", "mode": 0o755}, "a/l": ("link", "f")}),
    case("file-directory-over-file", "file", {"path": D + "/f", "state": "directory"},
         {"f": "x"}),
    case("file-directory-follow-link", "file", {"path": D + "/l", "state": "directory",
                                                "mode": 0o750}, {"d": DIR, "l": ("link", "d")}),
    case("file-file-mode-int", "file", {"path": D + "/f", "mode": 0o600}, {"f": "x"}),
    case("file-file-mode-unchanged", "file", {"path": D + "/f", "mode": "644",
                                              "state": "file"}, {"f": "x"}),
    case("file-file-absent", "file", {"path": D + "/f", "state": "file"}),
    case("file-file-owner", "file", {"path": D + "/f", "owner": "nobody", "group": "daemon"},
         {"f": "x"}),
    case("file-file-unknown-owner", "file", {"path": D + "/f", "owner": "no-such-user"},
         {"f": "x"}),
    case("file-file-bad-mode", "file", {"path": D + "/f", "mode": "u+q"}, {"f": "x"}),
    case("file-file-check", "file", {"path": D + "/f", "mode": "0600"}, {"f": "x"}, check=True),
    case("file-default-state-dir", "file", {"path": D + "/d", "mode": "0700"}, {"d": DIR}),
    case("file-touch-new", "file", {"path": D + "/t", "state": "touch", "mode": "0640"},
         keys=("changed", "failed", "msg", "dest", "mode", "state")),
    case("file-touch-check", "file", {"path": D + "/t", "state": "touch"}, check=True),
    case("file-touch-times", "file", {"path": D + "/t", "state": "touch",
                                      "modification_time": "202001021530.00",
                                      "access_time": "preserve"}, {"t": "x"}),
    case("file-absent-file", "file", {"path": D + "/f", "state": "absent"}, {"f": "x"}),
    case("file-absent-tree", "file", {"path": D + "/d", "state": "absent"},
         {"d/e/f": "x", "d/g": "y"}),
    case("file-absent-missing", "file", {"path": D + "/f", "state": "absent"}),
    case("file-absent-check", "file", {"name": D + "/f", "state": "absent"}, {"f": "x"},
         check=True),
    case("file-link-new", "file", {"src": "target", "dest": D + "/l", "state": "link"},
         {"target": "x"}),
    case("file-link-missing-src", "file", {"src": D + "/nope", "path": D + "/l",
                                           "state": "link"}),
    case("file-link-force-missing", "file", {"src": D + "/nope", "path": D + "/l",
                                             "state": "link", "force": True}),
    case("file-link-retarget", "file", {"src": D + "/b", "path": D + "/l", "state": "link"},
         {"a": "1", "b": "2", "l": ("link", D + "/a")}),
    case("file-link-same", "file", {"src": "a", "path": D + "/l", "state": "link"},
         {"a": "1", "l": ("link", "a")}),
    case("file-link-over-file", "file", {"src": "a", "path": D + "/f", "state": "link"},
         {"a": "1", "f": "2"}),
    case("file-link-over-file-force", "file", {"src": "a", "path": D + "/f", "state": "link",
                                               "force": "yes"}, {"a": "1", "f": "2"}),
    case("file-link-over-empty-dir", "file", {"src": "a", "path": D + "/d", "state": "link",
                                              "force": True}, {"a": "1", "d": DIR}),
    case("file-link-mode-follow", "file", {"src": "a", "path": D + "/l", "state": "link",
                                           "mode": "0600"}, {"a": "1"}),
    case("file-link-in-dir", "file", {"src": D + "/a", "path": D + "/d", "state": "link"},
         {"a": "1", "d/x": "2"}),
    case("file-hard-new", "file", {"src": D + "/a", "path": D + "/h", "state": "hard"},
         {"a": "1"}),
    case("file-hard-existing-file", "file", {"src": D + "/a", "path": D + "/f",
                                             "state": "hard"}, {"a": "1", "f": "2"}),
    case("file-hard-force", "file", {"src": D + "/a", "path": D + "/f", "state": "hard",
                                     "force": True}, {"a": "1", "f": "2"}),
    case("file-hard-same", "file", {"src": D + "/a", "path": D + "/h", "state": "hard"},
         {"a": "1", "h": ("hard", "a")}),
    case("file-src-needs-link", "file", {"src": D + "/a", "path": D + "/f"}, {"a": "1"}),
    case("file-recurse-needs-dir", "file", {"path": D + "/f", "recurse": True,
                                            "state": "file"}, {"f": "1"}),
    case("file-bad-state", "file", {"path": D + "/f", "state": "present"}),
    case("file-missing-path", "file", {"state": "absent"}),
    # copy
    case("copy-content-new", "copy", {"content": "hello\n", "dest": D + "/f"},
         keys=COMPARED[:-12] + ("checksum",)),
    case("copy-content-same", "copy", {"content": "hello\n", "dest": D + "/f",
                                       "mode": "0600"}, {"f": "hello\n"}),
    case("copy-content-keeps-attrs", "copy", {"content": "new", "dest": D + "/f"},
         {"f": {"content": "old", "mode": 0o640}}),
    case("copy-content-backup", "copy", {"content": "new", "dest": D + "/f", "backup": True},
         {"f": "old"}),
    case("copy-content-no-force", "copy", {"content": "new", "dest": D + "/f",
                                           "force": False}, {"f": "old"}),
    case("copy-content-no-force-new", "copy", {"content": "new", "dest": D + "/f",
                                               "force": "no", "owner": "daemon"}),
    case("copy-content-dict", "copy", {"content": {"a": [1, 2]}, "dest": D + "/j"}),
    case("copy-content-dir-dest", "copy", {"content": "x", "dest": D + "/d"}, {"d": DIR}),
    case("copy-content-slash-dest", "copy", {"content": "x", "dest": D + "/d/"}),
    case("copy-content-no-parent", "copy", {"content": "x", "dest": D + "/no/f"}),
    case("copy-content-check", "copy", {"content": "x", "dest": D + "/f"}, {"f": "y"},
         check=True),
    case("copy-content-over-link", "copy", {"content": "x", "dest": D + "/l"},
         {"t": "y", "l": ("link", "t")}),
    case("copy-content-follow-link", "copy", {"content": "x", "dest": D + "/l", "follow": True},
         {"t": "y", "l": ("link", "t")}),
    case("copy-validate-ok", "copy", {"content": "x\n", "dest": D + "/f.conf",
                                      "validate": "grep -q x %s"}),
    case("copy-validate-fail", "copy", {"content": "y\n", "dest": D + "/f.conf",
                                        "validate": "grep -q x %s"}, {"f.conf": "old"},
         keys=("changed", "failed", "msg", "exit_status")),
    case("copy-validate-no-placeholder", "copy", {"content": "y", "dest": D + "/f",
                                                  "validate": "true"}),
    case("copy-src-file", "copy", {"src": D + "/s/a.txt", "dest": D + "/out.txt",
                                   "mode": "preserve"}, {"s/a.txt": {"content": "A",
                                                                     "mode": 0o751}}),
    case("copy-src-into-dir", "copy", {"src": D + "/s/a.txt", "dest": D + "/d"},
         {"s/a.txt": "A", "d": DIR}),
    case("copy-src-into-new-dir", "copy", {"src": D + "/s/a.txt", "dest": D + "/n/m/",
                                           "directory_mode": "0750"}, {"s/a.txt": "A"}),
    case("copy-src-same-attrs", "copy", {"src": D + "/s/a.txt", "dest": D + "/d/",
                                         "mode": "0400", "owner": "daemon"},
         {"s/a.txt": "A", "d/a.txt": "A"}),
    case("copy-src-missing", "copy", {"src": D + "/nope", "dest": D + "/x"},
         keys=("changed", "failed")),
    case("copy-tree", "copy", {"src": D + "/s", "dest": D + "/out"},
         {"s/a": "A", "s/sub/b": {"content": "B", "mode": 0o700}, "s/empty": DIR,
          "s/link": ("link", "a")}),
    case("copy-tree-contents", "copy", {"src": D + "/s/", "dest": D + "/out",
                                        "directory_mode": "0700", "mode": "0600"},
         {"s/a": "A", "s/sub/b": "B", "out/old": "keep"}),
    case("copy-tree-no-follow", "copy", {"src": D + "/s/", "dest": D + "/out",
                                         "local_follow": False},
         {"s/a": "A", "s/l": ("link", "a"), "s/ld": ("link", "sub"), "s/sub/b": "B"}),
    case("copy-remote-file", "copy", {"src": D + "/a", "dest": D + "/b", "remote_src": True},
         {"a": {"content": "A", "mode": 0o700}, "b": {"content": "old", "mode": 0o600}}),
    case("copy-remote-file-new", "copy", {"src": D + "/a", "dest": D + "/b",
                                          "remote_src": True},
         {"a": {"content": "A", "mode": 0o700}}),
    case("copy-remote-tree", "copy", {"src": D + "/s", "dest": D + "/out", "remote_src": True},
         {"s/a": "A", "s/sub/b": "B", "out/s/a": "old"}),
    case("copy-remote-tree-contents", "copy", {"src": D + "/s/", "dest": D + "/out",
                                               "remote_src": True, "group": "daemon"},
         {"s/a": "A", "s/sub/b": "B"}),
    case("copy-remote-missing", "copy", {"src": D + "/nope", "dest": D + "/b",
                                         "remote_src": True}),
    case("copy-needs-src", "copy", {"dest": D + "/b"}),
    case("copy-src-and-content", "copy", {"content": "x", "src": D + "/a", "dest": D + "/b"}),
    case("copy-unknown-param", "copy", {"content": "x", "dest": D + "/b", "bogus": 1}),
    # template (plain Jinja only: the test context renders without Ansible's filters)
    case("template-basic", "template", {"src": D + "/t.j2", "dest": D + "/out", "mode": "0640"},
         {"t.j2": "{{ greeting }} {{ items | join(',') }}\n{% for i in items %}\n- {{ i }}\n"
                  "{% endfor %}\n{{ ansible_managed }}\n\n"},
         vars={"greeting": "hi", "items": ["a", "b"]}),
    case("template-unchanged", "template", {"src": D + "/t.j2", "dest": D + "/out"},
         {"t.j2": "x={{ x }}\n", "out": {"content": "x=1\n", "mode": 0o600}}, vars={"x": 1}),
    case("template-into-dir", "template", {"src": D + "/t.j2", "dest": D + "/d/",
                                           "owner": "daemon"},
         {"t.j2": "v\n", "d": DIR}),
    case("template-options", "template", {"src": D + "/t.j2", "dest": D + "/out",
                                          "trim_blocks": False, "lstrip_blocks": "yes",
                                          "newline_sequence": "\\r\\n",
                                          "variable_start_string": "[[",
                                          "variable_end_string": "]]"},
         {"t.j2": "a\n  {% if true %}\n[[ x ]] {{ x }}\n  {% endif %}\nz"}, vars={"x": 5}),
    case("template-header", "template", {"src": D + "/t.j2", "dest": D + "/out",
                                         "trim_blocks": False},
         {"t.j2": "#jinja2: trim_blocks: True\n{% if 1 %}\nyes\n{% endif %}\n"}),
    case("template-encoding-backup", "template", {"src": D + "/t.j2", "dest": D + "/out",
                                                  "output_encoding": "latin-1", "backup": True},
         {"t.j2": "caf\u00e9 {{ x }}\n", "out": "old"}, vars={"x": "\u00e9"}),
    case("template-preserve-validate", "template", {"src": D + "/t.j2", "dest": D + "/o.cfg",
                                                    "mode": "preserve",
                                                    "validate": "grep -q ok %s"},
         {"t.j2": {"content": "ok\n", "mode": 0o711}}),
    case("template-state", "template", {"src": D + "/t.j2", "dest": D + "/o", "state": "file"},
         {"t.j2": ""}),
    case("template-no-dest", "template", {"src": D + "/t.j2"}, {"t.j2": ""}),
    case("template-check", "template", {"src": D + "/t.j2", "dest": D + "/o"},
         {"t.j2": "new\n", "o": "old\n"}, check=True),
    # lineinfile
    case("lineinfile-append", "lineinfile", {"path": D + "/f", "line": "c = 3"},
         {"f": "a = 1\nb = 2\n"}),
    case("lineinfile-append-no-eol", "lineinfile", {"path": D + "/f", "line": "c = 3"},
         {"f": "a = 1\nb = 2"}),
    case("lineinfile-present-already", "lineinfile", {"path": D + "/f", "line": "b = 2"},
         {"f": "a = 1\nb = 2\n"}),
    case("lineinfile-regexp-replace-last", "lineinfile", {"path": D + "/f", "regexp": "^b",
                                                          "line": "b = 9"},
         {"f": "b = 1\nx\nb = 2\n"}),
    case("lineinfile-regexp-firstmatch", "lineinfile", {"path": D + "/f", "regexp": "^b",
                                                        "line": "b = 9", "firstmatch": True},
         {"f": "b = 1\nx\nb = 2\n"}),
    case("lineinfile-backrefs", "lineinfile", {"path": D + "/f", "regexp": r"^(\w+) = (\d+)$",
                                               "line": r"\2 = \1", "backrefs": True},
         {"f": "a = 1\nkey = 42\n"}),
    case("lineinfile-backrefs-nomatch", "lineinfile", {"path": D + "/f", "regexp": "^zz(.*)",
                                                       "line": r"\1", "backrefs": True},
         {"f": "a\n"}),
    case("lineinfile-insertafter", "lineinfile", {"path": D + "/f", "line": "new",
                                                  "insertafter": "^\\[main\\]"},
         {"f": "[main]\nx\n[other]\ny\n"}),
    case("lineinfile-insertafter-last", "lineinfile", {"path": D + "/f", "line": "new",
                                                       "insertafter": "^x"},
         {"f": "x1\ny\nx2\nz\n"}),
    case("lineinfile-insertafter-firstmatch", "lineinfile", {"path": D + "/f", "line": "new",
                                                             "insertafter": "^x",
                                                             "firstmatch": True},
         {"f": "x1\ny\nx2\nz\n"}),
    case("lineinfile-insertafter-nomatch", "lineinfile", {"path": D + "/f", "line": "new",
                                                          "insertafter": "^nothing"},
         {"f": "a\n"}),
    case("lineinfile-insertbefore", "lineinfile", {"path": D + "/f", "line": "new",
                                                   "insertbefore": "^y"},
         {"f": "x\ny\nz\ny\n"}),
    case("lineinfile-insertbefore-bof", "lineinfile", {"path": D + "/f", "line": "#!/bin/sh",
                                                       "insertbefore": "BOF"}, {"f": "echo\n"}),
    case("lineinfile-insertafter-bof", "lineinfile", {"path": D + "/f", "line": "top",
                                                      "insertafter": "BOF"}, {"f": "a\n"}),
    case("lineinfile-exact-before-anchor", "lineinfile", {"path": D + "/f", "line": "new",
                                                          "insertafter": "^x"},
         {"f": "x\nnew\n"}),
    case("lineinfile-exact-elsewhere", "lineinfile", {"path": D + "/f", "line": "new",
                                                      "insertafter": "^x"},
         {"f": "new\nx\ny\n"}),
    case("lineinfile-search-string", "lineinfile", {"path": D + "/f", "line": "a.b = 2",
                                                    "search_string": "a.b"},
         {"f": "a.b = 1\naxb = 1\n"}),
    case("lineinfile-create", "lineinfile", {"path": D + "/n/f", "line": "x", "create": True,
                                             "mode": "0600"}),
    case("lineinfile-missing", "lineinfile", {"path": D + "/f", "line": "x"}),
    case("lineinfile-directory", "lineinfile", {"path": D, "line": "x"}),
    case("lineinfile-absent-regexp", "lineinfile", {"path": D + "/f", "regexp": "^#",
                                                    "state": "absent", "backup": True},
         {"f": "#a\nb\n#c\n"}),
    case("lineinfile-absent-line", "lineinfile", {"dest": D + "/f", "line": "b",
                                                  "state": "absent"}, {"f": "a\nb\nb \n"}),
    case("lineinfile-absent-none", "lineinfile", {"path": D + "/f", "state": "absent"},
         {"f": "a\n"}),
    case("lineinfile-absent-nofile", "lineinfile", {"path": D + "/f", "line": "a",
                                                    "state": "absent"}),
    case("lineinfile-attrs-only", "lineinfile", {"path": D + "/f", "line": "a",
                                                 "mode": "0600"}, {"f": "a\n"}),
    case("lineinfile-attrs-and-line", "lineinfile", {"path": D + "/f", "line": "b",
                                                     "mode": "0600"}, {"f": "a\n"}),
    case("lineinfile-validate-fail", "lineinfile", {"path": D + "/f", "line": "b",
                                                    "validate": "grep -q zzz %s"},
         {"f": "a\n"}, keys=("changed", "failed")),
    case("lineinfile-check", "lineinfile", {"path": D + "/f", "line": "b"}, {"f": "a\n"},
         check=True),
    case("lineinfile-check-create", "lineinfile", {"path": D + "/f", "line": "b",
                                                   "create": True}, check=True),
    case("lineinfile-symlink", "lineinfile", {"path": D + "/l", "line": "b"},
         {"f": "a\n", "l": ("link", "f")}),
    case("lineinfile-exclusive", "lineinfile", {"path": D + "/f", "line": "b",
                                                "insertafter": "a", "insertbefore": "c"},
         {"f": "a\n"}),
    case("lineinfile-backrefs-no-regexp", "lineinfile", {"path": D + "/f", "line": "b",
                                                         "backrefs": True}, {"f": "a\n"}),
    # blockinfile
    case("blockinfile-append", "blockinfile", {"path": D + "/f", "block": "x\ny"},
         {"f": "a\n"}),
    case("blockinfile-update", "blockinfile", {"path": D + "/f", "block": "z"},
         {"f": "a\n# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\nb\n"}),
    case("blockinfile-same", "blockinfile", {"path": D + "/f", "block": "x\n"},
         {"f": "a\n# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n"}),
    case("blockinfile-remove", "blockinfile", {"path": D + "/f", "state": "absent"},
         {"f": "a\n# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\nb\n"}),
    case("blockinfile-empty-block-removes", "blockinfile", {"path": D + "/f", "block": ""},
         {"f": "# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n"}),
    case("blockinfile-markers", "blockinfile", {"path": D + "/f", "block": "k=v",
                                                "marker": "<!-- {mark} ours -->",
                                                "marker_begin": "start", "marker_end": "stop",
                                                "insertbefore": "BOF"}, {"f": "a\n"}),
    case("blockinfile-insertafter", "blockinfile", {"path": D + "/f", "block": "k",
                                                    "insertafter": "^x",
                                                    "prepend_newline": True,
                                                    "append_newline": True},
         {"f": "x\ny\nx\nz"}),
    case("blockinfile-insertbefore", "blockinfile", {"path": D + "/f", "content": "k",
                                                     "insertbefore": "^y"},
         {"f": "x\ny\ny\n"}),
    case("blockinfile-insert-multiline", "blockinfile", {"path": D + "/f", "block": "k",
                                                         "insertafter": "(?m)^b\\nc"},
         {"f": "a\nb\nc\nd\n"}),
    case("blockinfile-no-eol", "blockinfile", {"path": D + "/f", "block": "k"}, {"f": "a"}),
    case("blockinfile-create", "blockinfile", {"path": D + "/n/f", "block": "k",
                                               "create": True, "backup": True}),
    case("blockinfile-missing", "blockinfile", {"path": D + "/f", "block": "k"}),
    case("blockinfile-absent-missing", "blockinfile", {"path": D + "/f", "state": "absent",
                                                       "create": True}),
    case("blockinfile-backup", "blockinfile", {"path": D + "/f", "block": "k",
                                               "backup": True}, {"f": "a\n"}),
    case("blockinfile-check", "blockinfile", {"path": D + "/f", "block": "k"}, {"f": "a\n"},
         check=True),
    # replace
    case("replace-basic", "replace", {"path": D + "/f", "regexp": r"^(\w+)=old$",
                                      "replace": r"\1=new"}, {"f": "a=old\nb=old\nc=x\n"}),
    case("replace-none", "replace", {"path": D + "/f", "regexp": "zzz", "replace": "y"},
         {"f": "a\n"}),
    case("replace-same", "replace", {"path": D + "/f", "regexp": "a", "replace": "a"},
         {"f": "a\n"}),
    case("replace-after-before", "replace", {"path": D + "/f", "regexp": "x",
                                             "replace": "y", "after": "start",
                                             "before": "stop"},
         {"f": "x start x x stop x\n"}),
    case("replace-after-nomatch", "replace", {"path": D + "/f", "regexp": "x",
                                              "after": "nothing"}, {"f": "x\n"}),
    case("replace-delete-lines", "replace", {"path": D + "/f", "regexp": "^#.*\\n",
                                             "backup": True}, {"f": "#a\nb\n#c\n"}),
    case("replace-bad-group", "replace", {"path": D + "/f", "regexp": "a",
                                          "replace": r"\2"}, {"f": "a\n"}),
    case("replace-missing", "replace", {"path": D + "/f", "regexp": "a"}),
    case("replace-encoding", "replace", {"path": D + "/f", "regexp": "caf\u00e9",
                                         "replace": "tea", "encoding": "latin-1"},
         {"f": "caf\u00e9\n".encode("latin-1")}),
    case("replace-attrs", "replace", {"path": D + "/f", "regexp": "zzz", "mode": "0600"},
         {"f": "a\n"}),
    case("replace-check", "replace", {"path": D + "/f", "regexp": "a", "replace": "b"},
         {"f": "a\n"}, check=True),
    # stat, slurp, find, tempfile, wait_for
    case("stat-file", "stat", {"path": D + "/f", "checksum_algorithm": "sha256"},
         {"f": {"content": "hello\n", "mode": 0o4750}}),
    case("stat-dir", "stat", {"path": D + "/d", "get_mime": False}, {"d": DIR}),
    case("stat-link", "stat", {"path": D + "/l"}, {"f": "x", "l": ("link", "f")}),
    case("stat-link-follow", "stat", {"path": D + "/l", "follow": True, "get_attributes": False},
         {"f": "x", "l": ("link", "f")}),
    case("stat-missing", "stat", {"path": D + "/nope"}),
    case("stat-bad-algorithm", "stat", {"path": D, "checksum_algorithm": "crc"}),
    case("slurp-file", "slurp", {"src": D + "/f"}, {"f": b"\x00\xffbin"}),
    case("slurp-missing", "slurp", {"path": D + "/nope"}),
    case("slurp-dir", "slurp", {"src": D}),
    case("find-default", "find", {"paths": D}, {"a.txt": "1", "b.log": "22", ".h": "",
                                                "d/c.txt": "3", "l": ("link", "a.txt")}),
    case("find-patterns-recurse", "find", {"paths": [D], "patterns": ["*.txt", "*.log"],
                                           "excludes": "b*", "recurse": True, "hidden": True},
         {"a.txt": "1", "b.log": "22", ".h.txt": "", "d/c.txt": "3", "d/e/f.txt": "4"}),
    case("find-regex-any-depth", "find", {"paths": D, "patterns": "^[a-c]", "use_regex": True,
                                          "file_type": "any", "recurse": True, "depth": 1},
         {"a": "1", "b": DIR, "b/c": "2", "z": "3"}),
    case("find-size-contains", "find", {"paths": D, "size": "2", "contains": "^k=",
                                        "get_checksum": True},
         {"a": "k=1\n", "b": "x\nk=2\n", "c": "k", "e": "zz"}),
    case("find-dirs-links-mode", "find", {"paths": D, "file_type": "directory",
                                          "mode": "0700"},
         {"a": {"dir": True, "mode": 0o700}, "b": DIR, "l": ("link", "a")}),
    case("find-links", "find", {"paths": D, "file_type": "link"},
         {"a": "1", "l": ("link", "a")}),
    case("find-age-limit", "find", {"paths": D, "age": "-1d", "limit": 1}, {"a": "1"}),
    case("find-not-a-dir", "find", {"paths": [D + "/a", D + "/nope"]}, {"a": "1"}),
    case("find-bad-age", "find", {"paths": D, "age": "yesterday"}),
    case("tempfile-file", "tempfile", {"path": D, "prefix": "tmp.", "suffix": ".x"},
         keys=("changed", "failed", "mode", "state", "owner", "size")),
    case("tempfile-dir", "tempfile", {"path": D, "state": "directory", "prefix": "tmp."},
         keys=("changed", "failed", "mode", "state", "owner")),
    case("tempfile-bad-prefix", "tempfile", {"path": D, "prefix": "a/b"}),
    case("wait_for-path", "wait_for", {"path": D + "/f", "search_regex": "(?P<k>k)=(\\d)",
                                       "timeout": 2},
         {"f": "x\nk=4\n"}),
    case("wait_for-absent", "wait_for", {"path": D + "/f", "state": "absent", "timeout": 2}),
    case("wait_for-timeout", "wait_for", {"path": D + "/f", "timeout": 1, "sleep": 1,
                                          "msg": "no f"}),
    case("wait_for-port-and-path", "wait_for", {"path": D + "/f", "port": 22}),
    case("wait_for-closed-port", "wait_for", {"port": 1, "state": "stopped", "timeout": 2}),
    # user and group, in check mode only: this machine's accounts must not change
    case("user-modify-check", "user", {"name": "daemon", "shell": "/bin/sh", "comment": "d"},
         check=True),
    case("user-same-check", "user", {"name": "daemon", "home": "/usr/sbin"}, check=True),
    case("user-create-check", "user", {"name": "tm-no-such-user", "groups": "daemon"},
         check=True),
    case("user-absent-missing", "user", {"name": "tm-no-such-user", "state": "absent"}),
    case("user-remove-check", "user", {"name": "daemon", "state": "absent"}, check=True),
    case("group-same", "group", {"name": "daemon", "gid": 1}),
    case("group-gid-check", "group", {"name": "daemon", "gid": 4242}, check=True),
    case("group-create-check", "group", {"name": "tm-no-such-group"}, check=True),
    case("group-absent-missing", "group", {"name": "tm-no-such-group", "state": "absent"}),
    case("group-non-unique-needs-gid", "group", {"name": "daemon", "non_unique": True}),
]


def run_ansible(cases, root):
    """Start ansible-playbook on cases, each in root/<id>; return the process and its record."""
    tasks = []
    for param in cases:
        spec = param.values[0]
        case_dir = root / param.id
        make_tree(case_dir, spec["tree"])
        args = json.loads(json.dumps(spec["args"]).replace(D, str(case_dir)))
        task = {"name": param.id, "ignore_errors": True, "check_mode": spec["check"],
                "vars": spec["vars"]}
        raw = args.pop("_raw_params", None)
        task["ansible.builtin." + spec["module"]] = raw if raw is not None else args
        if raw is not None and args:
            task["args"] = args
        tasks.append(task)
    playbook = root / "playbook.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False,
                                     "tasks": tasks}]))
    (root / "callbacks").mkdir()
    (root / "callbacks" / "record.py").write_text(RECORD_CALLBACK)
    record = root / "record.json"
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_STDOUT_CALLBACK="record",
               ANSIBLE_CALLBACK_PLUGINS=str(root / "callbacks"), RECORD_FILE=str(record),
               ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_RETRY_FILES_ENABLED="0",
               ANSIBLE_PIPELINING="1")
    proc = subprocess.Popen(
        [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local", str(playbook),
         "-e", "ansible_python_interpreter=" + sys.executable],
        env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, record


@pytest.fixture(scope="session")
def ansible_runs(tmp_path_factory):
    """What ansible-core did for each case: {case id: {"result", "dir", "tree"}}.

    All cases run once per session, split into one playbook per CPU run in parallel.
    """
    started = []
    parts = max(2, os.cpu_count() or 2)
    for chunk in (CASES[index::parts] for index in range(parts)):
        if chunk:
            root = tmp_path_factory.mktemp("ansible")
            started.append((chunk, root) + run_ansible(chunk, root))
    runs = {}
    for chunk, root, proc, record in started:
        output = proc.communicate()[0]
        assert record.exists(), output
        results = json.loads(record.read_text())
        for param in chunk:
            case_dir = root / param.id
            runs[param.id] = {"result": results[param.id], "dir": str(case_dir),
                              "tree": snapshot(case_dir)}
    return runs


def normalise(value, case_dir):
    """Case paths become @D@; a symlink's size (its target's length) is left out."""
    if isinstance(value, str):
        return re.sub(BACKUP_SUFFIX, ".BACKUP~", value.replace(str(case_dir), D))
    if isinstance(value, (list, tuple)):
        items = [normalise(item, case_dir) for item in value]
        # find walks directories in their on-disk order, which differs between copies
        return sorted(items, key=lambda i: i["path"]) if items and all(
            isinstance(i, dict) and "path" in i for i in items) else items
    if isinstance(value, dict):
        link = value.get("state") == "link" or value.get("islnk")
        return {normalise(k, case_dir): normalise(v, case_dir) for k, v in value.items()
                if k not in ("atime", "ctime", "mtime", "inode", "dev", "version", "elapsed",
                             "invocation", "diff")
                and not (link and k == "size")}
    return value


@pytest.mark.parametrize("spec", CASES)
def test_port_matches_ansible(spec, request, ansible_runs, tmp_path):
    param = next(p for p in CASES if p.id == request.node.callspec.id)
    ran = ansible_runs[param.id]
    expected = normalise(ran["result"], ran["dir"])
    case_dir = tmp_path / "case"
    make_tree(case_dir, spec["tree"])
    args = json.loads(json.dumps(spec["args"]).replace(D, str(case_dir)))
    ctx = Context(check_mode=spec["check"], variables=spec["vars"])
    try:
        got = MODULES["ansible.builtin." + spec["module"]](args, ctx)
    except ModuleFailed as ex:
        got = ex.result
    got = normalise(dict(got), case_dir)
    got.setdefault("changed", False)
    expected.setdefault("changed", False)
    for key in spec["keys"]:
        assert (key in got) == (key in expected), \
            "%s: ansible %r, port %r" % (key, expected.get(key), got.get(key))
        assert got.get(key) == expected.get(key), key
    assert snapshot(case_dir) == ran["tree"]


# ---------------------------------------------------------------------------
# helpers shared with ansible-core: compared with its own implementation


SYMBOLIC_MODES = ["u+x", "u=rwx,g=rx,o=", "a-w", "+x", "=r", "g+s,o+t", "u+X", "go-rwx",
                  "u=rw,g=u,o=g", "o+rX", "a=rwx,u-s", "ug+rw", "-x", "u=rwxs,g=s"]


@pytest.mark.parametrize("symbolic", SYMBOLIC_MODES)
@pytest.mark.parametrize("st_mode", [0o100644, 0o100755, 0o040700, 0o104750])
def test_symbolic_modes_match_ansible(symbolic, st_mode):
    from ansible.module_utils.basic import AnsibleModule

    from migrator.runtime.modules.common import common_symbolic_mode

    class Stat:
        pass

    fake = Stat()
    fake.st_mode = st_mode
    assert common_symbolic_mode(st_mode, symbolic) == \
        AnsibleModule._symbolic_mode_to_octal(fake, symbolic)


@pytest.mark.parametrize("wanted,value", [
    ("bool", "yes"), ("bool", "Off"), ("bool", 1), ("bool", "maybe"), ("bool", [1]),
    ("int", "42"), ("int", 4.0), ("int", "4.5"), ("int", "x"), ("int", True),
    ("float", "1.5"), ("float", "x"), ("list", "a,b"), ("list", 3), ("list", {"a": 1}),
    ("str", 5), ("str", True), ("dict", "a=1, b='x y'"), ("dict", '{"a": [1]}'),
    ("dict", "nope"), ("path", "~/x"),
])
def test_type_conversions_match_ansible(wanted, value):
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    from migrator.runtime.modules.common import common_validate

    theirs = ArgumentSpecValidator({"x": {"type": wanted}}).validate({"x": value})
    try:
        ours = common_validate("m", {"x": value}, {"x": {"type": wanted}}, Context())
    except ModuleFailed as ex:
        assert theirs.errors.errors, ex
        # Ansible names the frozenset's booleans in a random order; compare the start
        assert ex.result["msg"].split("Valid booleans")[0] == \
            theirs.errors.msg.split("Valid booleans")[0]
    else:
        assert not theirs.errors.errors, theirs.errors.msg
        assert ours["x"] == theirs.validated_parameters["x"]


def test_validation_messages():
    spec = {"state": {"choices": ["a", "b"], "default": "a"}, "path": {"required": True},
            "x": {}, "y": {}}
    cases = [
        ({"path": "p", "state": "c"}, "value of state must be one of: a, b, got: c"),
        ({}, "missing required arguments: path"),
        ({"path": "p", "x": 1, "y": 2}, "parameters are mutually exclusive: x|y"),
        ({"path": "p", "z": 1}, "Unsupported parameters for (m) module: z. Supported "
                                "parameters include: path, state, x, y."),
        ({"path": "p", "state": "b"}, "state is b but all of the following are missing: x"),
    ]
    for params, msg in cases:
        with pytest.raises(ModuleFailed) as failed:
            from migrator.runtime.modules.common import common_validate
            common_validate("m", params, spec, Context(), mutually_exclusive=[["x", "y"]],
                            required_if=[["state", "b", ["x"]]])
        assert failed.value.result["msg"] == msg


def test_ports_survive_assembly_into_one_file():
    """The component concatenates the runtime files without their tm:strip lines:
    build_component's checks (no clashing top-level names, only node-side imports)
    pass, and every port still registers in the assembled file."""
    from migrator.runtime import SUPPORTED_MODULES, build_component
    namespace = {"__name__": "component"}
    exec(compile(build_component(check=True), "component", "exec"), namespace)
    assert set(namespace["MODULES"]) >= set(MODULES)
    assert set(SUPPORTED_MODULES()) >= set(namespace["MODULES"])
    ctx = namespace["ModuleContext"]()
    assert namespace["MODULES"]["ansible.builtin.command"]({"argv": ["true"]}, ctx)["rc"] == 0


# ---------------------------------------------------------------------------
# community.general.ini_file: not installed here, so hand-computed expectations


def ini(tmp_path, content, **params):
    path = tmp_path / "x.ini"
    if content is not None:
        path.write_text(content)
    try:
        result = MODULES["community.general.ini_file"](dict(params, path=str(path)), Context())
    except ModuleFailed as ex:
        return ex.result, None
    return result, path.read_text() if path.exists() else None


@pytest.mark.parametrize("content,params,changed,msg,after", [
    (None, dict(section="s", option="o", value="v"), True, "section and option added",
     "\n[s]\no = v\n"),
    ("[s]\no = v\n", dict(section="s", option="o", value="v"), False, "OK", "[s]\no = v\n"),
    ("[s]\no = old\n# c\n\n[t]\no = x\n", dict(section="s", option="o", value="new"), True,
     "option changed", "[s]\no = new\n# c\n\n[t]\no = x\n"),
    ("[s]\na = 1\n\n# trailing comment\n", dict(section="s", option="b", value="2",
                                                 no_extra_spaces=True), True, "option added",
     "[s]\na = 1\nb=2\n\n# trailing comment\n"),
    ("[s]\n;o = commented\n", dict(section="s", option="o", value="v"), True, "option changed",
     "[s]\no = v\n"),
    # a new option goes after the section's last line that is not blank or a comment
    ("[s]\n;o = commented\n", dict(section="s", option="o", value="v",
                                   modify_inactive_option=False), True, "option added",
     "[s]\no = v\n;o = commented\n"),
    # wanted values keep their lines; the rest reuse the first other lines, extras go
    ("[s]\no = 1\no = 2\no = 3\n", dict(section="s", option="o", values=["3", "4"]), True,
     "option changed", "[s]\no = 4\no = 3\n"),
    ("[s]\no = 1\no = 2\n", dict(section="s", option="o", value="2", state="absent",
                                 exclusive=False), True, "option changed", "[s]\no = 1\n"),
    ("[s]\no = 1\n[t]\np = 2\n", dict(section="s", state="absent"), True, "section removed",
     "[t]\np = 2\n"),
    ("[s]\n", dict(section="s", option="flag", allow_no_value=True), True, "option added",
     "[s]\nflag\n"),
    ("top = 1\n[s]\n", dict(option="top", value="2"), True, "option changed",
     "top = 2\n[s]\n"),
    ("[s]\no=v", dict(section="s", option="o", value="v", ignore_spaces=True), True, "OK",
     "[s]\no=v\n"),
    ("[s]\no=v\n", dict(section="s", option="o", value="v", ignore_spaces=True), False, "OK",
     "[s]\no=v\n"),
    ("[s]\n", dict(section="s", section_has_values=[{"option": "k", "value": "1"}],
                   option="o", value="v"), True, "section and option added",
     "[s]\n[s]\nk = 1\no = v\n"),
])
def test_ini_file(tmp_path, content, params, changed, msg, after):
    result, text = ini(tmp_path, content, **params)
    assert (result["changed"], result["msg"], text) == (changed, msg, after)


def test_ini_file_failures_and_attributes(tmp_path):
    result, _ = ini(tmp_path, None, section="s", option="o", value="v", create=False)
    assert result["msg"] == "Destination %s/x.ini does not exist!" % tmp_path
    result, _ = ini(tmp_path, "", section="s", option="o")
    assert result["msg"] == ("Parameter 'value(s)' must be defined if state=present and "
                             "allow_no_value=False.")
    result, _ = ini(tmp_path, "[s]\no = v\n", section="s", option="o", value="v", mode="0600",
                    backup=True)
    assert (result["changed"], result["mode"], result["state"]) == (True, "0600", "file")
    assert "backup_file" not in result  # nothing was rewritten
    result, text = ini(tmp_path, "[s]\n", section="s", option="o", value="v", backup=True)
    assert re.fullmatch(str(tmp_path) + "/x.ini" + BACKUP_SUFFIX, result["backup_file"])
    assert Path(result["backup_file"]).read_text() == "[s]\n"


# ---------------------------------------------------------------------------
# modules driving system tools: fake executables record the commands


FAKE_TOOL = '''#!{python}
import json, os, sys
state_file = os.environ["FAKE_STATE"]
state = json.load(open(state_file)) if os.path.exists(state_file) else {{}}
state.setdefault("calls", []).append([os.path.basename(sys.argv[0])] + sys.argv[1:])
{body}
json.dump(state, open(state_file, "w"))
'''


def fake_tools(tmp_path, state=None, **bodies):
    """Install fake commands; return (ctx, read_state) with the fakes first on PATH."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir(exist_ok=True)
    state_file = tmp_path / "fake-state.json"
    state_file.write_text(json.dumps(state or {}))
    for name, body in bodies.items():
        tool = bin_dir / name
        tool.write_text(FAKE_TOOL.format(python=sys.executable, body=textwrap.dedent(body)))
        tool.chmod(0o755)
    os.environ["FAKE_STATE"] = str(state_file)
    ctx = Context(environment={"PATH": str(bin_dir)})
    return ctx, lambda: json.loads(state_file.read_text())


@pytest.fixture(autouse=True)
def _no_fake_state_leak():
    yield
    os.environ.pop("FAKE_STATE", None)


SYSCTL = '''
args = [a for a in sys.argv[1:] if a != "-e"]
values = state.setdefault("values", {})
if args[0] == "-n":
    if args[1] not in values:
        print("sysctl: cannot stat /proc/sys/" + args[1], file=sys.stderr)
        json.dump(state, open(state_file, "w")); sys.exit(255)
    print(values[args[1]])
elif args[0] == "-w":
    key, value = args[1].split("=", 1)
    values[key] = value
elif args[0] == "-p":
    for line in open(args[1]):
        if "=" in line and not line.startswith("#"):
            key, value = line.strip().split("=", 1)
            values[key.strip()] = value.strip()
'''


def test_sysctl(tmp_path):
    ctx, state = fake_tools(tmp_path, {"values": {"net.ipv4.ip_forward": "0"}}, sysctl=SYSCTL)
    conf = tmp_path / "sysctl.conf"
    conf.write_text("# keep\nvm.swappiness = 10\nvm.swappiness=99\n")
    args = {"name": "net.ipv4.ip_forward", "value": True, "sysctl_file": str(conf)}
    sysctl_port = MODULES["ansible.posix.sysctl"]
    assert sysctl_port(args, ctx) == {"changed": True}
    assert conf.read_text() == "# keep\nvm.swappiness=10\nnet.ipv4.ip_forward=1\n"
    assert state()["values"]["net.ipv4.ip_forward"] == "1"
    assert state()["calls"][-1] == ["sysctl", "-p", str(conf)]
    assert sysctl_port(args, ctx) == {"changed": False}  # file and kernel agree
    # the kernel drifted: reload again; with sysctl_set, set it directly too
    ctx2, state = fake_tools(tmp_path, {"values": {"net.ipv4.ip_forward": "0"}}, sysctl=SYSCTL)
    assert sysctl_port(dict(args, sysctl_set=True, reload=False), ctx2) == {"changed": True}
    assert ["sysctl", "", "-w", "net.ipv4.ip_forward=1"] not in state()["calls"]
    assert ["sysctl", "-w", "net.ipv4.ip_forward=1"] in state()["calls"]
    assert sysctl_port(dict(args, state="absent"), ctx) == {"changed": True}
    assert conf.read_text() == "# keep\nvm.swappiness=10\n"
    with pytest.raises(ModuleFailed, match="state is present but all of the following are "
                                           "missing: value"):
        sysctl_port({"name": "x"}, ctx)


def test_sysctl_check_mode_changes_nothing(tmp_path):
    ctx, state = fake_tools(tmp_path, {"values": {"kernel.pid_max": "100"}}, sysctl=SYSCTL)
    ctx.check_mode = True
    conf = tmp_path / "sysctl.conf"
    assert MODULES["ansible.posix.sysctl"](
        {"name": "kernel.pid_max", "value": "200", "sysctl_file": str(conf)}, ctx) == {
        "changed": True}
    assert not conf.exists()
    assert [call[1:] for call in state()["calls"]] == [["-e", "-n", "kernel.pid_max"]]


DNF = '''
args = sys.argv[1:]
installed = state.setdefault("installed", [])
repo = state.get("repo", {})
verbs = [a for a in args if a in ("install", "upgrade", "remove", "makecache")]
names = args[args.index(verbs[0]) + 1:] if verbs else []
def name_of(nevra):
    return nevra.rsplit("-", 2)[0]
new = list(installed)
if verbs and verbs[0] == "install":
    for name in names:
        if name not in repo:
            print("Error: Unable to find a match: " + name, file=sys.stderr)
            json.dump(state, open(state_file, "w")); sys.exit(1)
        if not any(name_of(p) == name for p in new):
            new.append(repo[name])
elif verbs and verbs[0] == "upgrade":
    new = [repo.get(name_of(p), p) if (not names or name_of(p) in names) else p for p in new]
elif verbs and verbs[0] == "remove":
    new = [p for p in new if name_of(p) not in names]
if "--assumeno" in args:
    if new != installed:
        print("Operation aborted.")
        json.dump(state, open(state_file, "w")); sys.exit(1)
    print("Nothing to do.")
else:
    state["installed"] = new
'''

RPM = '''
import fnmatch
args = [a for a in sys.argv[1:]]
installed = state.get("installed", [])
if "--qf" in args:
    for nevra in installed:
        print(nevra)
elif "--whatprovides" in args:
    json.dump(state, open(state_file, "w")); sys.exit(1)
else:
    spec = args[-1]
    for nevra in installed:
        if fnmatch.fnmatch(nevra.rsplit("-", 2)[0], spec) or fnmatch.fnmatch(nevra, spec):
            print(nevra)
'''


def dnf_calls(state):
    return [call for call in state()["calls"] if call[0] == "dnf"]


def test_dnf_present_latest_absent(tmp_path):
    repo = {"vim": "vim-2:9.0-1.el9.x86_64", "git": "git-2.40-1.el9.x86_64"}
    ctx, state = fake_tools(tmp_path, {"installed": ["git-2.39-1.el9.x86_64"], "repo": repo},
                            dnf=DNF, rpm=RPM)
    dnf_port = MODULES["ansible.builtin.dnf"]
    result = dnf_port({"name": "vim,git", "state": "installed", "enablerepo": "epel",
                       "disable_gpg_check": True}, ctx)
    assert result == {"msg": "", "changed": True, "rc": 0,
                      "results": ["Installed: vim-2:9.0-1.el9.x86_64"]}
    assert dnf_calls(state)[-1] == ["dnf", "-y", "--nogpgcheck", "--enablerepo=epel", "install",
                                    "vim", "git"]
    assert dnf_port({"name": ["vim"]}, ctx) == {"msg": "Nothing to do", "changed": False,
                                               "results": [], "rc": 0}
    result = dnf_port({"name": "git", "state": "latest"}, ctx)
    assert result["results"] == ["Installed: git-2.40-1.el9.x86_64",
                                 "Removed: git-2.39-1.el9.x86_64"]
    assert [c[2:] for c in dnf_calls(state)[-2:]] == [["install", "git"], ["upgrade", "git"]]
    result = MODULES["ansible.builtin.package"]({"name": ["vim", "nano"], "state": "absent",
                                                 "use": "auto"}, ctx)
    assert result["results"] == ["Removed: vim-2:9.0-1.el9.x86_64"]
    assert dnf_calls(state)[-1] == ["dnf", "-y", "remove", "vim"]  # nano is not installed
    assert dnf_port({"name": "nano", "state": "removed"}, ctx)["msg"] == "Nothing to do"


def test_dnf_check_mode_and_failures(tmp_path):
    ctx, state = fake_tools(tmp_path, {"repo": {"vim": "vim-9.0-1.x86_64"}}, dnf=DNF, rpm=RPM)
    ctx.check_mode = True
    dnf_port = MODULES["ansible.builtin.yum"]
    assert dnf_port({"name": "vim"}, ctx) == {
        "msg": "Check mode: No changes made, but would have if not in check mode",
        "changed": True, "results": [], "rc": 0}
    assert state().get("installed", []) == []
    ctx.check_mode = False
    with pytest.raises(ModuleFailed) as failed:
        dnf_port({"name": "nope"}, ctx)
    assert failed.value.result["msg"] == "Failed to install some of the specified packages"
    assert failed.value.result["failures"] == ["Error: Unable to find a match: nope"]
    with pytest.raises(ModuleFailed, match="download_only is not supported"):
        dnf_port({"name": "vim", "download_only": True}, ctx)
    with pytest.raises(ModuleFailed, match="space separated string of packages"):
        dnf_port({"name": "vim git"}, ctx)
    # name defaults to [], which satisfies required_one_of: an empty transaction
    assert dnf_port({"state": "latest"}, ctx)["msg"] == "Nothing to do"
    ctx.environment["PATH"] = str(tmp_path / "empty")
    with pytest.raises(ModuleFailed, match="Could not find the dnf command"):
        dnf_port({"name": "vim"}, ctx)


SYSTEMCTL = '''
args = [a for a in sys.argv[1:] if not a.startswith("--")]
units = state.setdefault("units", {})
verb, unit = args[0], (args[1] if len(args) > 1 else None)
info = units.get(unit)
rc = 0
if verb == "show":
    if info is None:
        print("LoadState=not-found\\nActiveState=inactive")
    else:
        print("Id=%s\\nLoadState=%s\\nActiveState=%s\\nExecStart={ path=/bin/x ;\\n argv=x }"
              % (unit, info.get("load", "loaded"), info["active"]))
elif verb == "is-enabled":
    print(info["enabled"] if info else "")
    rc = 0 if info and info["enabled"] in ("enabled", "static", "alias") else 1
elif verb in ("start", "restart", "reload"):
    info["active"] = "active"
elif verb == "stop":
    info["active"] = "inactive"
elif verb in ("enable", "disable"):
    info["enabled"] = verb + "d"
elif verb in ("mask", "unmask"):
    info["enabled"] = "masked" if verb == "mask" else "disabled"
json.dump(state, open(state_file, "w"))
sys.exit(rc)
'''


def systemctl_changes(state):
    """The calls that change something (systemctl queries left out)."""
    return [call[1:] for call in state()["calls"]
            if call[1] not in ("show", "is-enabled", "list-unit-files", "is-active")]


def test_systemd_states(tmp_path):
    units = {"foo.service": {"active": "inactive", "enabled": "disabled"},
             "bar.service": {"active": "active", "enabled": "enabled"}}
    ctx, state = fake_tools(tmp_path, {"units": units}, systemctl=SYSTEMCTL)
    systemd_port = MODULES["ansible.builtin.systemd"]
    result = systemd_port({"name": "foo.service", "state": "started", "enabled": True,
                           "daemon_reload": True}, ctx)
    assert (result["changed"], result["state"], result["enabled"]) == (True, "started", True)
    assert result["status"]["ExecStart"] == "{ path=/bin/x ;\n argv=x }"
    assert systemctl_changes(state) == [["daemon-reload"], ["enable", "foo.service"],
                                        ["start", "foo.service"]]
    assert systemd_port({"name": "foo.service", "state": "started", "enabled": True},
                        ctx)["changed"] is False
    result = systemd_port({"unit": "bar.service", "state": "reloaded"}, ctx)
    assert (result["changed"], result["state"]) == (True, "started")
    assert systemctl_changes(state)[-1] == ["reload", "bar.service"]
    result = systemd_port({"name": "bar.service", "state": "stopped", "masked": True,
                           "scope": "user", "no_block": True}, ctx)
    assert result["changed"] is True
    assert [c for c in state()["calls"] if "stop" in c or "mask" in c] == [
        ["systemctl", "--user", "--no-block", "mask", "bar.service"],
        ["systemctl", "--user", "--no-block", "stop", "bar.service"]]


def test_systemd_check_mode_and_errors(tmp_path):
    ctx, state = fake_tools(tmp_path, {"units": {"foo.service": {"active": "inactive",
                                                                 "enabled": "disabled"}}},
                            systemctl=SYSTEMCTL)
    ctx.check_mode = True
    systemd_port = MODULES["ansible.builtin.systemd_service"]
    assert systemd_port({"name": "foo.service", "state": "restarted"}, ctx)["changed"] is True
    assert systemctl_changes(state) == []
    ctx.check_mode = False
    for params, msg in [
        ({"name": "foo*", "state": "started"},
         "This module does not currently support using glob patterns, found '*' in service "
         "name: foo*"),
        ({"name": "nope.service", "state": "started"},
         "Could not find the requested service nope.service: host"),
        ({"state": "started"}, "missing parameter(s) required by 'state': name"),
        ({"name": "foo", "state": "started", "bogus": 1},
         "Unsupported parameters for (ansible.builtin.systemd_service) module: bogus. "
         "Supported parameters include: daemon_reexec, daemon_reload, enabled, force, masked, "
         "name, no_block, scope, state (daemon-reexec, daemon-reload, service, unit)."),
    ]:
        with pytest.raises(ModuleFailed) as failed:
            systemd_port(params, ctx)
        assert failed.value.result["msg"] == msg
    # daemon_reload's default (False) satisfies required_one_of, as in Ansible: a status query
    result = systemd_port({"name": "foo.service"}, ctx)
    assert (result["changed"], result["status"]["ActiveState"]) == (False, "inactive")


def test_service_runs_systemd(tmp_path):
    ctx, state = fake_tools(tmp_path, {"units": {"foo": {"active": "active",
                                                         "enabled": "enabled"}}},
                            systemctl=SYSTEMCTL)
    result = MODULES["ansible.builtin.service"]({"name": "foo", "state": "restarted",
                                                "use": "auto", "pattern": "foo"}, ctx)
    assert (result["changed"], result["state"]) == (True, "started")
    assert systemctl_changes(state) == [["restart", "foo"]]
    assert ctx.warnings == ['Ignoring "pattern" as it is not used in "systemd"']
    with pytest.raises(ModuleFailed, match="use=sysvinit is not supported"):
        MODULES["ansible.builtin.service"]({"name": "foo", "state": "started",
                                            "use": "sysvinit"}, ctx)


ACCOUNT_TOOL = '''
if sys.argv[1:] == ["--help"]:
    print("  -a, --append                  append the user to the supplemental GROUPS")
'''


def account_ctx(tmp_path):
    tools = {name: ACCOUNT_TOOL for name in ("useradd", "usermod", "userdel", "chage",
                                              "groupadd", "groupmod", "groupdel")}
    return fake_tools(tmp_path, **tools)


def test_user_commands(tmp_path):
    """Commands built for this machine's accounts; the fakes leave them untouched."""
    ctx, state = account_ctx(tmp_path)
    user_port = MODULES["ansible.builtin.user"]
    user_port({"name": "tm-new-user", "uid": 2001, "group": "daemon", "groups": ["bin", "adm"],
               "comment": "Test", "shell": "/bin/bash", "system": True,
               "password": "$6$salt$" + "x" * 86, "create_home": False}, ctx)
    useradd = state()["calls"][-1]
    assert useradd[:6] == ["useradd", "-u", "2001", "-g", "daemon", "-G"]
    assert sorted(useradd[6].split(",")) == ["adm", "bin"]
    assert useradd[7:] == ["-c", "Test", "-s", "/bin/bash", "-p", "$6$salt$" + "x" * 86, "-M",
                           "-r", "tm-new-user"]
    result = user_port({"name": "daemon", "shell": "/bin/sh", "groups": "adm", "append": True,
                        "password_expire_max": 90}, ctx)
    assert result["changed"] is True
    assert state()["calls"][-3:] == [
        ["usermod", "--help"], ["usermod", "-a", "-G", "adm", "-s", "/bin/sh", "daemon"],
        ["chage", "-M", "90", "daemon"]]
    user_port({"name": "daemon", "state": "absent", "remove": True, "force": True}, ctx)
    assert state()["calls"][-1] == ["userdel", "-f", "-r", "daemon"]
    with pytest.raises(ModuleFailed, match="Group nope-group does not exist"):
        user_port({"name": "tm-new-user", "group": "nope-group"}, ctx)
    with pytest.raises(ModuleFailed, match="generate_ssh_key is not supported"):
        user_port({"name": "daemon", "generate_ssh_key": True}, ctx)


def test_group_commands(tmp_path):
    ctx, state = account_ctx(tmp_path)
    group_port = MODULES["ansible.builtin.group"]
    assert group_port({"name": "tm-new-group", "gid": 3001, "system": True}, ctx) == {
        "name": "tm-new-group", "state": "present", "changed": True}
    assert state()["calls"][-1] == ["groupadd", "-g", "3001", "-r", "tm-new-group"]
    result = group_port({"name": "daemon", "gid": 3002, "non_unique": True}, ctx)
    assert (result["changed"], result["gid"]) == (True, 1)  # the fake changed nothing
    assert state()["calls"][-1] == ["groupmod", "-g", "3002", "-o", "daemon"]
    group_port({"name": "daemon", "state": "absent", "force": True}, ctx)
    assert state()["calls"][-1] == ["groupdel", "-f", "daemon"]
