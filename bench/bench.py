#!/usr/bin/env python3
"""Benchmark tripleo-migrate on the real corpus (tripleo-ansible 6.0.0). A script, not a test.

    python bench/bench.py [--out DIR] [--json FILE] [--runs N] [--skip-convert]

Measures, each command in its own helper process (so RUSAGE_CHILDREN's peak RSS belongs to that
command alone):
  (a) cold conversion: tripleo-migrate convert roles playbooks -o OUT --quiet   (fresh OUT, median of N)
  (b) warm re-run:     the same into the same OUT with --force (median of N)
  (c) ansible-playbook --syntax-check playbooks/deploy-overcloud-compute.yml (median of N)
  (d) PyYAML CSafeLoader load of the 399 role task/handler and playbook files (median of N)
and checks the targets: cold / syntax check < 1, warm / cold < 0.25, converter peak RSS < 300 MB.

Exit status: 0 every target met; 1 a target failed or the converter failed; 2 setup failed (no
corpus, the syntax check itself fails); 3 the converter is not there yet (no migrator.cli or no
tripleo-migrate script), so the conversion targets could not be measured (use --skip-convert to
measure the rest and exit 0).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

TARGET_COLD_VS_SYNTAX = 1.0
TARGET_WARM_VS_COLD = 0.25
TARGET_PEAK_RSS_MB = 300.0
SYNTAX_PLAYBOOK = "playbooks/deploy-overcloud-compute.yml"

EXIT_OK, EXIT_TARGET, EXIT_SETUP, EXIT_NO_CONVERTER = 0, 1, 2, 3


def _load_corpus():
    name = "tripleo_migrate_tests_support_corpus"
    if name in sys.modules:
        return sys.modules[name]
    path = REPO / "tests" / "support" / "corpus.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# A helper process that runs one command and reports its wall time and peak RSS. Within the
# helper, RUSAGE_CHILDREN covers only that command (and its waited-for descendants): its
# ru_maxrss is the largest single process. A sampler thread also sums the RSS of the whole
# process tree every 20 ms (psutil, when importable) for commands that run worker processes.
_HELPER = r"""
import json, os, resource, subprocess, sys, threading, time
spec = json.loads(sys.argv[1])
peak_tree = [0]
def sample(pid, stop):
    try:
        import psutil
    except ImportError:
        return
    try:
        root = psutil.Process(pid)
    except psutil.Error:
        return
    while not stop.is_set():
        total = 0
        try:
            procs = [root] + root.children(recursive=True)
        except psutil.Error:
            break
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        peak_tree[0] = max(peak_tree[0], total)
        stop.wait(0.02)
with open(spec["stdout"], "wb") as out, open(spec["stderr"], "wb") as err:
    start = time.perf_counter()
    proc = subprocess.Popen(spec["cmd"], cwd=spec["cwd"], stdout=out, stderr=err, stdin=subprocess.DEVNULL)
    stop = threading.Event()
    thread = threading.Thread(target=sample, args=(proc.pid, stop), daemon=True)
    thread.start()
    rc = proc.wait()
    wall = time.perf_counter() - start
    stop.set()
    thread.join()
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
print(json.dumps({"rc": rc, "wall_s": wall, "maxrss_bytes": ru.ru_maxrss * scale,
                  "tree_peak_bytes": peak_tree[0], "user_s": ru.ru_utime, "sys_s": ru.ru_stime}))
"""


class Measured(dict):
    @property
    def peak_bytes(self) -> int:
        return max(self["maxrss_bytes"], self["tree_peak_bytes"])


def measure(cmd: list[str], cwd: Path, env: dict[str, str], logdir: Path, label: str) -> Measured:
    stdout, stderr = logdir / f"{label}.out", logdir / f"{label}.err"
    spec = {"cmd": cmd, "cwd": str(cwd), "stdout": str(stdout), "stderr": str(stderr)}
    proc = subprocess.run(
        [sys.executable, "-c", _HELPER, json.dumps(spec)], env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"measuring helper failed for {label}: {proc.stderr}")
    result = Measured(json.loads(proc.stdout))
    result["stdout"] = stdout.read_text(errors="replace")
    result["stderr"] = stderr.read_text(errors="replace")
    return result


def tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def mb(n: float) -> float:
    return n / (1024 * 1024)


# ------------------------------------------------------------------------------------ (d) YAML

_YAML_LOAD = r"""
import json, resource, sys, time, yaml
files = open(sys.argv[1]).read().splitlines()
start = time.perf_counter()
docs = 0
for f in files:
    with open(f, "rb") as fh:
        docs += len(list(yaml.load_all(fh, Loader=yaml.CSafeLoader)))
elapsed = time.perf_counter() - start
print(json.dumps({"load_s": elapsed, "files": len(files), "docs": docs}))
"""


def bench_yaml(corpus, tree: Path, runs: int, logdir: Path) -> dict:
    files = corpus.role_task_files(tree / "roles") + corpus.playbook_files(tree / "playbooks")
    listing = logdir / "yaml-files.txt"
    listing.write_text("\n".join(map(str, files)) + "\n")
    size = sum(f.stat().st_size for f in files)
    samples = []
    for i in range(runs):
        m = measure([sys.executable, "-c", _YAML_LOAD, str(listing)], tree, dict(os.environ), logdir, f"yaml-{i}")
        if m["rc"] != 0:
            raise RuntimeError(f"YAML load failed:\n{tail(m['stderr'])}")
        inner = json.loads(m["stdout"])
        samples.append({"load_s": inner["load_s"], "wall_s": m["wall_s"], "peak_bytes": m.peak_bytes})
    return {
        "files": len(files),
        "bytes": size,
        "load_s": statistics.median(s["load_s"] for s in samples),
        "wall_s": statistics.median(s["wall_s"] for s in samples),
        "peak_bytes": max(s["peak_bytes"] for s in samples),
        "samples": samples,
    }


# -------------------------------------------------------------------------- (c) syntax check

_MISSING_MARKERS = (
    "No module named 'ansible_collections",
    "couldn't resolve module/action",
    "was not found in",
    "Error loading plugin",
)


def _ansible_playbook() -> str:
    local = Path(sys.executable).parent / "ansible-playbook"
    if local.exists():
        return str(local)
    found = shutil.which("ansible-playbook")
    if not found:
        raise RuntimeError("ansible-playbook not found (ansible-core is a dependency of tripleo-migrate)")
    return found


class SyntaxCheck:
    """(c): the probe run when made, then one timed run per `sample()`, so that the timed
    runs can alternate with the cold conversions and both see the machine as it is then."""

    def __init__(self, corpus, tree: Path, logdir: Path):
        self.tree, self.logdir = tree, logdir
        self.cmd = [_ansible_playbook(), "-i", "localhost,", "--syntax-check", SYNTAX_PLAYBOOK]
        self.extras = None
        self.env = corpus.ansible_env(tree)
        self.samples: list[dict] = []
        # First run untimed: it shows whether ansible-core alone can load the playbook, and warms
        # the page cache and .pyc files for the timed runs.
        first = measure(self.cmd, tree, self.env, logdir, "syntax-probe")
        if first["rc"] != 0:
            output = first["stdout"] + first["stderr"]
            if not any(m in output for m in _MISSING_MARKERS):
                raise RuntimeError(f"syntax check failed (exit {first['rc']}):\n{tail(output)}")
            reason = next((ln.strip() for ln in output.splitlines() if any(m in ln for m in _MISSING_MARKERS)), "")
            log(f"syntax check needs content ansible-core alone lacks: {reason}")
            self.extras = corpus.ansible_extras(log=log)
            self.env = corpus.ansible_env(tree, self.extras)
            first = measure(self.cmd, tree, self.env, logdir, "syntax-probe-extras")
            if first["rc"] != 0:
                raise RuntimeError(
                    f"syntax check fails even with {self.extras.root}:\n{tail(first['stdout'] + first['stderr'])}"
                )

    def sample(self) -> None:
        index = len(self.samples)
        m = measure(self.cmd, self.tree, self.env, self.logdir, f"syntax-{index}")
        if m["rc"] != 0:
            raise RuntimeError(f"syntax check run {index} failed:\n{tail(m['stdout'] + m['stderr'])}")
        self.samples.append({"wall_s": m["wall_s"], "peak_bytes": m.peak_bytes})

    def result(self, corpus) -> dict:
        version = subprocess.run([self.cmd[0], "--version"], capture_output=True, text=True).stdout.splitlines()
        return {
            "command": " ".join(self.cmd),
            "ansible": version[0] if version else "?",
            "extras": None if self.extras is None else {
                "root": str(self.extras.root),
                "packages": list(corpus.ANSIBLE_EXTRAS_VENV_PACKAGES + corpus.ANSIBLE_EXTRAS_DATA_PACKAGES),
            },
            "wall_s": statistics.median(s["wall_s"] for s in self.samples),
            "peak_bytes": max(s["peak_bytes"] for s in self.samples),
            "samples": self.samples,
        }


# ------------------------------------------------------------------------- (a)/(b) conversion


class ConverterMissing(Exception):
    pass


def _converter() -> list[str]:
    script = Path(sys.executable).parent / "tripleo-migrate"
    if script.exists():
        return [str(script)]
    found = shutil.which("tripleo-migrate")
    if found:
        return [found]
    raise ConverterMissing(
        f"no tripleo-migrate script beside {sys.executable} or on PATH (is the package installed?)"
    )


def _convert_env() -> dict[str, str]:
    # The converter finds tripleo's plugins beside roles/ itself; keep the caller's Ansible
    # settings from steering it. Bytecode is allowed, as for any installed package (pip
    # compiles on install; an editable install compiles on first run, which is not timed).
    return {k: v for k, v in os.environ.items()
            if not k.startswith("ANSIBLE_") and k != "PYTHONDONTWRITEBYTECODE"}


def _read_report(out: Path) -> dict | None:
    try:
        return json.loads((out / "report.json").read_text())
    except (OSError, ValueError):
        return None


def _run_convert(cmd: list[str], tree: Path, env: dict, logdir: Path, label: str, out: Path):
    m = measure(cmd, tree, env, logdir, label)
    if m["rc"] not in (0, 1) or not (out / "report.json").is_file():
        err = m["stderr"]
        if "No module named 'migrator" in err or "cannot import name 'main'" in err:
            raise ConverterMissing(f"the converter is not there yet:\n{tail(err, 4)}")
        raise RuntimeError(
            f"{label} conversion failed (exit {m['rc']}"
            f"{'' if (out / 'report.json').is_file() else ', no report.json'}):\n{tail(err)}"
        )
    return m


def bench_convert(tree: Path, out: Path, logdir: Path, runs: int, after_cold=lambda: None) -> dict:
    """Median of `runs` cold conversions (each into a fresh OUT) and of `runs` warm
    re-runs into the last one, after one untimed run that writes the bytecode.

    Every cold run gets a directory of its own and nothing is deleted until the
    timings are taken: removing the previous run's 11 MB tree just before a run made
    each of its file creations about ten times slower on this machine's ext4 (mounted
    with `discard`), which measured the file system's backlog, not the converter."""
    env = _convert_env()
    command = _converter() + ["convert", "roles", "playbooks", "-o", "OUT", "--quiet"]
    result: dict = {"command": " ".join(command)}
    warmup = out.parent / (out.name + "-warmup")
    colds = [out.parent / f"{out.name}-cold-{index}" for index in range(runs - 1)] + [out]
    for leftover in [warmup] + colds:
        shutil.rmtree(leftover, ignore_errors=True)
    _run_convert([c.replace("OUT", str(warmup)) for c in command], tree, env, logdir, "warmup", warmup)
    for label, extra in (("cold", []), ("warm", ["--force"])):
        samples = []
        for index in range(runs):
            target = colds[index] if label == "cold" else out
            cmd = [c.replace("OUT", str(target)) for c in command] + extra
            samples.append(_run_convert(cmd, tree, env, logdir, f"convert-{label}-{index}", target))
            if label == "cold":
                after_cold()
        result[label] = {
            "wall_s": statistics.median(m["wall_s"] for m in samples),
            "peak_bytes": max(m.peak_bytes for m in samples),
            "rc": max(m["rc"] for m in samples),
            "maxrss_bytes": max(m["maxrss_bytes"] for m in samples),
            "tree_peak_bytes": max(m["tree_peak_bytes"] for m in samples),
            "samples": [m["wall_s"] for m in samples],
        }
    for done in [warmup] + colds[:-1]:
        shutil.rmtree(done, ignore_errors=True)
    report = _read_report(out) or {}
    summary = report.get("summary", {})
    result["report"] = {
        "schema": report.get("schema"),
        "tasks": summary.get("tasks"),
        "coverage": summary.get("coverage"),
        "errors": summary.get("errors"),
        "outcomes": summary.get("outcomes"),
    }
    return result


# ------------------------------------------------------------------------------------- main


def fmt_s(x: float | None) -> str:
    return "-" if x is None else f"{x:8.3f} s"


def file_creation_probe(directory: Path, count: int = 300) -> float:
    """Seconds to create `count` small files in a new directory there (then removed): what
    the file system charges for the files a conversion writes (about 550), which the
    syntax check does not write."""
    probe = Path(tempfile.mkdtemp(prefix=".probe-", dir=directory))
    try:
        start = time.perf_counter()
        for i in range(count):
            (probe / f"f{i}").write_text("x" * 2000)
        return time.perf_counter() - start
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def fmt_mb(x: float | None) -> str:
    return "-" if x is None else f"{mb(x):7.1f} MB"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, help="conversion output directory to keep (must not exist or be empty); "
                    "default: a temporary directory beside the corpus, removed afterwards")
    ap.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--runs", type=int, default=3, help="runs of the syntax check and YAML load (median); default 3")
    ap.add_argument("--skip-convert", action="store_true", help="measure only the syntax check and the YAML load")
    args = ap.parse_args(argv)

    corpus = _load_corpus()
    try:
        tree = corpus.tripleo_ansible_tree()
    except Exception as exc:  # noqa: BLE001 - report any setup failure plainly
        log(f"cannot get the corpus: {exc}")
        return EXIT_SETUP
    log(f"corpus: {tree}")

    if args.out is not None:
        out = args.out.resolve()
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            log(f"--out {out} exists and is not an empty directory; a cold run needs a fresh one")
            return EXIT_SETUP
        keep_out = True
    # Beside the corpus, as a user converting a checkout writes OUT beside it (not in /tmp:
    # on some machines a directory there creates files ten times slower, see README.md)
    workdir = Path(tempfile.mkdtemp(prefix="bench-", dir=corpus.cache_dir()))
    logdir = workdir / "logs"
    logdir.mkdir()
    if args.out is None:
        out = workdir / "out"
        keep_out = False

    results: dict = {
        "corpus": str(tree),
        "out_fs_probe_s": file_creation_probe(out.parent if out.parent.is_dir() else workdir),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "targets": {"cold_vs_syntax": TARGET_COLD_VS_SYNTAX, "warm_vs_cold": TARGET_WARM_VS_COLD,
                    "peak_rss_mb": TARGET_PEAK_RSS_MB},
    }
    status = EXIT_OK
    try:
        try:
            log(f"(d) PyYAML CSafeLoader load, {args.runs} runs")
            results["yaml"] = bench_yaml(corpus, tree, args.runs, logdir)
            syntax = SyntaxCheck(corpus, tree, logdir)
        except Exception as exc:  # noqa: BLE001
            log(f"setup failed: {exc}")
            return EXIT_SETUP

        convert_problem = None
        if args.skip_convert:
            log(f"(c) ansible-playbook --syntax-check {SYNTAX_PLAYBOOK}, {args.runs} runs")
            results["convert"] = {"skipped": "--skip-convert"}
        else:
            log(f"(a) cold conversion, each followed by (c) ansible-playbook --syntax-check {SYNTAX_PLAYBOOK}; "
                "(b) warm re-run with --force")
            try:
                results["convert"] = bench_convert(tree, out, logdir, args.runs, after_cold=syntax.sample)
            except ConverterMissing as exc:
                convert_problem = f"converter unavailable: {exc}"
                results["convert"] = {"error": convert_problem, "missing": True}
                status = EXIT_NO_CONVERTER
            except Exception as exc:  # noqa: BLE001
                convert_problem = f"conversion failed: {exc}"
                results["convert"] = {"error": convert_problem}
                status = EXIT_TARGET

        try:
            while len(syntax.samples) < args.runs:  # --skip-convert, or a conversion that failed early
                syntax.sample()
            results["syntax"] = syntax.result(corpus)
        except Exception as exc:  # noqa: BLE001
            log(f"setup failed: {exc}")
            return EXIT_SETUP
        checks = evaluate(results)
        results["checks"] = checks
        if any(c["status"] == "FAIL" for c in checks) and status == EXIT_OK:
            status = EXIT_TARGET
        print_table(results, checks)
        if convert_problem:
            print(f"\n{convert_problem}")
            if status == EXIT_NO_CONVERTER:
                print("conversion targets NOT MEASURED (run with --skip-convert to measure the rest)")
        results["exit"] = status
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
            log(f"wrote {args.json}")
        return status
    finally:
        if keep_out and out.exists():
            log(f"conversion output kept in {out}")
        shutil.rmtree(workdir, ignore_errors=True)


def evaluate(results: dict) -> list[dict]:
    syntax = results.get("syntax", {}).get("wall_s")
    conv = results.get("convert", {})
    cold, warm = conv.get("cold"), conv.get("warm")
    skipped = "skipped" in conv
    na = "SKIP" if skipped else "N/A"
    checks = []

    def add(name, value, target, ok, fmt):
        status = na if value is None else ("PASS" if ok else "FAIL")
        checks.append({"check": name, "value": value, "target": target, "status": status, "fmt": fmt})

    ratio = cold["wall_s"] / syntax if cold and syntax else None
    add("cold conversion / syntax check", ratio, f"< {TARGET_COLD_VS_SYNTAX}",
        ratio is not None and ratio < TARGET_COLD_VS_SYNTAX, "{:.3f}")
    ratio = warm["wall_s"] / cold["wall_s"] if cold and warm else None
    add("warm / cold conversion", ratio, f"< {TARGET_WARM_VS_COLD}",
        ratio is not None and ratio < TARGET_WARM_VS_COLD, "{:.3f}")
    peak = max(cold["peak_bytes"], warm["peak_bytes"]) if cold and warm else None
    add("conversion peak RSS (MB)", None if peak is None else mb(peak), f"< {TARGET_PEAK_RSS_MB:.0f}",
        peak is not None and mb(peak) < TARGET_PEAK_RSS_MB, "{:.1f}")
    return checks


def print_table(results: dict, checks: list[dict]) -> None:
    conv = results.get("convert", {})
    y, s = results["yaml"], results["syntax"]
    cold, warm = conv.get("cold", {}), conv.get("warm", {})
    rows = [
        (f"(a) cold conversion (median of {len(cold.get('samples', []))})", cold.get("wall_s"), cold.get("peak_bytes")),
        (f"(b) warm re-run --force (median of {len(warm.get('samples', []))})", warm.get("wall_s"),
         warm.get("peak_bytes")),
        (f"(c) syntax check (median of {len(s['samples'])})", s["wall_s"], s["peak_bytes"]),
        (f"(d) CSafeLoader, {y['files']} files (median)", y["load_s"], y["peak_bytes"]),
    ]
    print(f"corpus   {results['corpus']}")
    print(f"machine  {results['platform']}, {results['cpus']} cpus, Python {results['python']}")
    print(f"out fs   300 files created in {results['out_fs_probe_s'] * 1000:.0f} ms where OUT goes")
    print(f"ansible  {s['ansible']}" + (f" + {', '.join(s['extras']['packages'])}" if s.get("extras") else ""))
    print()
    print(f"{'measurement':44} {'wall':>10} {'peak RSS':>10}")
    print("-" * 66)
    for name, wall, peak in rows:
        print(f"{name:44} {fmt_s(wall):>10} {fmt_mb(peak):>10}")
    print(f"{'    (d) process wall incl. interpreter start':44} {fmt_s(y['wall_s']):>10}")
    print()
    print(f"{'target':44} {'value':>10} {'target':>8}  result")
    print("-" * 70)
    for c in checks:
        value = "-" if c["value"] is None else c["fmt"].format(c["value"])
        print(f"{c['check']:44} {value:>10} {c['target']:>8}  {c['status']}")
    rep = conv.get("report")
    if rep:
        print()
        print(f"report.json: schema {rep.get('schema')}, tasks {rep.get('tasks')}, coverage {rep.get('coverage')}, "
              f"errors {rep.get('errors')} (independent count: 2,007 = 1,592 role + 415 playbook tasks)")
    for c in checks:
        c.pop("fmt", None)


if __name__ == "__main__":
    sys.exit(main())
