"""The network, archive, cron, SSH-key, mount, SELinux, Open vSwitch and podman ports.

Like tests/test_runtime_modules.py, most cases are data run twice on identical
inputs: once by the real module through ansible-playbook (-c local, every case
once per session, in parallel chunks; see `real_runs`) and once by the port,
each on its own copy of the case's tree; results and trees must agree.

- ansible.builtin get_url, uri, unarchive, wait_for_connection and cron run
  with ansible-core. get_url, uri and unarchive (URL sources) talk to an
  http.server started by the tests on 127.0.0.1; the archives are made here.
- ansible.posix authorized_key and mount, openvswitch.openvswitch
  openvswitch_db and containers.podman podman_image / podman_container_info
  run with the real collections, from the `ansible` community package that
  tests/support/corpus.py installs once into the cache directory.
- Commands are either real programs or fakes shared by both sides: a fake
  records every call (with its arguments) into the case's tree, so the trees
  compare the command lines too. Which is which is said at each group.
- seboolean and sefcontext cannot run for real here (the modules need the
  libselinux/libsemanage Python bindings and an SELinux kernel): they are
  tested against hand-computed expectations with fake getsebool, setsebool,
  selinuxenabled and semanage programs.
"""

import base64
import gzip
import hashlib
import http.server
import io
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import textwrap
import threading
import time
import zipfile
from pathlib import Path

import pytest
from test_runtime_modules import ANSIBLE_PLAYBOOK, BACKUP_SUFFIX, D, DIR, RECORD_CALLBACK, \
    Context, make_tree

from migrator.runtime.api import MODULES, ModuleFailed
from migrator.runtime.modules import (  # noqa: F401  (importing registers the ports)
    authorized_key, cron, get_url, mount, openvswitch_db, podman_container_info, podman_image,
    seboolean, sefcontext, unarchive, uri, wait_for_connection)

# Its real side runs every case once per session (a session fixture): on one xdist worker only
pytestmark = pytest.mark.xdist_group("runtime_ports")

URL = "@URL@"  # the test server's http://127.0.0.1:PORT in arguments
FAKES = "@FAKES@"  # the directory of fake programs shared by both sides
OLD = 1577880000  # 2020-01-01T12:00:00Z: the archives' and the server's time stamps
IGNORED = frozenset(("invocation", "elapsed", "date", "src", "warnings", "deprecations",
                     "exception", "server", "diff", "module_stdout", "module_stderr",
                     "ansible_facts", "_ansible_no_log", "_ansible_verbose_always",
                     "_ansible_verbose_override", "stdout_lines", "stderr_lines"))


# ---------------------------------------------------------------------------
# archives made here, byte for byte the same for both sides


def _tar_bytes(compress=True):
    out = io.BytesIO()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as archive:
        def add(name, kind, mode, data=b"", target=None, owner=("root", 0)):
            info = tarfile.TarInfo(name)
            info.mtime, info.mode, info.uname, info.uid = OLD, mode, owner[0], owner[1]
            info.gname, info.gid = "root", 0
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            elif kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, target
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        add("top", "dir", 0o755)
        add("top/a.txt", "file", 0o644, b"alpha\n")
        add("top/sub", "dir", 0o750)
        add("top/sub/b.sh", "file", 0o755, b"echo b\n", owner=("daemon", 1))
        add("top/l", "link", 0o777, target="a.txt")
    if not compress:
        return raw.getvalue()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as stream:
        stream.write(raw.getvalue())
    return out.getvalue()


def _zip_bytes():
    out = io.BytesIO()
    stamp = time.localtime(OLD)[:6]
    with zipfile.ZipFile(out, "w") as archive:
        def add(name, mode, data=b""):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.create_system = 3
            info.external_attr = mode << 16
            archive.writestr(info, data)
        add("top/", 0o40755)
        add("top/a.txt", 0o100644, b"alpha\n")
        add("top/sub/", 0o40750)
        add("top/sub/b.sh", 0o100755, b"echo b\n")
    return out.getvalue()


TGZ, TAR, ZIP = _tar_bytes(), _tar_bytes(compress=False), _zip_bytes()


# ---------------------------------------------------------------------------
# the HTTP server


TEXT = b"hello world\n"
SERVED = {"/text.txt": TEXT, "/other.txt": b"other\n", "/arc.tar.gz": TGZ, "/arc.zip": ZIP,
          "/sha256sums": ("%s  text.txt\n%s  other.txt\n" % (
              hashlib.sha256(TEXT).hexdigest(), hashlib.sha256(b"other\n").hexdigest())).encode()}


class Handler(http.server.BaseHTTPRequestHandler):
    """Fixed answers; /echo sends back what it was asked, as JSON."""

    def log_message(self, *args):
        pass

    def _send(self, code, body=b"", headers=()):
        self.send_response(code)
        for name, value in headers:
            self.send_header(name, value)
        if code not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and code not in (204, 304):
            self.wfile.write(body)

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?")[0]
        parts = path.strip("/").split("/")
        last_modified = self.date_time_string(OLD)
        if path in SERVED:
            since = self.headers.get("If-Modified-Since")
            if since and http.server.email.utils.parsedate_to_datetime(since).timestamp() >= OLD:
                return self._send(304)
            kind = "text/plain" if path.endswith(".txt") else "application/octet-stream"
            return self._send(200, SERVED[path], [("Content-Type", kind),
                                                  ("Last-Modified", last_modified)])
        if parts[0] == "status":
            return self._send(int(parts[1]), b"status %s\n" % parts[1].encode(),
                              [("Content-Type", "text/plain; charset=utf-8")])
        if parts[0] == "redirect":  # /redirect/CODE/where/to
            return self._send(int(parts[1]), b"", [("Location", "/" + "/".join(parts[2:]))])
        if parts[0] == "json":
            return self._send(200, b'{"a": [1, 2], "b": "c"}',
                              [("Content-Type", "application/json")])
        if parts[0] == "echo":
            seen = {"method": self.command, "body": body.decode("latin-1"),
                    "type": self.headers.get("Content-Type"),
                    "auth": self.headers.get("Authorization"),
                    "agent": self.headers.get("User-Agent"),
                    "x": self.headers.get("X-Test")}
            return self._send(int(parts[1]) if len(parts) > 1 else 200,
                              json.dumps(seen, sort_keys=True).encode(),
                              [("Content-Type", "application/json; charset=utf-8"),
                               ("Set-Cookie", "k=v; Path=/")])
        if parts[0] == "named":
            return self._send(200, b"named\n", [("Content-Disposition",
                                                 'attachment; filename="given.txt"')])
        if parts[0] == "gzip":
            return self._send(200, gzip.compress(b"zipped\n", mtime=0),
                              [("Content-Encoding", "gzip"), ("Content-Type", "text/plain")])
        return self._send(404, b"no\n", [("Content-Type", "text/plain")])

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = do_PATCH = _answer


@pytest.fixture(scope="session")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


# ---------------------------------------------------------------------------
# fake programs, shared by ansible-playbook and the ports

FAKE = '''#!{python}
import json, os, sys
state_file = os.environ["FAKE_STATE"]
state = json.load(open(state_file)) if os.path.exists(state_file) else {{}}
state.setdefault("calls", []).append([os.path.basename(sys.argv[0])] + sys.argv[1:])
rc = 0
{body}
json.dump(state, open(state_file, "w"), indent=1, sort_keys=True)
sys.exit(rc)
'''

FAKE_BODIES = {
    # a user's crontab kept in the state
    "crontab": '''
args = sys.argv[1:]
user = args[args.index("-u") + 1] if "-u" in args else "root"
tabs = state.setdefault("crontabs", {})
if args[-1] == "-l":
    if user in tabs:
        sys.stdout.write(tabs[user])
    else:
        sys.stderr.write("no crontab for %s\\n" % user); rc = 1
else:
    tabs[user] = open(args[-1]).read()
''',
    "mount": '''
rc = state.get("mount_rc", 0)
if rc:
    sys.stderr.write("mount: failed\\n")
''',
    "umount": "",
    # containers kept in the state: {name: inspect record}
    "podman": '''
args = sys.argv[1:]
containers = state.get("containers", {})
if args[:3] == ["container", "ls", "-q"]:
    print("\\n".join(c["Id"] for c in containers.values()))
elif args[:2] == ["container", "inspect"]:
    found = []
    for name in args[2:]:
        match = [c for key, c in containers.items() if name in (key, c["Id"])]
        if not match:
            sys.stderr.write("Error: no such container %s\\n" % name); rc = 125
        found += match
    if rc == 0:
        print(json.dumps(found, indent=4))
    else:
        print("[]")
''',
}


@pytest.fixture(scope="session")
def fakes(tmp_path_factory):
    directory = tmp_path_factory.mktemp("fakes")
    for name, body in FAKE_BODIES.items():
        tool = directory / name
        tool.write_text(FAKE.format(python=sys.executable, body=textwrap.dedent(body)))
        tool.chmod(0o755)
    return directory


# ---------------------------------------------------------------------------
# cases


def case(id, module, args, tree=None, check=False, fake=None, ignore=()):
    """args: a dict, or a list of dicts run one after the other on the same tree.

    fake: the fakes' initial state (the fakes come first on PATH and record their
    calls in the tree's fake.json); ignore: result keys not compared.
    """
    tree = dict(tree or {})
    if fake is not None:
        tree["fake.json"] = json.dumps(fake)
    return pytest.param(dict(module=module, steps=args if isinstance(args, list) else [args],
                             tree=tree, check=check, fake=fake is not None,
                             ignore=frozenset(ignore)), id=id)


GET_URL = "ansible.builtin.get_url"
GET_URL_CASES = [
    case("get_url-new", GET_URL, {"url": URL + "/text.txt", "dest": D + "/f.txt"}),
    case("get_url-again-not-modified", GET_URL, [{"url": URL + "/text.txt", "dest": D + "/f"}] * 2),
    case("get_url-exists-no-force", GET_URL, {"url": URL + "/text.txt", "dest": D + "/f"},
         {"f": "old\n"}),
    case("get_url-force-backup", GET_URL, {"url": URL + "/text.txt", "dest": D + "/f",
                                           "force": True, "backup": True}, {"f": "old\n"}),
    case("get_url-force-same", GET_URL, {"url": URL + "/text.txt", "dest": D + "/f",
                                         "force": True}, {"f": TEXT}),
    case("get_url-dest-dir", GET_URL, {"url": URL + "/other.txt", "dest": D + "/d"},
         {"d": DIR}),
    case("get_url-dest-dir-disposition", GET_URL, {"url": URL + "/named", "dest": D + "/d/"},
         {"d": DIR}),
    case("get_url-checksum-ok", GET_URL, {"url": URL + "/text.txt", "dest": D + "/f",
                                          "checksum": "sha256:" + hashlib.sha256(
                                              TEXT).hexdigest()}),
    case("get_url-checksum-exists", GET_URL, {"url": URL + "/status/500", "dest": D + "/f",
                                              "checksum": "sha1:" + hashlib.sha1(
                                                  TEXT).hexdigest(), "mode": "0600"},
         {"f": TEXT}),
    case("get_url-checksum-mismatch-refetch", GET_URL,
         {"url": URL + "/text.txt", "dest": D + "/f",
          "checksum": "md5:" + hashlib.md5(TEXT).hexdigest()}, {"f": "stale\n"}),
    case("get_url-checksum-bad", GET_URL, {"url": URL + "/text.txt", "dest": D + "/f",
                                           "checksum": "sha256:" + "0" * 64}),
    case("get_url-checksum-url", GET_URL, {"url": URL + "/other.txt", "dest": D + "/f",
                                           "checksum": "sha256:" + URL + "/sha256sums"}),
    case("get_url-checksum-format", GET_URL, {"url": URL + "/text.txt", "dest": D + "/f",
                                              "checksum": "nocolon"}),
    case("get_url-checksum-not-hex", GET_URL, {"url": URL + "/text.txt", "dest": D + "/f",
                                               "checksum": "sha256:xyz"}),
    case("get_url-404", GET_URL, {"url": URL + "/status/404", "dest": D + "/f"}),
    case("get_url-redirect", GET_URL, {"url": URL + "/redirect/302/other.txt",
                                       "dest": D + "/d"}, {"d": DIR}),
    case("get_url-attrs", GET_URL, {"url": URL + "/text.txt", "dest": D + "/f",
                                    "mode": "0640", "owner": "daemon", "group": "bin"}),
    case("get_url-gzip", GET_URL, {"url": URL + "/gzip", "dest": D + "/z"}),
    case("get_url-gzip-raw", GET_URL, {"url": URL + "/gzip", "dest": D + "/z",
                                       "decompress": False}),
    case("get_url-no-parent", GET_URL, {"url": URL + "/text.txt", "dest": D + "/no/f"}),
    case("get_url-tmp-dest-missing", GET_URL, {"url": URL + "/text.txt", "dest": D + "/f",
                                               "tmp_dest": D + "/nope"}),
    case("get_url-refused", GET_URL, {"url": "http://127.0.0.1:1/x", "dest": D + "/f"}),
    case("get_url-check-new", GET_URL, {"url": URL + "/text.txt", "dest": D + "/f"},
         check=True),
    case("get_url-check-same", GET_URL, {"url": URL + "/text.txt", "dest": D + "/f",
                                         "force": True}, {"f": TEXT}, check=True),
    case("get_url-missing-dest", GET_URL, {"url": URL + "/text.txt"}),
]

URI = "ansible.builtin.uri"
URI_CASES = [
    case("uri-get", URI, {"url": URL + "/text.txt"}),
    case("uri-return-content", URI, {"url": URL + "/text.txt", "return_content": True}),
    case("uri-json", URI, {"url": URL + "/json"}),
    case("uri-404", URI, {"url": URL + "/status/404"}),
    case("uri-404-return-content", URI, {"url": URL + "/status/404", "return_content": True}),
    case("uri-status-list", URI, {"url": URL + "/status/404", "status_code": [200, "404"]}),
    case("uri-status-string", URI, {"url": URL + "/status/201", "status_code": "200,201"}),
    case("uri-204", URI, {"url": URL + "/status/204", "method": "DELETE",
                          "status_code": 204}),
    case("uri-post-json", URI, {"url": URL + "/echo", "method": "POST", "body_format": "json",
                                "body": {"k": [1, "x"]}, "return_content": True}),
    case("uri-post-json-string", URI, {"url": URL + "/echo", "method": "PUT",
                                       "body_format": "json", "body": '{"a": 1}'}),
    case("uri-post-form", URI, {"url": URL + "/echo", "method": "POST",
                                "body_format": "form-urlencoded",
                                "body": {"a": "1 2", "b": ["x", "y"]}}),
    case("uri-post-raw-headers", URI, {"url": URL + "/echo/201", "method": "POST",
                                       "body": "raw text", "status_code": 201,
                                       "headers": {"X-Test": "yes",
                                                   "Content-Type": "text/plain"}}),
    case("uri-basic-auth", URI, {"url": URL + "/echo", "url_username": "u",
                                 "url_password": "s3cret-pw", "force_basic_auth": True}),
    case("uri-agent", URI, {"url": URL + "/echo", "http_agent": "tm"}),
    case("uri-redirect-safe", URI, {"url": URL + "/redirect/302/json"}),
    case("uri-redirect-none", URI, {"url": URL + "/redirect/302/json",
                                    "follow_redirects": "none"}),
    case("uri-redirect-none-ok", URI, {"url": URL + "/redirect/301/json",
                                       "follow_redirects": "none", "status_code": 301}),
    case("uri-redirect-post-safe", URI, {"url": URL + "/redirect/302/echo", "method": "POST",
                                         "body": "x"}),
    case("uri-redirect-post-all", URI, {"url": URL + "/redirect/302/echo", "method": "POST",
                                        "body": "x", "follow_redirects": "all",
                                        "return_content": True}),
    case("uri-redirect-307-all", URI, {"url": URL + "/redirect/307/echo", "method": "POST",
                                       "body": "x", "follow_redirects": "all"}),
    case("uri-head", URI, {"url": URL + "/text.txt", "method": "HEAD"}),
    case("uri-bad-method", URI, {"url": URL + "/text.txt", "method": "get it"}),
    case("uri-creates", URI, {"url": URL + "/status/500", "creates": D + "/f"}, {"f": ""}),
    case("uri-removes", URI, {"url": URL + "/status/500", "removes": D + "/f"}),
    case("uri-dest", URI, {"url": URL + "/text.txt", "dest": D + "/out", "mode": "0600"}),
    case("uri-dest-same", URI, {"url": URL + "/other.txt", "dest": D + "/out"},
         {"out": "x"}),
    case("uri-dest-dir", URI, {"url": URL + "/named", "dest": D + "/d"}, {"d": DIR}),
    case("uri-dest-404", URI, {"url": URL + "/status/404", "dest": D + "/out"}),
    case("uri-gzip", URI, {"url": URL + "/gzip", "return_content": True}),
    case("uri-refused", URI, {"url": "http://127.0.0.1:1/x"}),
    case("uri-body-and-src", URI, {"url": URL + "/echo", "body": "x", "src": D + "/f"},
         {"f": "y"}),
    case("uri-check", URI, {"url": URL + "/echo", "method": "POST"}, check=True),
    case("uri-unknown", URI, {"url": URL + "/echo", "bogus": 1}),
]

UNARCHIVE = "ansible.builtin.unarchive"
ARCHIVES = {"arc.tar.gz": TGZ, "arc.tar": TAR, "arc.zip": ZIP, "dest": DIR}
UNARCHIVE_CASES = [
    case("unarchive-tgz-remote", UNARCHIVE, [{"src": D + "/arc.tar.gz", "dest": D + "/dest",
                                              "remote_src": True}] * 2, ARCHIVES),
    case("unarchive-tar-remote", UNARCHIVE, {"src": D + "/arc.tar", "dest": D + "/dest",
                                             "remote_src": True, "list_files": True}, ARCHIVES),
    # the action plugin copies src to a temporary file first: its name is in the command
    case("unarchive-tgz-copy", UNARCHIVE, {"src": D + "/arc.tar.gz", "dest": D + "/dest"},
         ARCHIVES, ignore=("extract_results",)),
    case("unarchive-zip-remote", UNARCHIVE, [{"src": D + "/arc.zip", "dest": D + "/dest",
                                              "remote_src": True}] * 2, ARCHIVES),
    case("unarchive-zip-list", UNARCHIVE, {"src": D + "/arc.zip", "dest": D + "/dest",
                                           "remote_src": "yes", "list_files": True}, ARCHIVES),
    case("unarchive-tgz-modified", UNARCHIVE, [
        {"src": D + "/arc.tar.gz", "dest": D + "/dest", "remote_src": True},
        {"src": D + "/arc.tar.gz", "dest": D + "/dest", "remote_src": True}], dict(
            ARCHIVES, **{"dest/top/a.txt": "changed\n"})),
    case("unarchive-creates", UNARCHIVE, {"src": D + "/arc.tar.gz", "dest": D + "/dest",
                                          "remote_src": True, "creates": D + "/dest"},
         ARCHIVES),
    case("unarchive-mode-owner", UNARCHIVE, [{"src": D + "/arc.tar.gz", "dest": D + "/dest",
                                              "remote_src": True, "mode": "u+rwX,g=,o=",
                                              "owner": "daemon", "group": "bin"}] * 2,
         ARCHIVES),
    case("unarchive-zip-owner", UNARCHIVE, [{"src": D + "/arc.zip", "dest": D + "/dest",
                                             "remote_src": True, "owner": "daemon"}] * 2,
         ARCHIVES),
    case("unarchive-tgz-exclude", UNARCHIVE, {"src": D + "/arc.tar.gz", "dest": D + "/dest",
                                              "remote_src": True, "exclude": ["top/sub"],
                                              "list_files": True}, ARCHIVES),
    case("unarchive-zip-include", UNARCHIVE, {"src": D + "/arc.zip", "dest": D + "/dest",
                                              "remote_src": True, "include": ["top/a.txt"],
                                              "list_files": True}, ARCHIVES),
    case("unarchive-tgz-strip", UNARCHIVE, [{"src": D + "/arc.tar.gz", "dest": D + "/dest",
                                             "remote_src": True,
                                             "extra_opts": ["--strip-components=1"]}] * 2,
         ARCHIVES),
    case("unarchive-url", UNARCHIVE, {"src": URL + "/arc.zip", "dest": D + "/dest",
                                      "remote_src": True}, ARCHIVES),
    case("unarchive-url-not-remote", UNARCHIVE, {"src": URL + "/arc.zip", "dest": D + "/dest"},
         ARCHIVES),
    case("unarchive-no-dest", UNARCHIVE, {"src": D + "/arc.zip", "dest": D + "/nope",
                                          "remote_src": True}, ARCHIVES),
    case("unarchive-missing-src", UNARCHIVE, {"src": D + "/nope.tgz", "dest": D + "/dest",
                                              "remote_src": True}, ARCHIVES),
    case("unarchive-not-archive", UNARCHIVE, {"src": D + "/junk", "dest": D + "/dest",
                                              "remote_src": True},
         dict(ARCHIVES, junk="not an archive\n"), ignore=("msg",)),  # reasons: a set
    case("unarchive-empty", UNARCHIVE, {"src": D + "/empty", "dest": D + "/dest",
                                        "remote_src": True}, dict(ARCHIVES, empty="")),
    case("unarchive-check-tgz", UNARCHIVE, {"src": D + "/arc.tar.gz", "dest": D + "/dest",
                                            "remote_src": True}, ARCHIVES, check=True),
    case("unarchive-check-zip", UNARCHIVE, {"src": D + "/arc.zip", "dest": D + "/dest",
                                            "remote_src": True}, ARCHIVES, check=True),
]

WAIT = "ansible.builtin.wait_for_connection"
WAIT_CASES = [
    case("wait_for_connection-default", WAIT, {}),
    case("wait_for_connection-delay", WAIT, {"delay": 1, "timeout": 5, "sleep": "1"}),
    case("wait_for_connection-bad-option", WAIT, {"port": 22}),
    case("wait_for_connection-bad-int", WAIT, {"delay": "soon"}),
    case("wait_for_connection-check", WAIT, {"timeout": 10}, check=True),
]

CRON = "ansible.builtin.cron"
CRONTAB = "#Ansible: old\n5 * * * * /bin/old\nMAILTO=\"root\"\n"
CRON_CASES = [
    case("cron-file-new", CRON, [{"name": "job", "job": "/bin/true", "minute": "*/5",
                                  "user": "root", "cron_file": D + "/cron.d/tm"}] * 2,
         {"cron.d": DIR}),
    case("cron-file-change", CRON, {"name": "old", "job": "/bin/old", "hour": "3",
                                    "user": "root", "cron_file": D + "/tm"}, {"tm": CRONTAB}),
    case("cron-file-absent-empties", CRON, {"name": "old", "state": "absent",
                                            "cron_file": D + "/tm"},
         {"tm": "#Ansible: old\n5 * * * * root /bin/old\n"}),
    case("cron-file-special", CRON, {"name": "boot", "job": "/bin/boot", "special_time":
                                     "reboot", "user": "nobody", "cron_file": D + "/tm",
                                     "disabled": True}, {"tm": CRONTAB}),
    case("cron-file-env", CRON, [{"name": "PATH", "job": "/bin", "env": True, "user": "root",
                                  "cron_file": D + "/tm", "insertafter": "MAILTO"}] * 2,
         {"tm": CRONTAB}),
    case("cron-file-env-missing-anchor", CRON, {"name": "PATH", "job": "/bin", "env": True,
                                                "user": "root", "cron_file": D + "/tm",
                                                "insertbefore": "NOPE"}, {"tm": CRONTAB}),
    case("cron-file-no-newline", CRON, {"name": "old", "job": "/bin/old", "minute": "5",
                                        "user": "root", "cron_file": D + "/tm"},
         {"tm": "#Ansible: old\n5 * * * * root /bin/old"}),
    case("cron-file-no-user", CRON, {"name": "x", "job": "/bin/x", "cron_file": D + "/tm"}),
    case("cron-file-check", CRON, {"name": "x", "job": "/bin/x", "user": "root",
                                   "cron_file": D + "/tm"}, {"tm": CRONTAB}, check=True),
    case("cron-special-and-time", CRON, {"name": "x", "job": "/bin/x", "hour": "1",
                                         "special_time": "daily"}),
    case("cron-user-new", CRON, [{"name": "job", "job": "/bin/true", "weekday": "1"}] * 2,
         fake={}),
    case("cron-user-adopt-unnamed", CRON, {"name": "job", "job": "/bin/true"},
         fake={"crontabs": {"root": "* * * * * /bin/true\n"}}),
    case("cron-user-absent", CRON, {"name": "old", "state": "absent", "backup": True},
         fake={"crontabs": {"root": CRONTAB}}, ignore=("backup_file",)),
    case("cron-user-other", CRON, {"name": "job", "job": "/bin/x", "user": "daemon"},
         fake={"crontabs": {"daemon": CRONTAB}}),
    case("cron-user-env-absent", CRON, {"name": "MAILTO", "env": True, "state": "absent"},
         fake={"crontabs": {"root": CRONTAB}}),
]

AUTHORIZED_KEY = "ansible.posix.authorized_key"
KEY1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne one@host"
KEY2 = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQTwo two@host"
KEYS = "# managed\n" + KEY1 + "\n"
AUTHORIZED_KEY_CASES = [
    case("authorized_key-new", AUTHORIZED_KEY, [{"user": "root", "key": KEY1,
                                                 "path": D + "/ssh/keys"}] * 2),
    case("authorized_key-append", AUTHORIZED_KEY, {"user": "root", "key": KEY2,
                                                   "path": D + "/keys"}, {"keys": KEYS}),
    case("authorized_key-options", AUTHORIZED_KEY, [{
        "user": "root", "key": KEY1, "path": D + "/keys",
        "key_options": 'no-pty,from="10.0.0.1,10.0.0.2"', "comment": "c"}] * 2,
        {"keys": KEYS}),
    case("authorized_key-exclusive", AUTHORIZED_KEY, {"user": "root", "key": KEY2,
                                                      "path": D + "/keys", "exclusive": True},
         {"keys": KEYS + KEY2 + "\n" + "ecdsa-sha2-nistp256 AAAAE2 three\n"}),
    case("authorized_key-multi", AUTHORIZED_KEY, {"user": "root",
                                                  "key": KEY2 + "\n#c\n" + KEY1,
                                                  "path": D + "/keys"}, {"keys": KEYS}),
    case("authorized_key-absent", AUTHORIZED_KEY, [{"user": "root", "key": KEY1,
                                                    "path": D + "/keys",
                                                    "state": "absent"}] * 2, {"keys": KEYS}),
    case("authorized_key-file-url", AUTHORIZED_KEY, {"user": "daemon",
                                                     "key": "file://" + D + "/pub",
                                                     "path": D + "/keys",
                                                     "manage_dir": False},
         {"pub": KEY2 + "\n"}),
    case("authorized_key-http", AUTHORIZED_KEY, {"user": "root", "key": URL + "/status/404",
                                                 "path": D + "/keys"}),
    case("authorized_key-invalid", AUTHORIZED_KEY, {"user": "root", "key": "nonsense",
                                                    "path": D + "/keys"}),
    case("authorized_key-no-user", AUTHORIZED_KEY, {"user": "tm-nobody", "key": KEY1,
                                                    "path": D + "/keys"}),
    case("authorized_key-check", AUTHORIZED_KEY, {"user": "root", "key": KEY2,
                                                  "path": D + "/keys"}, {"keys": KEYS},
         check=True),
    case("authorized_key-follow", AUTHORIZED_KEY, {"user": "root", "key": KEY2,
                                                   "path": D + "/l", "follow": True},
         {"keys": KEYS, "l": ("link", "keys")}),
]

MOUNT = "ansible.posix.mount"
FSTAB = "# fstab\n/dev/sda1 / ext4 defaults 0 1\nUUID=x /srv xfs noatime 0 0\n"
MOUNT_CASES = [
    case("mount-present", MOUNT, [{"path": "/mnt/data", "src": "/dev/sdb1", "fstype": "xfs",
                                   "state": "present", "fstab": D + "/fstab"}] * 2,
         {"fstab": FSTAB}),
    case("mount-present-change", MOUNT, {"path": "/srv", "src": "UUID=x", "fstype": "xfs",
                                         "opts": "noatime,nodev", "state": "present",
                                         "fstab": D + "/fstab", "backup": True},
         {"fstab": FSTAB}, ignore=("backup_file",)),
    case("mount-present-spaces", MOUNT, {"path": "/mnt/my data", "src": "//h/s",
                                         "fstype": "cifs", "boot": False, "dump": "1",
                                         "state": "present", "fstab": D + "/fstab"},
         {"fstab": FSTAB}),
    case("mount-present-new-fstab", MOUNT, {"path": "/x", "src": "tmpfs", "fstype": "tmpfs",
                                            "state": "present", "fstab": D + "/etc/fstab"}),
    case("mount-absent-from-fstab", MOUNT, [{"path": "/srv", "state": "absent_from_fstab",
                                             "fstab": D + "/fstab"}] * 2, {"fstab": FSTAB}),
    case("mount-absent", MOUNT, {"path": D + "/mnt", "state": "absent", "fstab": D + "/fstab"},
         {"fstab": FSTAB + "/dev/x %s/mnt ext4 defaults 0 0\n" % D, "mnt": DIR},
         fake={}),
    case("mount-mounted", MOUNT, {"path": D + "/m/n", "src": "/dev/x", "fstype": "ext4",
                                  "state": "mounted", "fstab": D + "/fstab"},
         {"fstab": FSTAB}, fake={}),
    case("mount-mounted-fails", MOUNT, {"path": D + "/m", "src": "/dev/x", "fstype": "ext4",
                                        "state": "mounted", "fstab": D + "/fstab"},
         {"fstab": FSTAB}, fake={"mount_rc": 32}),
    case("mount-unmounted-not-mounted", MOUNT, {"path": D + "/m", "state": "unmounted",
                                                "fstab": D + "/fstab"}, {"fstab": FSTAB},
         fake={}),
    case("mount-present-check", MOUNT, {"path": "/y", "src": "/dev/y", "fstype": "ext4",
                                        "state": "present", "fstab": D + "/fstab"},
         {"fstab": FSTAB}, check=True),
    case("mount-needs-src", MOUNT, {"path": "/y", "state": "present", "fstab": D + "/fstab"}),
]

PODMAN_INFO = "containers.podman.podman_container_info"
CONTAINERS = {"containers": {"web": {"Id": "a1", "Name": "web", "State": {"Running": True}},
                             "db": {"Id": "b2", "Name": "db", "State": {"Running": False}}}}
PODMAN_INFO_CASES = [
    case("podman_container_info-all", PODMAN_INFO, {}, fake=CONTAINERS),
    case("podman_container_info-names", PODMAN_INFO, {"name": ["db", "web"]}, fake=CONTAINERS),
    case("podman_container_info-missing", PODMAN_INFO, {"name": "nope"}, fake=CONTAINERS),
    case("podman_container_info-some-missing", PODMAN_INFO, {"name": ["web", "nope"]},
         fake=CONTAINERS),
    case("podman_container_info-none", PODMAN_INFO, {}, fake={}),
    case("podman_container_info-executable", PODMAN_INFO, {"executable": FAKES + "/podman",
                                                           "name": "web"}, fake=CONTAINERS),
    case("podman_container_info-no-podman", PODMAN_INFO, {"executable": "tm-no-podman"},
         ignore=("msg",)),  # the message lists PATH, which differs between the two sides
]

CASES = (GET_URL_CASES + URI_CASES + UNARCHIVE_CASES + WAIT_CASES + CRON_CASES +
         AUTHORIZED_KEY_CASES + MOUNT_CASES + PODMAN_INFO_CASES)


# ---------------------------------------------------------------------------
# running the cases


def substitute(value, case_dir, url, fakes_dir):
    text = json.dumps(value).replace(D, str(case_dir)).replace(URL, url)
    return json.loads(text.replace(FAKES, str(fakes_dir)))


def case_environment(spec, case_dir, fakes_dir):
    if not spec["fake"]:
        return {}
    return {"PATH": "%s:%s" % (fakes_dir, os.environ["PATH"]),
            "FAKE_STATE": str(case_dir / "fake.json")}


def tree_snapshot(root):
    """Type, mode, owner, content, link target and old time stamps of what is under root."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            rel = re.sub(BACKUP_SUFFIX, ".BACKUP~", os.path.relpath(path, root))
            entry = {"mode": oct(stat.S_IMODE(st.st_mode)), "uid": st.st_uid, "gid": st.st_gid}
            if st.st_mtime < OLD + 10 ** 6:  # extracted time stamps; fresh ones vary
                entry["mtime"] = st.st_mtime
            if stat.S_ISLNK(st.st_mode):
                entry.update(type="link", target=os.readlink(path).replace(str(root), D))
                entry.pop("mtime", None)
            elif stat.S_ISDIR(st.st_mode):
                entry.update(type="dir")
            else:
                data = Path(path).read_bytes()
                try:
                    content = re.sub(r"/[^\s\"']*/(tmp|crontab)\w{8}\b", "@TMP@",
                                     data.decode().replace(str(root), D))
                except UnicodeDecodeError:
                    content = base64.b64encode(data).decode()
                entry.update(type="file", nlink=st.st_nlink, content=content)
            found[rel] = entry
    return found


def normalise(value, case_dir, url):
    if isinstance(value, str):
        value = value.replace(str(case_dir), D).replace(url, URL)
        value = re.sub(r"/[^\s\"']*/(tmp|crontab|arc)\w{8}\b", "@TMP@", value)  # mkstemp's
        return re.sub(BACKUP_SUFFIX, ".BACKUP~", value)
    if isinstance(value, (list, tuple)):
        return [normalise(item, case_dir, url) for item in value]
    if isinstance(value, dict):
        return {normalise(k, case_dir, url): normalise(v, case_dir, url)
                for k, v in value.items()}
    return value


def run_playbook(cases, root, url, fakes_dir, collections_path=None):
    tasks = []
    for param in cases:
        spec = param.values[0]
        case_dir = root / param.id
        make_tree(case_dir, spec["tree"])
        for index, args in enumerate(spec["steps"]):
            task = {"name": "%s#%d" % (param.id, index), "ignore_errors": True,
                    "check_mode": spec["check"],
                    spec["module"]: substitute(args, case_dir, url, fakes_dir)}
            environment = case_environment(spec, case_dir, fakes_dir)
            if environment:
                task["environment"] = environment
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
               ANSIBLE_PIPELINING="1", NO_PROXY="*", no_proxy="*")
    if collections_path:
        env["ANSIBLE_COLLECTIONS_PATH"] = str(collections_path)
    proc = subprocess.Popen(
        [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local", str(playbook),
         "-e", "ansible_python_interpreter=" + sys.executable],
        env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, record


@pytest.fixture(scope="session")
def collections_path():
    """The `ansible` package's collections (installed once into the cache directory)."""
    from support.corpus import ansible_extras
    return ansible_extras().collections_path


def real_runs(tmp_path_factory, cases, url, fakes_dir, collections=None):
    """What the real modules did, per case: {id: {"results": [...], "dir", "tree"}}."""
    started = []
    parts = max(2, os.cpu_count() or 2)
    for chunk in (cases[index::parts] for index in range(parts)):
        if chunk:
            root = tmp_path_factory.mktemp("real")
            started.append((chunk, root) + run_playbook(chunk, root, url, fakes_dir,
                                                        collections))
    runs = {}
    for chunk, root, proc, record in started:
        output = proc.communicate()[0]
        assert record.exists(), output
        results = json.loads(record.read_text())
        for param in chunk:
            case_dir = root / param.id
            steps = range(len(param.values[0]["steps"]))
            runs[param.id] = {"results": [results["%s#%d" % (param.id, i)] for i in steps],
                              "dir": case_dir, "tree": tree_snapshot(case_dir)}
    return runs


def selected(request, cases):
    """The cases this session runs (all of them unless deselected)."""
    ids = {item.callspec.id for item in request.session.items
           if item.name.startswith("test_port_matches_real_module[")}
    return [param for param in cases if param.id in ids]


@pytest.fixture(scope="session")
def runs(request, tmp_path_factory, server, fakes, collections_path):
    """All the selected cases, run at once (the collections path does not hurt builtins)."""
    return real_runs(tmp_path_factory, selected(request, CASES), server, fakes,
                     collections_path)


def compared(result, ignore):
    return {k: v for k, v in result.items()
            if k not in IGNORED and k not in ignore and not k.startswith("_ansible")}


@pytest.mark.parametrize("spec", CASES)
def test_port_matches_real_module(spec, request, runs, server, fakes, tmp_path):
    ran = runs[request.node.callspec.id]
    case_dir = tmp_path / "case"
    make_tree(case_dir, spec["tree"])
    ctx = Context(check_mode=spec["check"],
                  environment=case_environment(spec, case_dir, fakes))
    for index, args in enumerate(spec["steps"]):
        ctx.warnings = []
        try:
            got = MODULES[spec["module"]](substitute(args, case_dir, server, fakes), ctx)
        except ModuleFailed as ex:
            got = ex.result
        got = normalise(compared(dict(got), spec["ignore"]), case_dir, server)
        expected = normalise(compared(ran["results"][index], spec["ignore"]), ran["dir"],
                             server)
        got.setdefault("changed", False)
        expected.setdefault("changed", False)
        assert got == expected, "step %d" % index
    assert tree_snapshot(case_dir) == ran["tree"]


# ---------------------------------------------------------------------------
# openvswitch_db: the real module (openvswitch.openvswitch 2.1.1, which the
# `ansible` package shipped up to 10.x) and the port, each against a fresh real
# ovsdb-server + ovs-vswitchd (no kernel datapath needed for database changes)


OVS_COLLECTION = "ansible==10.7.0"  # its openvswitch.openvswitch is 2.1.1


@pytest.fixture(scope="session")
def ovs_collection():
    """ansible_collections/openvswitch from the ansible 10.7.0 wheel, cached once."""
    from support.corpus import cache_dir
    target = cache_dir() / "openvswitch-collection-2.1.1"
    if not (target / "ansible_collections" / "openvswitch").is_dir():
        download = cache_dir() / "wheels"
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--only-binary", ":all:", OVS_COLLECTION, "-d", str(download)],
                       check=True, capture_output=True)
        wheel = next(download.glob("ansible-10.7.0-*.whl"))
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(partial, [n for n in archive.namelist()
                                         if n.startswith("ansible_collections/openvswitch/")])
        os.rename(partial, target)
    return target


class Ovs:
    """ovsdb-server and ovs-vswitchd on a database in a temporary directory."""

    def __init__(self, directory):
        self.dir = directory
        self.socket = str(directory / "db.sock")
        self.pids = []

    def start(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        db = self.dir / "conf.db"
        subprocess.run(["ovsdb-tool", "create", str(db),
                        "/usr/share/openvswitch/vswitch.ovsschema"], check=True)
        common = ["--detach", "--no-chdir", "--log-file=%s" % (self.dir / "log")]
        subprocess.run(["ovsdb-server", str(db), "--remote=punix:" + self.socket,
                        "--pidfile=%s" % (self.dir / "db.pid"),
                        "--unixctl=%s" % (self.dir / "db.ctl")] + common, check=True)
        self.pids.append(int((self.dir / "db.pid").read_text()))
        vsctl = ["ovs-vsctl", "--db=unix:" + self.socket, "--no-wait"]
        subprocess.run(vsctl + ["init"], check=True)
        subprocess.run(vsctl + ["add-br", "br-tm", "--", "set", "Bridge", "br-tm",
                                "datapath_type=netdev", "other_config:keep=1"], check=True)
        subprocess.run(["ovs-vswitchd", "unix:" + self.socket,
                        "--pidfile=%s" % (self.dir / "vswitchd.pid"),
                        "--unixctl=%s" % (self.dir / "vswitchd.ctl"),
                        "--log-file=%s" % (self.dir / "vlog"), "--detach", "--no-chdir"],
                       check=True, capture_output=True)
        self.pids.append(int((self.dir / "vswitchd.pid").read_text()))

    def stop(self):
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        self.pids = []


OVS = "openvswitch.openvswitch.openvswitch_db"
OVS_STEPS = [
    {"table": "Bridge", "record": "br-tm", "col": "other_config", "key": "tm",
     "value": "on"},
    {"table": "Bridge", "record": "br-tm", "col": "other_config", "key": "tm",
     "value": "on"},
    {"table": "Bridge", "record": "br-tm", "col": "other_config", "key": "tm",
     "state": "read"},
    {"table": "Bridge", "record": "br-tm", "col": "other_config", "state": "read"},
    {"table": "Bridge", "record": "br-tm", "col": "stp_enable", "value": "True"},
    {"table": "Bridge", "record": "br-tm", "col": "stp_enable", "value": "true"},
    {"table": "Bridge", "record": "br-tm", "col": "external_ids", "value": "x"},
    {"table": "Bridge", "record": "br-tm", "col": "other_config", "key": "tm",
     "state": "absent"},
    {"table": "Bridge", "record": "br-tm", "col": "other_config", "key": "tm",
     "state": "absent"},
    {"table": "Bridge", "record": "br-tm", "col": "other_config", "key": "keep",
     "value": "1", "state": "absent"},
    {"table": "Bridge", "record": "br-tm", "col": "name", "state": "read", "timeout": 3},
    {"table": "Bridge", "record": "br-tm", "col": "other_config", "key": "k"},
    {"table": "Bridge", "record": "br-nope", "col": "name", "state": "read"},
]


@pytest.mark.skipif(not shutil.which("ovsdb-server"), reason="needs openvswitch-switch "
                    "(apt-get install -y openvswitch-switch)")
def test_openvswitch_db_matches_real_module(tmp_path, server, fakes, ovs_collection):
    ovs = Ovs(Path("/tmp") / ("tm-ovs-%d" % os.getpid()))
    steps = [dict(step, database_socket="unix:" + ovs.socket) for step in OVS_STEPS]
    param = case("ovs", OVS, steps)
    try:
        ovs.start()
        proc, record = run_playbook([param], tmp_path / "real", server, fakes,
                                    ovs_collection)
        output = proc.communicate()[0]
        assert record.exists(), output
        ran = json.loads(record.read_text())
        ovs.stop()
        ovs.start()
        ctx = Context()
        for index, args in enumerate(steps):
            try:
                got = MODULES[OVS](dict(args), ctx)
            except ModuleFailed as ex:
                got = ex.result
            expected = compared(ran["ovs#%d" % index], ())
            got = compared(dict(got), ())
            got.setdefault("changed", False)
            if index == len(steps) - 1:  # the module fails with ovs-vsctl's whole stderr
                assert got["failed"] and expected["failed"] and "br-nope" in got["msg"]
                continue
            if "stdout" in expected:  # failures carry run_command's fields
                expected = {k: v for k, v in expected.items() if k in got}
            assert got == expected, "step %d: %s" % (index, args)
        # check mode: the commands, no change (the module itself crashes here)
        ctx.check_mode = True
        result = MODULES[OVS](dict(steps[0]), ctx)
        assert result == {"changed": True, "commands": [
            "/usr/bin/ovs-vsctl --db=unix:%s -t 5 set Bridge br-tm other_config:tm=on"
            % ovs.socket]}
        out = subprocess.run(["ovs-vsctl", "--db=unix:" + ovs.socket, "get", "Bridge", "br-tm",
                              "other_config"], capture_output=True, text=True).stdout
        assert out.strip() == "{}"
    finally:
        ovs.stop()


# ---------------------------------------------------------------------------
# seboolean, sefcontext, podman_image: hand-computed expectations, with fakes
# of the programs (the real modules need SELinux's Python bindings or podman)


SELINUX_BODIES = {
    "selinuxenabled": 'rc = 0 if state.get("enabled", True) else 1',
    "getsebool": '''
name = sys.argv[1]
booleans = state.get("booleans", {})
if name in booleans:
    print("%s --> %s" % (name, "on" if booleans[name][0] else "off"))
else:
    sys.stderr.write("Error getting active value for %s\\n" % name); rc = 1
''',
    "setsebool": '''
args = sys.argv[1:]
persistent = args[0] == "-P"
name, value = args[-2], args[-1] == "on"
booleans = state.setdefault("booleans", {})
if name not in booleans:
    sys.stderr.write("Could not change active booleans: Invalid boolean\\n"); rc = 1
else:
    booleans[name][0] = value
    if persistent:
        booleans[name][1] = value
''',
    "semanage": '''
args = sys.argv[1:]
if args[:2] == ["boolean", "-l"]:
    for name, (active, persistent) in sorted(state.get("booleans", {}).items()):
        print("%-30s (%-3s,%4s)  %s" % (name, "on" if active else "off",
                                       "on" if persistent else "off", name))
elif args[:2] == ["fcontext", "-l"]:
    print("SELinux fcontext                                   type               Context\\n")
    for (target, kind, context) in state.get("rules", []):
        print("%-50s %-18s %s" % (target, kind, context))
    print("\\nSELinux Distribution fcontext Equivalence \\n")
    for target, sub in state.get("equal", []):
        print("%s = %s" % (target, sub))
elif args[0] == "fcontext" and "-a" in args and "nope_t" in args:
    sys.stderr.write("ValueError: Type nope_t is invalid, must be a file or device type\\n")
    rc = 1
''',
}


def selinux_fakes(tmp_path, state, **bodies):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, body in dict(SELINUX_BODIES, **bodies).items():
        tool = bin_dir / name
        tool.write_text(FAKE.format(python=sys.executable, body=textwrap.dedent(body)))
        tool.chmod(0o755)
    state_file = tmp_path / "fake.json"
    state_file.write_text(json.dumps(state))
    ctx = Context(environment={"PATH": str(bin_dir), "FAKE_STATE": str(state_file)})
    return ctx, lambda: json.loads(state_file.read_text())


def changes(state):
    return [call for call in state()["calls"]
            if call[0] == "setsebool" or call[:2] == ["semanage", "fcontext"] and call[2] != "-l"
            or call[0] == "podman" and call[1] in ("pull", "push", "rmi", "build")]


def test_seboolean(tmp_path):
    ctx, state = selinux_fakes(tmp_path, {"booleans": {"httpd_can_network_connect":
                                                       [False, False]}})
    port = MODULES["ansible.posix.seboolean"]
    args = {"name": "httpd_can_network_connect", "state": True}
    assert port(args, ctx) == {"name": "httpd_can_network_connect", "persistent": False,
                               "state": True, "changed": True}
    assert changes(state) == [["setsebool", "httpd_can_network_connect", "on"]]
    assert port(dict(args, state="yes"), ctx)["changed"] is False
    # persistent: the policy's value decides, and setsebool -P sets both
    assert port(dict(args, persistent=True), ctx)["changed"] is True
    assert state()["booleans"]["httpd_can_network_connect"] == [True, True]
    assert changes(state)[-1] == ["setsebool", "-P", "httpd_can_network_connect", "on"]
    assert port(dict(args, persistent=True), ctx)["changed"] is False
    ctx.check_mode = True
    assert port(dict(args, state=False, persistent=True), ctx)["changed"] is True
    assert port(dict(args, state=False), ctx)["changed"] is True
    assert len(changes(state)) == 2
    ctx.check_mode = False
    for params, msg in [
        (dict(args, name="nope"), "Failed to determine current state for boolean nope"),
        (dict(args, name="nope", persistent=True),
         "SELinux boolean nope is not defined in persistent policy"),
        ({"name": "x"}, "missing required arguments: state"),
    ]:
        with pytest.raises(ModuleFailed) as failed:
            port(params, ctx)
        assert failed.value.result["msg"] == msg
    ctx, state = selinux_fakes(tmp_path / "off", {"enabled": False})
    with pytest.raises(ModuleFailed, match="^SELinux is disabled on this host.$"):
        port(args, ctx)
    # ignore_selinux_state with SELinux off: nothing to compare, nothing changed
    assert port(dict(args, ignore_selinux_state=True), ctx)["changed"] is False


FCONTEXT_RULES = [["/srv/www(/.*)?", "all files", "system_u:object_r:httpd_sys_content_t:s0"],
                  ["/srv/data", "directory", "system_u:object_r:var_t:s0"]]


def test_sefcontext(tmp_path):
    ctx, state = selinux_fakes(tmp_path, {"rules": FCONTEXT_RULES,
                                          "equal": [["/web", "/var/www"]]})
    port = MODULES["community.general.sefcontext"]
    result = port({"target": "/srv/new(/.*)?", "setype": "httpd_sys_content_t"}, ctx)
    assert result == {"target": "/srv/new(/.*)?", "ftype": "a", "setype": "httpd_sys_content_t",
                      "substitute": None, "state": "present", "seuser": "system_u",
                      "serange": "s0", "changed": True}
    assert changes(state)[-1] == ["semanage", "fcontext", "-a", "-t", "httpd_sys_content_t",
                                  "-f", "a", "-r", "s0", "-s", "system_u", "/srv/new(/.*)?"]
    # an existing rule: unchanged, or modified keeping its user and range
    assert port({"target": "/srv/www(/.*)?", "setype": "httpd_sys_content_t"},
                ctx)["changed"] is False
    ctx.diff = True
    result = port({"target": "/srv/data", "ftype": "d", "setype": "public_content_t",
                   "reload": False}, ctx)
    assert result["changed"] is True
    assert result["diff"]["prepared"] == (
        "# Change to semanage file context mappings\n"
        "-/srv/data      d      system_u:object_r:var_t:s0\n"
        "+/srv/data      d      system_u:object_r:public_content_t:s0\n")
    assert changes(state)[-1] == ["semanage", "fcontext", "-m", "-N", "-t", "public_content_t",
                                  "-f", "d", "-r", "s0", "-s", "system_u", "/srv/data"]
    # the ftype is part of the rule: the same path as "all files" is another rule
    assert port({"target": "/srv/data", "setype": "var_t"}, ctx)["changed"] is True
    assert port({"target": "/srv/data", "ftype": "d", "state": "absent"}, ctx)["changed"]
    assert changes(state)[-1] == ["semanage", "fcontext", "-d", "-f", "d", "/srv/data"]
    assert port({"target": "/srv/nothing", "state": "absent"}, ctx)["changed"] is False
    # substitutions
    assert port({"target": "/web", "substitute": "/var/www"}, ctx)["changed"] is False
    assert port({"target": "/web", "substitute": "/srv/www"}, ctx)["changed"] is True
    assert changes(state)[-1] == ["semanage", "fcontext", "-m", "-e", "/srv/www", "/web"]
    assert port({"target": "/web", "state": "absent"}, ctx)["changed"] is True
    assert changes(state)[-1] == ["semanage", "fcontext", "-d", "-e", "/var/www", "/web"]
    calls = len(state()["calls"])
    ctx.check_mode = True
    assert port({"target": "/x", "setype": "var_t"}, ctx)["changed"] is True
    assert [c for c in state()["calls"][calls:] if c[0] == "semanage"] == [
        ["semanage", "fcontext", "-l"]]
    ctx.check_mode = False
    for params, msg in [
        ({"target": "/x", "setype": "nope_t"},
         "ValueError: Type nope_t is invalid, must be a file or device type\n"),
        ({"target": "/x"}, "state is present but any of the following are missing: setype, "
                           "substitute"),
        ({"target": "/x", "setype": "a", "substitute": "/y"},
         "parameters are mutually exclusive: setype|substitute"),
    ]:
        with pytest.raises(ModuleFailed) as failed:
            port(params, ctx)
        assert failed.value.result["msg"] == msg


PODMAN = '''
args = sys.argv[1:]
images = state.setdefault("images", {})
registry = state.get("registry", {})
def ref(name):
    return name if ":" in name.split("/")[-1] or "@" in name else name + ":latest"
if args[:2] == ["image", "exists"]:
    rc = 0 if ref(args[2]) in images else 1
elif args[:2] == ["image", "ls"] and "--quiet" in args:
    print("\\n".join("sha256:" + i["Id"] for i in images.values()))
elif args[:2] == ["image", "ls"]:
    print(json.dumps([images[ref(args[2])]] if ref(args[2]) in images else []))
elif args[0] == "inspect":
    found = images.get(ref(args[1]))
    if found:
        print(json.dumps([found]))
    else:
        print("[]"); sys.stderr.write("Error: no such image\\n"); rc = 125
elif args[0] == "pull":
    if ref(args[1]) in registry:
        images[ref(args[1])] = registry[ref(args[1])]
        print(registry[ref(args[1])]["Id"])
    else:
        sys.stderr.write("Error: initializing source: manifest unknown\\n"); rc = 125
elif args[0] == "rmi":
    images.pop(ref(args[1]), None)
elif args[0] == "build":
    images[ref(args[args.index("-t") + 1])] = {"Id": "built1", "Digest": "sha256:bb",
                                               "Labels": {}}
elif args[0] == "push":
    pass
'''


def test_podman_image(tmp_path):
    image = {"Id": "1234abcd", "Digest": "sha256:aa", "RepoDigests": ["q.io/app@sha256:aa"]}
    ctx, state = selinux_fakes(tmp_path, {"registry": {"q.io/app:1": image}}, podman=PODMAN)
    port = MODULES["containers.podman.podman_image"]
    result = port({"name": "q.io/app", "tag": "1"}, ctx)
    assert (result["changed"], result["actions"], result["image"]) == (
        True, ["Pulled image q.io/app:1"], [image])
    assert result["podman_actions"] == [str(tmp_path / "bin" / "podman") + " pull q.io/app:1"]
    result = port({"name": "q.io/app:1"}, ctx)
    assert (result["changed"], result["actions"]) == (False, [])
    assert [c for c in changes(state) if c[1] == "pull"] == [["podman", "pull", "q.io/app:1"]]
    result = port({"name": "q.io/app:1", "push": True, "push_args": {"dest": "r.io/me"}}, ctx)
    assert result["changed"] is True
    assert changes(state)[-1] == ["podman", "push", "q.io/app:1", "r.io/me/q.io/app:1"]
    result = port({"name": "q.io/app:1", "state": "absent"}, ctx)
    assert (result["changed"], result["image"]) == (True, {"state": "Deleted"})
    assert changes(state)[-1] == ["podman", "rmi", "q.io/app:1"]
    assert port({"name": "q.io/app:1", "state": "absent"}, ctx)["changed"] is False
    build = tmp_path / "ctx"
    build.mkdir()
    (build / "Containerfile").write_text("FROM scratch\n")
    result = port({"name": "local/built", "path": str(build)}, ctx)
    assert result["changed"] is True
    built = changes(state)[-1]
    assert built[:4] == ["podman", "build", "-t", "local/built:latest"]
    assert "containerfile.hash=" + hashlib.sha256(b"FROM scratch\n").hexdigest() in built
    ctx.check_mode = True
    calls = len(changes(state))
    assert port({"name": "q.io/other:2"}, ctx)["changed"] is True
    assert len(changes(state)) == calls
    ctx.check_mode = False
    for params, msg in [
        ({"name": "q.io/missing"}, "Failed to pull image q.io/missing:latest"),
        ({"name": "x", "pull": False}, "Image x:latest not found locally and pull is disabled"),
        ({"name": "x", "state": "quadlet"}, "state=quadlet is not supported by the TASK runtime"),
        ({"name": "x", "username": "u"}, "parameters are required together: username, password"),
        ({"name": "x", "executable": "tm-no-podman"}, None),
    ]:
        with pytest.raises(ModuleFailed) as failed:
            port(params, ctx)
        if msg:
            assert failed.value.result["msg"] == msg
