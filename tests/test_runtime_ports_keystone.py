"""The openstack.cloud identity ports against the real modules and a real Keystone.

What is real:
- Keystone itself: the `keystone` package from the package index (KEYSTONE_PACKAGES), installed
  once into its own venv under the cache dir (like tests/support/corpus.py's ansible_extras),
  configured with sqlite and fernet tokens (`keystone-manage db_sync`, `fernet_setup`,
  `credential_setup`, `bootstrap` with an admin password) and served on 127.0.0.1 by wsgiref in a
  process this file starts and stops by its PID. Servers run in pairs from one bootstrapped state
  (copies of the same sqlite database and key repositories; the catalog's URLs moved to each
  server's port): one for the real modules, one for the ports. Keystone's cache is on, in each
  server's memory.
- The modules: openstack.cloud 2.5.0 from the `ansible` package (ansible_extras), run by
  ansible-playbook -c local (parallel playbooks, one per group of cases), with openstacksdk from
  this venv (the `test` extra); the ports use the same openstacksdk in this process.
- The `cloud:` parameter names a cloud in a clouds.yaml given by OS_CLIENT_CONFIG_FILE in the
  task's environment (each side its own file, same cloud name); the `auth:` cases log in with
  v3password against the server's own URL, as tripleo_keystone_resources does.

Nothing is faked. Each case works on resources named after its id (`@P@` stands for it), so the
cases of different groups cannot see each other; the cases that make domains or list all of them
share one group that runs in order on both sides, on a pair of servers of its own. The admin flow of
tripleo_keystone_resources/tasks/admin.yml changes what Keystone's bootstrap made (it renames the
Default domain "default", makes the service project, sets the admin's password, which revokes the
admin's tokens): it runs on a pair of servers of its own. A case's steps may call other modules (to
make the user a role assignment needs) and set check mode per step.

Compared: every step's result (generated ids, request ids and the servers' ports normalised),
then Keystone's state as the API lists it (domains, projects, users, roles, services, endpoints,
role assignments, all by name) restricted to the case's own resources and the bootstrap
resources it declares, and which of the passwords a case names log its user in.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from test_runtime_modules import ANSIBLE_PLAYBOOK, RECORD_CALLBACK, Context
from test_runtime_ports import compared

from migrator.runtime.api import MODULES, ModuleFailed
from migrator.runtime.modules import openstack_identity  # noqa: F401  (importing registers the ports)

KEYSTONE_PACKAGES = ("keystone==30.0.0",)
ADMIN_PASSWORD = "tm-Admin-Secret"
CLOUD = "overcloud"
P = "@P@"  # the case's id, in names
AUTH_URL = "@AUTH_URL@"  # the side's Keystone, http://127.0.0.1:<port>/v3
OC = "openstack.cloud."
# one worker runs every case: the real side plays them all at once, and what a listing of all
# domains sees depends on the cases run before it on the same servers
pytestmark = pytest.mark.xdist_group("keystone")

# ---------------------------------------------------------------------------
# Keystone


def keystone_venv():
    """A venv under the cache dir with Keystone (about 20 s and 150 MB the first time)."""
    from support.corpus import BuildError, venv_dir
    name = "keystone-" + hashlib.sha256("\n".join(KEYSTONE_PACKAGES).encode()).hexdigest()[:12]
    try:
        return venv_dir(name, *KEYSTONE_PACKAGES)
    except BuildError as exc:
        pytest.skip(str(exc))


# the venv was built elsewhere and renamed: its scripts' #! lines are stale, its python is not
MANAGE = "import sys; from keystone.cmd.manage import main; sys.argv[0] = 'keystone-manage'; sys.exit(main())"
SERVE = """
import os, sys
os.environ["OS_KEYSTONE_CONFIG_FILES"] = sys.argv[1]
port = int(sys.argv[2])
sys.argv = sys.argv[:1]
from wsgiref.simple_server import WSGIRequestHandler, make_server
from keystone.server import wsgi
application = wsgi.initialize_public_application()
class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass
make_server("127.0.0.1", port, application, handler_class=Quiet).serve_forever()
"""
CONF = """[DEFAULT]
log_file = {d}/keystone.log
[database]
connection = sqlite:///{d}/keystone.db
[identity]
password_hash_rounds = 4
[token]
provider = fernet
[fernet_tokens]
key_repository = {d}/fernet-keys
[fernet_receipts]
key_repository = {d}/fernet-keys
[credential]
key_repository = {d}/credential-keys
[cache]
# Keystone's own cache (tokens, assignments, catalog), in the server's memory: one server process, so
# every write invalidates what it changed; requests about 3x faster
enabled = true
backend = dogpile.cache.memory
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def url_of(port):
    return "http://127.0.0.1:%d/v3" % port


class Keystone:
    """One server on a copy of the bootstrapped state."""

    def __init__(self, python, template, root, port):
        self.root, self.port, self.url = root, port, url_of(port)
        shutil.copytree(template, root)
        (root / "keystone.conf").write_text(CONF.format(d=root))
        with sqlite3.connect(root / "keystone.db") as db:  # the catalog points at this server
            db.execute("UPDATE endpoint SET url = ?", (self.url,))
        (root / "serve.py").write_text(SERVE)
        self.clouds = root / "clouds.yaml"
        self.clouds.write_text(json.dumps({"clouds": {CLOUD: {
            "auth": {"auth_url": self.url, "username": "admin", "password": ADMIN_PASSWORD,
                     "project_name": "admin", "user_domain_id": "default", "project_domain_id": "default"},
            "region_name": "RegionOne", "identity_api_version": "3", "interface": "public"}}}))
        self.log = open(root / "serve.log", "w")
        self.proc = subprocess.Popen([str(python), str(root / "serve.py"), str(root / "keystone.conf"), str(port)],
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def wait(self):
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("keystone exited: %s" % (self.root / "serve.log").read_text()[-3000:])
            try:
                with urllib.request.urlopen(self.url, timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("keystone did not answer on %s" % self.url)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def connect(self):
        import openstack
        return openstack.connect(auth_url=self.url, username="admin", password=ADMIN_PASSWORD,
                                 project_name="admin", user_domain_id="default", project_domain_id="default",
                                 region_name="RegionOne", identity_api_version="3")


def bootstrapped(python):
    """Keystone's state after db_sync, fernet_setup, credential_setup and bootstrap: made once,
    kept beside the venv (the servers run on copies)."""
    venv_root = python.parent.parent.parent
    template = venv_root / ("template-" + hashlib.sha256((CONF + ADMIN_PASSWORD).encode()).hexdigest()[:12])
    if (template / ".tripleo-migrate-complete").is_file():
        return template
    shutil.rmtree(template, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=".x-template-", dir=venv_root))
    try:
        conf = tmp / "keystone.conf"
        conf.write_text(CONF.format(d=tmp))
        for args in (["db_sync"], ["fernet_setup", "--keystone-user", "root", "--keystone-group", "root"],
                     ["credential_setup", "--keystone-user", "root", "--keystone-group", "root"],
                     ["bootstrap", "--bootstrap-password", ADMIN_PASSWORD, "--bootstrap-region-id", "RegionOne",
                      "--bootstrap-admin-url", "http://127.0.0.1:1/v3", "--bootstrap-internal-url",
                      "http://127.0.0.1:1/v3", "--bootstrap-public-url", "http://127.0.0.1:1/v3"]):
            proc = subprocess.run([str(python), "-c", MANAGE, "--config-file", str(conf), *args],
                                  capture_output=True, text=True)
            assert proc.returncode == 0, "keystone-manage %s: %s" % (args[0], proc.stdout + proc.stderr)
        for name in ("keystone.conf", "keystone.log"):
            (tmp / name).unlink(missing_ok=True)
        (tmp / ".tripleo-migrate-complete").write_text("\n")
        try:
            os.rename(tmp, template)
        except OSError:
            if not (template / ".tripleo-migrate-complete").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return template


@pytest.fixture(scope="session")
def keystones(request, tmp_path_factory):
    """{(side, place): Keystone}, all from one bootstrap: side "real" or "port"; place "shared" or an
    ISOLATED group, for the selected cases' places."""
    pytest.importorskip("openstack", reason="needs openstacksdk (the test extra)")
    python = keystone_venv() / "venv" / "bin" / "python"
    template = bootstrapped(python)
    root = tmp_path_factory.mktemp("keystone")
    places = sorted({place_of(param.values[0]) for param in selected(request)})
    servers = {}
    try:
        for place in places:
            for side in ("real", "port"):
                servers[side, place] = Keystone(python, template, root / ("%s-%s" % (side, place)), free_port())
        for server in servers.values():
            server.wait()
        yield servers
    finally:
        for server in servers.values():
            server.stop()


# ---------------------------------------------------------------------------
# cases


def step(args, module=None, check=False):
    """One task of a case: its module (the case's by default) and check mode."""
    return {"__step__": True, "module": module, "args": args, "check": check}


def case(id, module, steps, group=None, shared=(), passwords=None):
    """steps: a dict, or a list of dicts/step()s run one after the other.

    group: cases of one group run in order in one playbook (others may run beside them);
    shared: bootstrap resources (names) whose state the case changes and compares;
    passwords: {user name: [passwords]}; which ones log the user in is compared.
    """
    steps = [dict(s) if isinstance(s, dict) and s.get("__step__") else step(s)
             for s in (steps if isinstance(steps, list) else [steps])]
    for s in steps:
        s["module"] = OC + (s["module"] or module)
        s["args"] = dict(s["args"], cloud=s["args"].get("cloud", CLOUD)) if "auth" not in s["args"] else s["args"]
    return pytest.param(dict(steps=steps, group=group, shared=frozenset(shared), passwords=passwords or {}), id=id)


def admin_auth(password=ADMIN_PASSWORD, username="admin", project="admin"):
    return {"auth_url": AUTH_URL, "username": username, "password": password, "user_domain_id": "default",
            "project_name": project, "project_domain_id": "default"}


def auth_only(args):
    """A step logging in with auth:, without the cloud (tripleo_keystone_resources' password checks)."""
    return dict(args, auth_type="v3password")


G = "global"  # the cases that make domains or list all of them
# The admin flow renames the Default domain "default", makes the service project and sets the admin's
# password; Keystone then revokes the admin's tokens issued up to that moment, and as it compares a
# revocation's time with a fernet token's issue time truncated to the second, a token issued in that
# same second is refused too: any module logging in as admin beside it could fail on one side only.
# So it has servers of its own (a pair, like the other cases).
A = "admin"
# The domain cases list all domains: on the shared servers the real side's other playbooks run beside
# them and can show a domain there that the port side, one case at a time, does not; so they too
# get a pair of servers of their own.
ISOLATED = (A, G)
D = {"name": P + ".d"}
DOMAIN_CASES = [
    case("domain-create-update", "identity_domain", [dict(D, description="One", state="present")] * 2 + [
        dict(D, description="b", enabled=False)], G),
    case("domain-check-absent", "identity_domain", [
        step(dict(D, description="x"), check=True), D, step(dict(D, description="y", is_enabled=False), check=True),
        step(dict(D, state="absent"), check=True), dict(D, state="absent"), dict(D, state="absent")], G),
    case("domain-info-all", "identity_domain_info", {}, G),  # tripleo_keystone_resources/tasks/gather_domains.yml
    case("domain-info-name", "identity_domain_info", [step(dict(D, description="seen"), "identity_domain"),
                                                      {"name": P + ".d"},
                                                      {"name": P + ".d", "filters": {"is_enabled": False}}], G),
    case("domain-invalid", "identity_domain", [
        dict(D, cloud="nope"), dict(D, cloud={"auth": {}}, auth={"x": "y"}), {"description": "x"}], G),
]

ADMIN_FLOW = [  # tripleo_keystone_resources/tasks/admin.yml (with the _member_ role)
    step({"name": "default"}, "identity_domain"),
    step({"name": "admin", "domain_id": "default", "state": "present"}, "project"),
    step({"name": "service", "domain_id": "default", "state": "present"}, "project"),
    step({"name": "admin"}, "identity_role"),
    step({"name": "_member_"}, "identity_role"),
    step(auth_only({"name": "admin", "auth": admin_auth()}), "identity_user_info"),
    step({"name": "admin", "password": ADMIN_PASSWORD, "update_password": "on_create",
          "email": "admin@localhost", "domain": "default"}, "identity_user"),
    step({"user": "admin", "project": "admin", "role": "admin"}, "role_assignment"),
    step({"user": "admin", "project": "admin", "role": "_member_"}, "role_assignment"),
    step({"name": "keystone", "service_type": "identity"}, "catalog_service"),
    step({"service": "keystone", "url": AUTH_URL, "endpoint_interface": "public", "region": "RegionOne"},
         "endpoint"),
    step({"service": "keystone", "url": AUTH_URL + "/internal", "endpoint_interface": "internal",
          "region": "RegionOne"}, "endpoint"),
    step({"service": "keystone", "url": AUTH_URL, "endpoint_interface": "admin", "region": "RegionOne"},
         "endpoint"),
]
ADMIN_CASES = [
    case("admin-flow", "identity_domain", ADMIN_FLOW + [
        # a wrong password: the check fails, so the user's password is set again (update_password always)
        step(auth_only({"name": "admin", "auth": admin_auth("wrong")}), "identity_user_info"),
        step({"name": "admin", "password": ADMIN_PASSWORD, "update_password": "always",
              "email": "admin@localhost", "domain": "default"}, "identity_user")], A,
         shared={"admin", "service", "_member_", "keystone", "default"},
         passwords={"admin": [ADMIN_PASSWORD, "wrong"]}),
]

R = {"name": P + ".r"}
ROLE_CASES = [
    case("role-lifecycle", "identity_role", [
        dict(R, state="present"), R, step(dict(R, description="x"), check=True), dict(R, description="x"),
        step(dict(R, state="absent"), check=True), dict(R, state="absent"), dict(R, state="absent")]),
    case("role-domain", "identity_role", [dict(R, domain_id="default")] * 2),
]

U = {"name": P + ".u"}
UPW = "tm-pw-one"
CORPUS_USER = dict(U, password=UPW, update_password="on_create", email=P + "@localhost", domain="default",
                   state="present")  # tripleo_keystone_resources/tasks/users.yml
USER_CASES = [
    case("user-passwords", "identity_user", [
        CORPUS_USER, dict(CORPUS_USER, password="tm-pw-two"),  # on_create: kept
        dict(CORPUS_USER, password="tm-pw-two", update_password="always"),
        {k: v for k, v in CORPUS_USER.items() if k != "password"} | {"update_password": "always"}],
         passwords={P + ".u": [UPW, "tm-pw-two"]}),
    case("user-attributes-absent", "identity_user", [
        dict(U, default_project="admin", description="d", enabled=False, domain="default", email="x@y")] * 2 + [
        dict(U, state="absent"), dict(U, state="absent")]),
    case("user-failures", "identity_user", [dict(U, domain="nope"), dict(U, default_project="nope"),
                                            dict(U, update_password="sometimes"), step(CORPUS_USER, check=True)]),
]


def grant(user, project, role="admin", **extra):
    return step(dict({"user": user, "project": project, "role": role}, **extra), "role_assignment")


USER_INFO_CASES = [
    case("user-info-name", "identity_user_info", [
        step(dict(CORPUS_USER, description="d"), "identity_user"),
        {"name": P + ".u", "domain": "default", "filters": {"description": "d"}},
        {"name": P + ".u", "filters": {"description": "other"}}, {"name": "admin", "domain": "nope"}]),
    # tripleo_keystone_resources/tasks/users.yml: the user logs in to the service project (here a project
    # of the case's own: "service" is the admin flow's, which runs last)
    case("user-info-login", "identity_user_info", [
        step(auth_only({"name": P + ".u", "auth": admin_auth(UPW, P + ".u", P + ".p")})),  # no such user yet
        step(CORPUS_USER, "identity_user"), step({"name": P + ".p"}, "project"), grant(P + ".u", P + ".p"),
        step(auth_only({"name": P + ".u", "auth": admin_auth(UPW, P + ".u", P + ".p")})),
        step(auth_only({"name": P + ".u", "auth": admin_auth("wrong", P + ".u", P + ".p")}))],
         passwords={P + ".u": [UPW]}),
]

PR = {"name": P + ".p"}
PROJECT_CASES = [
    case("project-corpus", "project", [dict(PR, domain_id="default", state="present")] * 2 + [
        dict(PR, description="b", is_enabled=False)]),
    case("project-extra-specs", "project", [dict(PR, extra_specs={"tm_tag": "x"})] * 2 + [
        dict(PR, properties={"tm_tag": "y"}), dict(PR, description="b", extra_specs={"description": "c"})]),
    case("project-check-absent", "project", [
        step(dict(PR, domain="default"), check=True), dict(PR, description="a", enabled=True),
        step(dict(PR, description="x"), check=True), step(dict(PR, state="absent"), check=True),
        dict(PR, state="absent"), dict(PR, state="absent"), dict(PR, domain="nope")]),
]

USER = step(dict(U, password=UPW), "identity_user")
PROJECT = step(PR, "project")
RA = {"user": P + ".u", "project": P + ".p", "role": "member"}
RDOM = {"user": P + ".u", "domain": "default", "role": "reader"}
RSYS = {"user": P + ".u", "system": "all", "role": "reader"}
RA_CASES = [
    case("role-assignment-project", "role_assignment", [  # tasks/user_per_role.yml
        USER, PROJECT, step(dict(RA, state="present"), check=True), dict(RA, state="present"), RA,
        step(dict(RA, state="absent"), check=True), dict(RA, state="absent"), dict(RA, state="absent")]),
    case("role-assignment-domain-system", "role_assignment", [
        USER, RDOM, RDOM, dict(RDOM, state="absent"), RSYS, RSYS, dict(RSYS, state="absent")]),
    case("role-assignment-lookups", "role_assignment", [
        USER, PROJECT, dict(RA, user_domain="Default", project_domain="default", role_domain=None),
        dict(RA, domain="default")]),
    case("role-assignment-errors", "role_assignment", [
        {"user": "admin", "project": "admin", "role": "nope"}, {"user": "nope", "project": "admin", "role": "member"},
        {"project": "admin", "role": "member"}, {"user": "admin", "role": "member"},
        {"user": "admin", "project": "admin", "system": "all", "role": "member"}]),
]

S = {"name": P + ".svc", "service_type": P + ".type"}
SERVICE_CASES = [
    case("service-corpus", "catalog_service", [dict(S, description="OpenStack Tm Service", state="present")] * 2 + [
        dict(S, description="b", enabled=False)]),
    case("service-check-cleanup", "catalog_service", [  # tasks/cleanup.yml deletes
        step(S, check=True), {"name": P + ".svc", "type": P + ".type"}, step(dict(S, description="x"), check=True),
        step(dict(S, state="absent"), check=True), dict(S, state="absent"), dict(S, state="absent")]),
]

SERVICE = step(S, "catalog_service")
E = {"service": P + ".svc", "url": "http://%s.example:8080/v1" % P, "endpoint_interface": "public",
     "region": "RegionOne"}
E2 = "http://%s.example:9090/v2" % P
ENDPOINT_CASES = [
    case("endpoint-corpus", "endpoint", [SERVICE] + [dict(E, state="present")] * 2 + [
        dict(E, endpoint_interface="internal"), dict(E, endpoint_interface="admin")]),
    case("endpoint-update-check-absent", "endpoint", [
        SERVICE, step(E, check=True), E, step(dict(E, url=E2), check=True), dict(E, url=E2),
        dict(E, url=E2, enabled=False), step(dict(E, state="absent"), check=True), dict(E, state="absent"),
        dict(E, state="absent"), dict(E, service="nope", state="absent")]),
    case("endpoint-no-region", "endpoint", [SERVICE] + [{k: v for k, v in E.items() if k != "region"}] * 2),
    case("endpoint-failures", "endpoint", [dict(E, service="nope"), dict(E, endpoint_interface="private")]),
]

CASES = (DOMAIN_CASES + ADMIN_CASES + ROLE_CASES + USER_CASES + USER_INFO_CASES + PROJECT_CASES + RA_CASES +
         SERVICE_CASES + ENDPOINT_CASES)
# one playbook per group, the cases of no group spread over a few more (2-core machines); all at once
PARALLEL = 3
TEST = "test_identity_port_matches_real_module["


def selected(request):
    ids = {item.callspec.id for item in request.session.items if item.name.startswith(TEST)}
    return [param for param in CASES if param.id in ids]


def place_of(spec):
    """Which pair of servers a case runs on."""
    return spec["group"] if spec["group"] in ISOLATED else "shared"


def substitute(value, case_id, server):
    text = json.dumps(value).replace(P, case_id).replace(AUTH_URL, server.url)
    return json.loads(text)


def chunks(cases):
    """The playbooks: lists of cases, run in order."""
    groups = {}
    for param in cases:
        groups.setdefault(param.values[0]["group"], []).append(param)
    free = groups.pop(None, [])
    out = list(groups.values()) + [free[index::PARALLEL] for index in range(PARALLEL)]
    return [chunk for chunk in out if chunk]


def run_playbook(chunk, root, server, extra_env):
    tasks = []
    for param in chunk:
        for index, s in enumerate(param.values[0]["steps"]):
            tasks.append({"name": "%s#%d" % (param.id, index), "ignore_errors": True, "check_mode": s["check"],
                          "no_log": False, "environment": {"OS_CLIENT_CONFIG_FILE": str(server.clouds)},
                          s["module"]: substitute(s["args"], param.id, server)})
    root.mkdir(parents=True)
    playbook = root / "playbook.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    (root / "callbacks").mkdir()
    (root / "callbacks" / "record.py").write_text(RECORD_CALLBACK)
    record = root / "record.json"
    env = dict(os.environ)
    env.update(extra_env, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_STDOUT_CALLBACK="record",
               ANSIBLE_CALLBACK_PLUGINS=str(root / "callbacks"), RECORD_FILE=str(record),
               ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_PIPELINING="1")
    proc = subprocess.Popen([str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local", str(playbook),
                             "-e", "ansible_python_interpreter=" + sys.executable],
                            env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)  # its process group is its PID (stop_playbook)
    return proc, record


def stop_playbook(proc):
    """Kill a playbook left running, with its workers and modules (its own process group)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()


# ---------------------------------------------------------------------------
# normalising and reading Keystone back


HEX_ID = re.compile(r"\b[0-9a-f]{32}\b")
REQUEST_ID = re.compile(r"req-[0-9a-f-]{36}")


def normalise(value, server):
    if isinstance(value, str):
        value = value.replace("127.0.0.1:%d" % server.port, "@KEYSTONE@")
        return REQUEST_ID.sub("req-@REQ@", HEX_ID.sub("@ID@", value))
    if isinstance(value, list):
        return [normalise(item, server) for item in value]
    if isinstance(value, dict):
        return {normalise(k, server): normalise(v, server) for k, v in value.items()}
    return value


def admin_connection(server):
    """A connection whose admin token Keystone accepts.

    Right after the admin flow set the admin's password, a token issued in the same second is
    revoked (see A): log in again, for a few seconds at most, until a listing is allowed.
    """
    for attempt in range(40):
        conn = server.connect()
        answer = conn.identity.get("/domains")
        if answer.status_code != 401:
            return conn
        conn.close()
        time.sleep(0.1)
    raise AssertionError("Keystone on %s refuses every admin token: %s" % (server.url, answer.text))


def keystone_state(server):
    """Everything the API lists, with ids turned into names."""
    conn = admin_connection(server)

    def listing(path, key):
        answer = conn.identity.get(path)
        assert answer.status_code == 200, "GET %s on %s: %s %s" % (path, server.url, answer.status_code, answer.text)
        return answer.json()[key]

    try:
        domains = listing("/domains", "domains")
        projects = listing("/projects", "projects")
        users = listing("/users", "users")
        roles = listing("/roles", "roles")
        services = listing("/services", "services")
        endpoints = listing("/endpoints", "endpoints")
        assignments = listing("/role_assignments", "role_assignments")
    finally:
        conn.close()
    names = {}
    for kind, items in (("domain", domains), ("project", projects), ("user", users), ("role", roles),
                        ("service", services)):
        for item in items:
            names[item["id"]] = item["name"]
    strip = ("id", "links", "domain_id", "default_project_id", "service_id", "password_expires_at", "parent_id")

    def entry(item):
        out = {k: normalise(v, server) for k, v in item.items() if k not in strip}
        for key in ("domain_id", "default_project_id", "parent_id", "service_id"):
            if key in item:
                out[key[:-3]] = names.get(item[key], item[key])
        return out

    state = {
        "domain": {d["name"]: entry(d) for d in domains},
        "project": {(names.get(p["domain_id"]), p["name"]): entry(p) for p in projects},
        "user": {(names.get(u["domain_id"]), u["name"]): entry(u) for u in users},
        "role": {(r.get("domain_id"), r["name"]): entry(r) for r in roles},
        "service": {(s["name"], s["type"]): entry(s) for s in services},
        "endpoint": sorted([(names.get(e["service_id"]), e["interface"], e["region_id"], normalise(e["url"], server),
                             e["enabled"]) for e in endpoints], key=json.dumps),
        "assignment": sorted([(names.get(a["role"]["id"]),
                               names.get(a.get("user", {}).get("id")), names.get(a.get("group", {}).get("id")),
                               json.dumps({kind: names.get(v.get("id"), v) for kind, v in a["scope"].items()},
                                          sort_keys=True)) for a in assignments], key=json.dumps),
    }
    return state


def owned(name, case_id, shared=()):
    return isinstance(name, str) and (name.startswith(case_id + ".") or name in shared)


def case_state(state, case_id, spec, server):
    """The part of keystone_state that belongs to the case, and which passwords log in.

    Resources are the case's by their name (domains, projects, users and roles by the name
    itself, not their domain's); endpoints by their service; role assignments by their user or
    group, or by a role, project or domain named after the case.
    """
    shared = spec["shared"]
    out = {kind: {json.dumps(k): v for k, v in items.items()
                  if owned(k[-1] if isinstance(k, tuple) else k, case_id, shared)}
           for kind, items in state.items() if isinstance(items, dict)}
    out["domain"].update({k: v for k, v in state["domain"].items() if k.lower() in shared})
    out["endpoint"] = [e for e in state["endpoint"] if owned(e[0], case_id, shared)]
    out["assignment"] = [a for a in state["assignment"] if owned(a[1], case_id, shared) or
                         owned(a[2], case_id, shared) or owned(a[0], case_id) or
                         any(owned(name, case_id) for name in json.loads(a[3]).values())]
    logins = {}
    for user, passwords in spec["passwords"].items():
        user = user.replace(P, case_id)
        for password in passwords:
            logins["%s/%s" % (user, password)] = logs_in(server, user, password)
    out["logins"] = logins
    return out


def logs_in(server, user, password):
    from keystoneauth1 import exceptions, session
    from keystoneauth1.identity import v3
    auth = v3.Password(auth_url=server.url, username=user, password=password, user_domain_id="default")
    try:
        session.Session(auth=auth).get_token()
        return True
    except exceptions.Unauthorized:
        return False


# ---------------------------------------------------------------------------
# the test


@pytest.fixture(scope="session")
def identity_runs(request, tmp_path_factory, keystones):
    """What the real modules did, per selected case: {id: [results]}, and the real Keystone's state after
    them, per place: {place: state}."""
    from support.corpus import ansible_extras
    extra_env = {"ANSIBLE_COLLECTIONS_PATH": str(ansible_extras().collections_path)}
    root = tmp_path_factory.mktemp("identity-real")
    runs, started = {}, []
    try:
        for index, chunk in enumerate(chunks(selected(request))):
            server = keystones["real", place_of(chunk[0].values[0])]
            started.append((chunk,) + run_playbook(chunk, root / str(index), server, extra_env))
        for chunk, proc, record in started:
            output = proc.communicate()[0]
            assert record.exists(), output
            results = json.loads(record.read_text())
            for param in chunk:
                runs[param.id] = [results["%s#%d" % (param.id, i)] for i in range(len(param.values[0]["steps"]))]
    finally:
        for _, proc, _ in started:  # playbooks left running when another one failed
            stop_playbook(proc)
    return runs, {place: keystone_state(server) for (side, place), server in keystones.items() if side == "real"}


@pytest.mark.parametrize("spec", CASES)
def test_identity_port_matches_real_module(spec, request, identity_runs, keystones):
    case_id = request.node.callspec.id
    runs, real_states = identity_runs
    ran = runs[case_id]
    place = place_of(spec)
    server, real = keystones["port", place], keystones["real", place]
    ctx = Context(environment={"OS_CLIENT_CONFIG_FILE": str(server.clouds)})
    for index, s in enumerate(spec["steps"]):
        ctx.check_mode, ctx.warnings = s["check"], []
        try:
            got = MODULES[s["module"]](substitute(s["args"], case_id, server), ctx)
        except ModuleFailed as ex:
            got = ex.result
        got = normalise(compared(dict(got), ()), server)
        expected = normalise(compared(ran[index], ()), real)
        got.setdefault("changed", False)
        expected.setdefault("changed", False)
        if got.get("failed") is False:  # ansible-core drops failed: false from a result
            del got["failed"]
        if s["module"].endswith("identity_domain_info") and "name" not in s["args"]:
            # a listing of all domains also shows what other cases made, depending on when each side
            # ran them: compare the bootstrap's domain and the case's own
            for found in (got, expected):
                if isinstance(found.get("domains"), list):
                    found["domains"] = [d for d in found["domains"] if isinstance(d, dict) and (
                        str(d.get("name", "")).lower() == "default" or owned(d.get("name"), case_id))]
        for found in (got, expected):  # Keystone lists by id, and the ids differ between the servers
            for key in ("domains", "users"):
                if isinstance(found.get(key), list):
                    found[key] = sorted(found[key], key=lambda item: json.dumps(item, sort_keys=True))
        assert got == expected, "step %d: %s %s" % (index, s["module"], s["args"])
    assert (case_state(keystone_state(server), case_id, spec, server) ==
            case_state(real_states[place], case_id, spec, real))
