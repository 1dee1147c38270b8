"""A throw-away, real Directord 0.12.0 cluster on 127.0.0.1 for tests.

    with DirectordCluster(tmp_path, identities=("node-0", "node-1")) as cluster:
        result = cluster.orchestrate(["site.yaml"])
        result.assert_ok()            # AssertionError shows failed jobs' STDERR/INFO per node

Public API (see the docstrings):

    DirectordCluster(tmpdir, identities=("node-0",), components_dir=None, *,
                     start_timeout=60.0, debug=False)
        .start() / .close() / context manager
        .orchestrate(files, ignore_cache=True, *, targets=None, cwd=None,
                     components_dir=None, timeout=300.0) -> OrchestrateResult
        .evict_caches(timeout=60.0) -> OrchestrateResult   (CACHEEVICT all on every node)
        .install_components(components_dir) -> list[str]
        .list_nodes() -> list[str]; .list_jobs() -> dict; .job_info(id) -> dict | None
        .purge_jobs(); .manage(*args) -> CompletedProcess (the real CLI)
        .cli(*args) -> argv with all the global options; .log_tails(lines=30) -> str
        .pids() -> list[int] (running); attributes: started_pids, identities,
          socket_path, job_port, backend_port, python, log_dir, client_workdirs,
          startup_seconds
    OrchestrateResult: returncode, stdout, stderr, jobs (list[JobRecord]),
        duration, timed_out; .ok, .failed_jobs, .summary(), .assert_ok()
    directord_processes(marker=None) -> list[(pid, cmdline)]  (stale process check)
    stale_harness_processes() -> list[(pid, cmdline)]  (orphans of crashed runs)
    leaked_processes() -> list[int]; kill_leaked_processes() -> list[int]
        (process groups this Python process started that are still alive)

Design notes (verified against directord 0.12.0's source):

* Every invocation gets ``--driver zeromq`` (the default grpcd silently falls back
  to a dummy driver), ``--config-file <tmp>/directord.yaml`` (a missing file, so
  /etc/directord/config.yaml can never override our arguments), our own socket,
  free job/backend ports and cache paths, all *before* the subcommand.  DIRECTORD_*
  variables are removed from the environment.
* Several clients on one machine need distinct ``client --machine-id`` (a
  subcommand option) and distinct ``--cache-path`` (a shared one makes all nodes
  share one args cache): server.handle_heartbeat refuses, from the second heartbeat
  on, a worker whose machine id another worker has, so it would expire mid-run.
* Every file in a component directory is imported when a client starts
  (utils.component_lock_search, ``load_module(<file stem>)``): a component that
  fails to import makes every client die at start-up (start() then raises with the
  traceback in the log tails), and a file named like a module Directord uses
  (``yaml.py``, ``json.py``, ...) would replace it in the client's sys.modules.
* Components.  ``directord.component_import`` looks for non-built-in ``<verb>.py``
  in ``<sys.prefix>/share/directord/components`` (only when running in a venv), then
  ``<sys.base_prefix>/share/...``, then ``/etc/directord/components``.  Instead of
  copying files into the shared project venv (racy under pytest-xdist, and a crash
  would leave them behind), each cluster builds a private, empty *overlay venv*
  under tmpdir (``venv.EnvBuilder(symlinks=True, with_pip=False)``, ~25 ms) whose
  site-packages has a .pth that adds the project venv's site-packages, and runs
  server, clients and the ``orchestrate``/``manage`` CLI with the overlay's python.
  Its sys.prefix is then private, so ``<overlay>/share/directord/components`` holds
  symlinks to Directord's contrib components plus *copies* of the given
  components_dir, for this cluster only; nothing shared is modified.
* install_components() removes the component path's ``__pycache__``, so that a
  re-installed component of equal size and mtime second is never served from a
  stale .pyc (bytecode is otherwise allowed: clients import components per job).
* Unavoidable side effect: for every non-built-in verb, ``orchestrate`` (mixin.
  format_action) also submits a hidden ``WORKDIR /etc/directord/components`` +
  ``ADD <component> /etc/directord/components/`` to the targets; here all clients
  share this machine's /etc.  Our clients never load from there (the overlay's
  sys.prefix comes first), but a client's start-up imports every file in it
  (utils.component_lock_search), so a broken leftover would crash later clients.
  close() therefore removes the files that appeared there during the cluster's
  lifetime and whose names match a component this cluster knew, and removes
  /etc/directord(/components) again if it created them and they are empty.
* Processes: each started with start_new_session (own process group), stopped with
  SIGTERM to the group, then SIGKILL after a grace period; the leader is reaped.
  ``RUN --no-block`` children start their own session and are NOT covered.
* The server must run as root: it chowns its socket to uid 0.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import site
import socket
import subprocess
import sys
import tempfile
import time
import venv
import warnings
from pathlib import Path
from typing import Sequence

import yaml

ETC_DIR = Path("/etc/directord")
ETC_COMPONENTS = ETC_DIR / "components"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# AF_UNIX sun_path is 108 bytes including the NUL.
MAX_SOCKET_PATH = 100
# PROCESSING values in job records (drivers/__init__.py): job_end, job_failed, ...
_PROCESSING_NAMES = {"\x04": "end", "\x15": "failed", "\x16": "processing", "\x00": "null", "\x03": "transfer_end"}


class DirectordClusterError(RuntimeError):
    pass


# Every process group this Python process started, for leaked_processes().
_STARTED_PGIDS: list[int] = []


def leaked_processes() -> list[int]:
    """Process groups started by DirectordCluster in this process that still exist."""

    alive = []
    for pgid in _STARTED_PGIDS:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            continue
        except PermissionError:
            pass
        alive.append(pgid)
    return alive


def kill_leaked_processes() -> list[int]:
    """SIGKILL every process group leaked_processes() reports; returns them."""

    leaked = leaked_processes()
    for pgid in leaked:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass
    return leaked


def _directord_pkg_site() -> str:
    import directord

    return str(Path(directord.__file__).resolve().parent.parent)


def directord_processes(marker: str | None = None) -> list[tuple[int, str]]:
    """(pid, cmdline) of running Directord server/client/CLI processes.

    marker: only those whose command line contains it (e.g. a cluster's socket path).
    """

    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        cmd = raw.replace(b"\0", b" ").decode(errors="replace").strip()
        if not cmd or "directord" not in cmd:
            continue
        if not re.search(r"\b(server|client|orchestrate|manage|exec)\b", cmd):
            continue
        if marker is not None and marker not in cmd:
            continue
        if int(entry.name) == os.getpid():
            continue
        found.append((int(entry.name), cmd))
    return found


def stale_harness_processes() -> list[tuple[int, str]]:
    """Harness-started Directord processes whose parent is gone (ppid 1).

    Our server/client processes are direct children of the Python process that
    started them; one reparented to init is left over from a run that crashed or
    was killed before close(). Reported (start() warns), never killed here: it
    may belong to another user's session.
    """

    stale = []
    for pid, cmd in directord_processes(marker="/directord-cluster/prefix/bin/directord"):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == "1":  # ppid
            stale.append((pid, cmd))
    return stale


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _listening_ports() -> set[int]:
    """Local TCP ports in LISTEN state on this machine (/proc/net/tcp{,6})."""

    ports = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A":  # TCP_LISTEN
                        ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        return f"<{e}>"
    return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------- results


@dataclasses.dataclass
class JobRecord:
    """One job as the server reports it (manage job_info)."""

    job_id: str
    verb: str
    name: str | None
    parent_name: str | None
    state: str  # end | failed | processing | ... | unknown
    nodes: list[str]
    success: list[str]
    failed: list[str]
    stdout: dict
    stderr: dict
    info: dict
    definition: dict
    raw: dict

    @classmethod
    def from_raw(cls, job_id: str, raw: dict) -> "JobRecord":
        definition = raw.get("JOB_DEFINITION") or {}
        processing = raw.get("PROCESSING")
        return cls(
            job_id=job_id,
            verb=raw.get("VERB") or definition.get("verb", "?"),
            name=definition.get("job_name"),
            parent_name=definition.get("parent_name"),
            state=_PROCESSING_NAMES.get(processing, repr(processing)),
            nodes=list(raw.get("_nodes") or []),
            success=list(raw.get("SUCCESS") or []),
            failed=list(raw.get("FAILED") or []),
            stdout=dict(raw.get("STDOUT") or {}),
            stderr=dict(raw.get("STDERR") or {}),
            info=dict(raw.get("INFO") or {}),
            definition=definition,
            raw=raw,
        )

    @property
    def ok(self) -> bool:
        return not self.failed and self.state != "failed" and set(self.success) >= set(self.nodes)

    def describe(self) -> str:
        what = self.definition.get("command") or {
            k: v for k, v in self.definition.items()
            if k not in {"verb", "job_sha3_224", "parent_id", "parent_sha3_224", "job_id", "return_raw",
                         "skip_cache", "timeout", "run_once", "parent_name", "job_name", "targets"}
        }
        head = f"{self.verb} [{self.job_id}] state={self.state} success={self.success} failed={self.failed}"
        if self.name:
            head += f" name={self.name!r}"
        lines = [head, f"  job: {what}"]
        for node in sorted(set(self.nodes) | set(self.stdout) | set(self.stderr) | set(self.info)):
            if node in self.success and not self.failed:
                continue
            for label, d in (("INFO", self.info), ("STDOUT", self.stdout), ("STDERR", self.stderr)):
                if d.get(node):
                    text = str(d[node]).strip()
                    if len(text) > 2000:
                        text = text[:2000] + "...<truncated>"
                    lines.append(f"  {node} {label}: " + text.replace("\n", "\n    "))
        return "\n".join(lines)


@dataclasses.dataclass
class OrchestrateResult:
    returncode: int | None
    stdout: str
    stderr: str
    jobs: list[JobRecord]  # the submitted jobs, in submission order
    hidden_jobs: list[JobRecord]  # e.g. component transfers, not waited for by the CLI
    duration: float
    timed_out: bool = False
    command: list[str] = dataclasses.field(default_factory=list)
    logs: str = ""  # cluster log tails, filled when a job never finished

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and all(j.ok for j in self.jobs)

    @property
    def failed_jobs(self) -> list[JobRecord]:
        return [j for j in self.jobs if not j.ok]

    @property
    def server_seconds(self) -> float | None:
        """The server's own span of the run: first job created to last job's last
        update (what `directord manage --analyze-parent` reports), without the
        CLI's status polling (it sleeps 0.25-1 s between looks at each job)."""
        created = [j.raw.get("_createtime") for j in self.jobs + self.hidden_jobs]
        updated = [j.raw.get("_lasttime") for j in self.jobs + self.hidden_jobs]
        created = [t for t in created if isinstance(t, (int, float))]
        updated = [t for t in updated if isinstance(t, (int, float))]
        return max(updated) - min(created) if created and updated else None

    def summary(self) -> str:
        head = f"directord orchestrate exit={self.returncode}"
        if self.timed_out:
            head += " (TIMED OUT, killed)"
        head += f" in {self.duration:.1f}s, {len(self.jobs)} jobs, {len(self.failed_jobs)} not ok"
        parts = [head]
        for job in self.failed_jobs:
            parts.append(job.describe())
        bad_hidden = [j for j in self.hidden_jobs if not j.ok]
        for job in bad_hidden:
            parts.append("(hidden) " + job.describe())
        if self.returncode not in (0, 1) or not self.jobs:
            stdout = "\n".join(line for line in self.stdout.splitlines() if "Please wait..." not in line)
            parts.append("stdout:\n" + stdout[-3000:])
            parts.append("stderr:\n" + self.stderr[-3000:])
        if self.logs:
            parts.append("cluster logs (a job still processing usually means an exception escaped a "
                         "component's client(), look for CRITICAL):\n" + self.logs)
        return "\n".join(parts)

    def assert_ok(self) -> "OrchestrateResult":
        if not self.ok:
            raise AssertionError(self.summary())
        return self


# --------------------------------------------------------------------------- cluster


class DirectordCluster:
    """Server + N clients on 127.0.0.1; see the module docstring."""

    def __init__(
        self,
        tmpdir: os.PathLike | str,
        identities: Sequence[str] = ("node-0",),
        components_dir: os.PathLike | str | None = None,
        *,
        start_timeout: float = 60.0,
        debug: bool = False,
    ):
        if isinstance(identities, str):
            identities = (identities,)
        if len(set(identities)) != len(identities) or not identities:
            raise ValueError(f"identities must be unique and non-empty: {identities!r}")
        self.root = Path(tmpdir).resolve() / "directord-cluster"
        self.identities = tuple(identities)
        self.components_dir = Path(components_dir) if components_dir else None
        self.start_timeout = start_timeout
        self.debug = debug

        self.log_dir = self.root / "logs"
        self.overlay = self.root / "prefix"
        self.python = str(self.overlay / "bin" / "python")
        self.launcher = str(self.overlay / "bin" / "directord")
        self.config_file = str(self.root / "directord.yaml")  # never created
        self.server_cache = self.root / "server-cache"
        self.client_caches = {i: self.root / f"client-cache-{i}" for i in self.identities}
        # cwd of each client, i.e. of every RUN job on that node
        self.client_workdirs = {i: self.root / f"workdir-{i}" for i in self.identities}
        self.socket_path: str | None = None
        self._socket_tmpdir: str | None = None
        self.job_port: int | None = None
        self.backend_port: int | None = None

        self._procs: dict[str, subprocess.Popen] = {}
        self.started_pids: list[int] = []  # every server/client ever spawned (= pgids)
        self._logs: dict[str, Path] = {}
        self._log_handles: list = []
        self._known_components: set[str] = set()
        self._etc_before: set[str] | None = None
        self._etc_dir_existed = True
        self._etc_components_existed = True
        self._started = False
        self._closed = False
        self.startup_seconds: float | None = None

    # ------------------------------------------------------------------ context

    def __enter__(self) -> "DirectordCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):  # last resort; tests should use the context manager
        try:
            if self._started and not self._closed:
                self.close()
        except Exception:
            pass

    # ------------------------------------------------------------------ setup

    @property
    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIRECTORD_")}
        env.pop("PYTHONHOME", None)
        # Bytecode allowed: clients import a component afresh for every job, and
        # compiling the TASK runtime each time would add ~50 ms per job.
        # install_components() drops the component path's __pycache__ instead.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _make_overlay(self) -> None:
        venv.EnvBuilder(with_pip=False, symlinks=True, clear=True).create(self.overlay)
        purelib = subprocess.run(
            [self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True, env=self.env,
        ).stdout.strip()
        sites = [_directord_pkg_site()] + [p for p in site.getsitepackages() if p != _directord_pkg_site()]
        lines = "".join(f"import site; site.addsitedir({p!r})\n" for p in sites)
        Path(purelib, "_tm_directord_overlay.pth").write_text(lines)
        Path(self.launcher).write_text(
            f"#!{self.python}\nimport sys\nfrom directord.main import main\nsys.exit(main())\n"
        )
        os.chmod(self.launcher, 0o755)
        share = self.overlay / "share" / "directord" / "components"
        share.mkdir(parents=True, exist_ok=True)
        contrib = Path(sys.prefix) / "share" / "directord" / "components"
        if contrib.is_dir():
            for f in sorted(contrib.glob("*.py")):
                (share / f.name).symlink_to(f)
                self._known_components.add(f.name)

    @property
    def components_share(self) -> Path:
        return self.overlay / "share" / "directord" / "components"

    def install_components(self, components_dir: os.PathLike | str) -> list[str]:
        """Copy components_dir/*.py into this cluster's private component path.

        Works before or after start(): clients import a component file afresh for
        every job. A file of the same name replaces the previous one (including a
        contrib one). Returns the installed file names.
        """

        src = Path(components_dir)
        if not src.is_dir():
            raise FileNotFoundError(f"components dir {src} does not exist")
        installed = []
        for f in sorted(src.glob("*.py")):
            if f.name == "__init__.py":
                continue
            dest = self.components_share / f.name
            if dest.is_symlink() or dest.exists():
                dest.unlink()
            shutil.copy2(f, dest)
            installed.append(f.name)
            self._known_components.add(f.name)
        # a replaced file of equal size and mtime second would else run from a stale .pyc
        shutil.rmtree(self.components_share / "__pycache__", ignore_errors=True)
        return installed

    def cli(self, *args: str, cache_path: os.PathLike | str | None = None,
            identity: str | None = None) -> list[str]:
        """argv for a directord CLI call: global options, then args (subcommand...).

        cache_path defaults to the server's; every client needs its own (they hold
        the node's args/envs and job results; a shared one makes all nodes one).
        """

        argv = [
            self.python, self.launcher,
            "--driver", "zeromq",
            "--config-file", self.config_file,
            "--socket-path", self.socket_path,
            "--job-port", str(self.job_port),
            "--backend-port", str(self.backend_port),
            "--cache-path", str(cache_path or self.server_cache),
        ]
        if identity is not None:
            argv += ["--identity", identity]  # a global option: before the subcommand
        if self.debug:
            argv.append("--debug")
        return argv + list(args)

    def _spawn(self, key: str, argv: list[str], cwd: Path) -> None:
        log = self.log_dir / f"{key}.log"
        fh = open(log, "ab")
        self._log_handles.append(fh)
        self._logs[key] = log
        self._procs[key] = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
            cwd=cwd, env=self.env, start_new_session=True,
        )
        _STARTED_PGIDS.append(self._procs[key].pid)
        self.started_pids.append(self._procs[key].pid)

    def start(self) -> "DirectordCluster":
        if self._closed:
            raise DirectordClusterError("a closed cluster cannot be restarted; make a new one")
        if self._started:
            return self
        if os.geteuid() != 0:
            raise DirectordClusterError("Directord's server must run as root (it chowns its socket to uid 0)")
        self._started = True
        t0 = time.monotonic()
        stale = stale_harness_processes()
        if stale:
            warnings.warn(
                "stale Directord harness processes from an earlier run (kill them by pid): "
                + "; ".join(f"{pid}: {cmd[:160]}" for pid, cmd in stale),
                stacklevel=2,
            )
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.log_dir.mkdir(exist_ok=True)
            self._snapshot_etc()
            self._make_overlay()
            if self.components_dir is not None:
                self.install_components(self.components_dir)
            for d in [self.server_cache, *self.client_caches.values(), *self.client_workdirs.values()]:
                d.mkdir(parents=True, exist_ok=True)
            sock = self.root / "d.sock"
            if len(str(sock)) > MAX_SOCKET_PATH:
                self._socket_tmpdir = tempfile.mkdtemp(prefix="dd-")
                sock = Path(self._socket_tmpdir) / "d.sock"
            self.socket_path = str(sock)

            for attempt in range(3):
                self.job_port, self.backend_port = _free_ports(2)
                self._spawn(
                    f"server-{attempt}" if attempt else "server",
                    self.cli("server", "--zmq-bind-address", "127.0.0.1"),
                    self.root,
                )
                if self._wait_server_socket():
                    break
                self._stop_all()  # port race or crash: retry with new ports
            else:
                raise DirectordClusterError("server did not come up\n" + self.log_tails())

            for n, identity in enumerate(self.identities):
                argv = self.cli("client", "--zmq-server-address", "127.0.0.1",
                                "--machine-id", f"tm-{os.getpid()}-{id(self):x}-{n}",
                                cache_path=self.client_caches[identity], identity=identity)
                self._spawn(f"client-{identity}", argv, self.client_workdirs[identity])

            self._wait_nodes()
        except BaseException:
            self.close()
            raise
        self.startup_seconds = time.monotonic() - t0
        return self

    def _wait_server_socket(self) -> bool:
        """True once the server answers on its socket and listens on both ports.

        False if it died (e.g. a port taken between choosing and binding: the
        zmq bind fails in a child process and the server exits soon after).
        """

        deadline = time.monotonic() + self.start_timeout
        key, proc = list(self._procs.items())[-1]  # the server just spawned
        ports = {self.job_port, self.backend_port}
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            if "Address already in use" in _tail(self._logs[key], 200):
                return False
            if os.path.exists(self.socket_path) and ports <= _listening_ports():
                try:
                    self._manage_raw("list_nodes")
                    return True
                except OSError:
                    pass
            time.sleep(0.05)
        raise DirectordClusterError(
            f"server not ready after {self.start_timeout}s (socket {self.socket_path}, "
            f"ports {sorted(ports)})\n" + self.log_tails()
        )

    def _wait_nodes(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        want = set(self.identities)
        seen: list[str] = []
        while time.monotonic() < deadline:
            dead = {k: p.returncode for k, p in self._procs.items() if p.poll() is not None}
            if dead:
                raise DirectordClusterError(f"processes exited during start-up: {dead}\n" + self.log_tails())
            try:
                seen = self.list_nodes()
            except OSError:
                seen = []
            if want <= set(seen):
                return
            time.sleep(0.1)
        raise DirectordClusterError(
            f"clients {sorted(want - set(seen))} did not register within {self.start_timeout}s "
            f"(listed: {seen})\n" + self.log_tails()
        )

    # ------------------------------------------------------------------ manage

    def _manage_raw(self, key: str, value=None, timeout: float = 30.0):
        """The server's `manage` socket protocol (what `directord manage` sends)."""

        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(self.socket_path)
            s.sendall(json.dumps({"manage": {key: value}}).encode())
            chunks = []
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        return json.loads(b"".join(chunks) or b"null")

    def list_nodes(self) -> list[str]:
        """Identities of the live workers (same data as `manage --list-nodes`)."""

        return [identity for identity, _ in self._manage_raw("list_nodes") or []]

    def list_jobs(self) -> dict[str, dict]:
        return dict(self._manage_raw("list_jobs") or [])

    def job_info(self, job_id: str) -> dict | None:
        data = dict(self._manage_raw("job_info", job_id) or [])
        return data.get(job_id) or None

    def purge_jobs(self) -> None:
        self._manage_raw("purge_jobs")

    def manage(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
        """Run the real `directord manage ARGS` (e.g. '--list-nodes')."""

        return subprocess.run(self.cli("manage", *args), capture_output=True, text=True,
                              env=self.env, timeout=timeout, cwd=self.root)

    # ------------------------------------------------------------------ orchestrate

    def _materialise(self, files) -> list[Path]:
        if isinstance(files, (str, os.PathLike)):
            return [Path(files).resolve()]
        files = list(files)
        if files and all(isinstance(f, (str, os.PathLike)) for f in files):
            return [Path(f).resolve() for f in files]
        # in-memory orchestration data
        gen = self.root / "generated"
        gen.mkdir(exist_ok=True)
        path = gen / f"orchestration-{time.monotonic_ns()}.yaml"
        path.write_text(yaml.safe_dump(files, sort_keys=False))
        return [path]

    def orchestrate(
        self,
        files,
        ignore_cache: bool = True,
        *,
        targets: Sequence[str] | None = None,
        cwd: os.PathLike | str | None = None,
        components_dir: os.PathLike | str | None = None,
        timeout: float = 300.0,
    ) -> OrchestrateResult:
        """Run `directord orchestrate --wait [--ignore-cache] FILES` and collect job records.

        files: path(s) or in-memory orchestration data (a list of dicts).
        cwd: where ADD/COPY sources are resolved; default the first file's directory.
        targets: `--target` override for all orchestrations.
        Never raises on job failure: check result.ok / result.assert_ok().
        """

        self._require_running()
        if components_dir is not None:
            self.install_components(components_dir)
        paths = self._materialise(files)
        args = ["orchestrate", "--wait"]
        if ignore_cache:
            args.append("--ignore-cache")
        if targets:
            args += ["--target", *targets]
        argv = self.cli(*args, *map(str, paths))
        before = set(self.list_jobs())
        t0 = time.monotonic()
        timed_out = False
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=str(cwd or paths[0].parent), env=self.env, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc, grace=2.0)
            out, err = proc.communicate()
        finally:
            if proc.poll() is None:
                _kill_group(proc, grace=0.5)
        duration = time.monotonic() - t0
        # Job ids printed by --wait ("Job Success: <id>"), in submission order.
        printed = list(dict.fromkeys(UUID_RE.findall(out)))
        jobs_now = self.list_jobs()
        new = {k: v for k, v in jobs_now.items() if k not in before}
        ordered_ids = printed + sorted((k for k in new if k not in printed),
                                       key=lambda k: new[k].get("_createtime", 0))
        records, hidden = [], []
        for job_id in ordered_ids:
            raw = jobs_now.get(job_id) or self.job_info(job_id) or {}
            rec = JobRecord.from_raw(job_id, raw)
            # component transfers (mixin.format_action) are unnamed WORKDIR/ADD jobs into /etc
            is_transfer = (
                job_id not in printed
                and rec.verb in ("WORKDIR", "ADD")
                and "/etc/directord/components" in json.dumps(rec.definition)
            )
            (hidden if is_transfer else records).append(rec)
        logs = ""
        if timed_out or any(j.state == "processing" for j in records):
            logs = self.log_tails(40)
        return OrchestrateResult(
            returncode=proc.returncode if not timed_out else None,
            stdout=out, stderr=err, jobs=records, hidden_jobs=hidden,
            duration=duration, timed_out=timed_out, command=argv, logs=logs,
        )

    def evict_caches(self, timeout: float = 60.0) -> OrchestrateResult:
        """CACHEEVICT all on every node (args, envs, query and job results)."""

        result = self.orchestrate(
            [{"name": "evict caches", "targets": list(self.identities), "jobs": [{"CACHEEVICT": "all"}]}],
            ignore_cache=True, timeout=timeout,
        )
        return result.assert_ok()

    # ------------------------------------------------------------------ diagnostics

    def log_tails(self, lines: int = 30) -> str:
        parts = []
        for key, path in self._logs.items():
            proc = self._procs.get(key)
            state = "not started" if proc is None else (
                "running" if proc.poll() is None else f"exit {proc.returncode}")
            parts.append(f"--- {key} ({state}) {path} ---\n{_tail(path, lines)}")
        return "\n".join(parts)

    def pids(self) -> list[int]:
        return [p.pid for p in self._procs.values()]

    def _require_running(self) -> None:
        if not self._started or self._closed:
            raise DirectordClusterError("cluster is not running")
        dead = {k: p.returncode for k, p in self._procs.items() if p.poll() is not None}
        if dead:
            raise DirectordClusterError(f"cluster processes died: {dead}\n" + self.log_tails())

    # ------------------------------------------------------------------ teardown

    def _stop_all(self, grace: float = 5.0) -> None:
        procs = list(self._procs.items())
        for _, p in procs:
            _signal_group(p, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for _, p in procs:
            _wait_group(p, deadline)
        for _, p in procs:
            if _group_alive(p):
                _signal_group(p, signal.SIGKILL)
        for _, p in procs:
            _wait_group(p, time.monotonic() + 5.0)
        self._procs.clear()

    def close(self) -> None:
        """Stop every process we started (by process group), clean up /etc leftovers."""

        if self._closed:
            return
        self._closed = True
        try:
            self._stop_all()
        finally:
            for fh in self._log_handles:
                try:
                    fh.close()
                except OSError:
                    pass
            self._log_handles.clear()
            self._cleanup_etc()
            if self._socket_tmpdir:
                shutil.rmtree(self._socket_tmpdir, ignore_errors=True)

    def _snapshot_etc(self) -> None:
        self._etc_dir_existed = ETC_DIR.exists()
        self._etc_components_existed = ETC_COMPONENTS.exists()
        self._etc_before = set(os.listdir(ETC_COMPONENTS)) if ETC_COMPONENTS.is_dir() else set()

    def _cleanup_etc(self) -> None:
        if self._etc_before is None:
            return
        if ETC_COMPONENTS.is_dir():
            for name in os.listdir(ETC_COMPONENTS):
                if name in self._etc_before or name not in self._known_components:
                    continue
                try:
                    (ETC_COMPONENTS / name).unlink()
                except OSError:
                    pass
        if not self._etc_components_existed:
            _rmdir_quiet(ETC_COMPONENTS / "__pycache__")
            _rmdir_quiet(ETC_COMPONENTS)
        if not self._etc_dir_existed:
            _rmdir_quiet(ETC_DIR)


def _rmdir_quiet(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # start_new_session: pgid == pid
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(proc: subprocess.Popen) -> bool:
    proc.poll()  # reap the leader so a zombie does not keep the group "alive"
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_group(proc: subprocess.Popen, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if not _group_alive(proc):
            return True
        time.sleep(0.02)
    return not _group_alive(proc)


def _kill_group(proc: subprocess.Popen, grace: float) -> None:
    _signal_group(proc, signal.SIGTERM)
    if not _wait_group(proc, time.monotonic() + grace):
        _signal_group(proc, signal.SIGKILL)
        _wait_group(proc, time.monotonic() + 5.0)
