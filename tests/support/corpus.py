"""The real corpus: TripleO's Ansible, fetched from the package index with pip.

    tripleo_ansible_tree() -> Path   # .../tripleo-ansible-6.0.0/tripleo_ansible (roles/, playbooks/, ansible_plugins/)
    tht_tree() -> Path               # .../tripleo-heat-templates-18.0.0 (deployment/, ...)

Both download the sdist once with ``pip download --no-deps --no-binary :all: --no-build-isolation``
into the cache directory ($TRIPLEO_MIGRATE_CACHE, default ~/.cache/tripleo-migrate), check its
sha256 against the constants below, and extract it once. Extraction goes to a temporary directory
beside the target, which is then renamed into place, so two processes (pytest-xdist workers, a
benchmark and a test run) racing on an empty cache both end up with one complete tree.

The only network access is pip's own; pip is told to require the recorded hash as well, so a
tampered or different archive is refused before it is saved.

This module also holds an independent task counter (``count_role_tasks``,
``count_playbook_tasks``) used by tests/test_corpus_counter.py to pin the corpus size. It shares
no code with migrator/ on purpose: it is the yardstick the converter's report is checked against.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

__all__ = [
    "CACHE_ENV",
    "SDISTS",
    "CorpusError",
    "cache_dir",
    "sdist_tree",
    "tripleo_ansible_tree",
    "tht_tree",
    "AnsibleExtras",
    "ansible_extras",
    "ansible_env",
    "TaskCount",
    "PlaybookCount",
    "role_task_files",
    "playbook_files",
    "count_role_tasks",
    "count_role_tasks_detailed",
    "count_playbook_tasks",
]

CACHE_ENV = "TRIPLEO_MIGRATE_CACHE"

# name -> (version, sha256 of the sdist .tar.gz, directory inside the extracted tree to return).
# The hashes were recorded 2026-11 from the files pip fetched from pypi.org; pip's
# `--require-hashes` check reported "1 matches" against the digest the index publishes.
SDISTS: dict[str, tuple[str, str, str]] = {
    "tripleo-ansible": (
        "6.0.0",
        "b7f7e2aea586d5e5c6263ec2b7c44a87f8c54802145bf693c692965b4427e294",
        "tripleo_ansible",
    ),
    "tripleo-heat-templates": (
        "18.0.0",
        "09026a2ace181b1a2eeddb941504add4a10429a391bd265b4c04571f131b8b89",
        ".",
    ),
}

# Needed in the interpreter running pip: metadata generation of these pbr-based sdists runs
# without build isolation, so their build requirements must already be importable.
_BUILD_REQUIREMENTS = ("pbr", "wheel", "setuptools")


class CorpusError(RuntimeError):
    """The corpus could not be fetched, verified or extracted."""


def cache_dir() -> Path:
    """The cache root ($TRIPLEO_MIGRATE_CACHE or ~/.cache/tripleo-migrate), created if missing."""
    root = os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "tripleo-migrate")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


class BuildError(Exception):
    """A cached build failed; the message ends with the failing command's output."""


def built_dir(name: str, commands) -> Path:
    """cache_dir()/name, made once by the commands that `commands(tmp)` returns (argv lists),
    run in a temporary directory beside it that is renamed into place only when all of them
    succeeded: a failed or killed build leaves nothing that looks complete, and two test
    processes building at once both end with the same directory. BuildError on failure."""
    target = cache_dir() / name
    if (target / ".tripleo-migrate-complete").is_file():
        return target
    if target.exists():
        shutil.rmtree(target, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".x-{name}-", dir=target.parent))
    try:
        for cmd in commands(tmp):
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise BuildError(f"building {name}: `{' '.join(map(str, cmd))}` failed (exit {proc.returncode}):\n"
                                 + (proc.stdout + proc.stderr)[-2000:])
        (tmp / ".tripleo-migrate-complete").write_text(name + "\n")
        os.chmod(tmp, 0o755)  # mkdtemp made it private
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / ".tripleo-migrate-complete").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def venv_dir(name: str, *pip_args: str) -> Path:
    """built_dir() holding a venv (`venv/`) with pip_args installed: `venv_dir("x", "pkg==1")`.
    Its scripts' #! lines name the temporary directory: run its python, not its scripts."""
    def commands(tmp):
        return ([sys.executable, "-m", "venv", str(tmp / "venv")],
                [str(tmp / "venv" / "bin" / "python"), "-m", "pip", "install", "--quiet", *pip_args])
    return built_dir(name, commands)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _archive_name(name: str, version: str) -> str:
    return f"{name}-{version}.tar.gz"


def _ensure_build_requirements(python: str) -> None:
    missing = []
    for mod in _BUILD_REQUIREMENTS:
        probe = subprocess.run([python, "-c", f"import {mod}"], capture_output=True)
        if probe.returncode != 0:
            missing.append(mod)
    if missing:
        proc = subprocess.run(
            [python, "-m", "pip", "install", "--quiet", *missing], capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise CorpusError(f"pip install {' '.join(missing)} failed:\n{proc.stdout}{proc.stderr}")


def _download(name: str, version: str, sha256: str, dest: Path) -> Path:
    """pip-download the sdist into a private temp dir, verify it, then move it into ``dest``."""
    python = sys.executable
    _ensure_build_requirements(python)
    with tempfile.TemporaryDirectory(prefix=f".dl-{name}-", dir=dest) as tmp:
        req = Path(tmp) / "requirements.txt"
        req.write_text(f"{name}=={version} --hash=sha256:{sha256}\n")
        cmd = [
            python, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
            "--no-build-isolation", "--require-hashes", "-r", str(req), "-d", tmp,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise CorpusError(
                f"`{' '.join(cmd)}` failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        got = Path(tmp) / _archive_name(name, version)
        if not got.is_file():
            raise CorpusError(f"pip did not produce {got.name}; files: {os.listdir(tmp)}")
        actual = _sha256(got)
        if actual != sha256:
            raise CorpusError(f"{got.name}: sha256 {actual} != expected {sha256}")
        final = dest / got.name
        os.replace(got, final)  # atomic within one filesystem; a racing process writes the same bytes
        return final


def _archive(name: str) -> Path:
    version, sha256, _ = SDISTS[name]
    dl_dir = cache_dir() / "sdists"
    dl_dir.mkdir(parents=True, exist_ok=True)
    archive = dl_dir / _archive_name(name, version)
    if archive.is_file():
        actual = _sha256(archive)
        if actual == sha256:
            return archive
        # A corrupt or foreign file in the cache: replace it rather than trust it.
        archive.unlink(missing_ok=True)
    return _download(name, version, sha256, dl_dir)


def _extract(archive: Path, target: Path) -> None:
    """Extract ``archive`` (single top directory ``target.name``) to ``target``, atomically."""
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".x-{target.name}-", dir=parent))
    try:
        with tarfile.open(archive, "r:gz") as tf:
            kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tf.extractall(tmp, **kwargs)
        top = tmp / target.name
        if not top.is_dir():
            raise CorpusError(f"{archive.name} has no top directory {target.name}/")
        # Marker written last inside the tree, so a tree without it is known to be incomplete.
        (top / ".tripleo-migrate-complete").write_text(archive.name + "\n")
        try:
            os.rename(top, target)  # atomic; fails if another process got there first
        except OSError:
            if not (target / ".tripleo-migrate-complete").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def sdist_tree(name: str) -> Path:
    """Root of the extracted sdist of ``name`` (a key of SDISTS), downloading it if needed."""
    version, _, _ = SDISTS[name]
    target = cache_dir() / "trees" / f"{name}-{version}"
    if not (target / ".tripleo-migrate-complete").is_file():
        if target.exists():
            # Left over from something that is not our atomic rename (manual copy, old layout).
            shutil.rmtree(target, ignore_errors=True)
        _extract(_archive(name), target)
    return target


def tripleo_ansible_tree() -> Path:
    """tripleo-ansible 6.0.0's ``tripleo_ansible/`` (roles/, playbooks/, ansible_plugins/)."""
    _, _, sub = SDISTS["tripleo-ansible"]
    path = sdist_tree("tripleo-ansible") / sub
    for child in ("roles", "playbooks", "ansible_plugins"):
        if not (path / child).is_dir():
            raise CorpusError(f"{path} lacks {child}/")
    return path


def tht_tree() -> Path:
    """tripleo-heat-templates 18.0.0's root (deployment/, tools/, ...)."""
    path = sdist_tree("tripleo-heat-templates")
    if not (path / "deployment").is_dir():
        raise CorpusError(f"{path} lacks deployment/")
    return path


# ---------------------------------------------------------------------------------------------
# Running Ansible on the corpus (syntax checks, reference runs).
# ---------------------------------------------------------------------------------------------

# What ansible-core alone lacks to load tripleo-ansible's playbooks, all from the package index:
# the community package for collections (ansible.posix, community.general, ...; 12.x is the
# release built for ansible-core 2.19), and two things tripleo-ansible's requirements.yml pulls
# from git: the `chrony` role and the `config_template` module/action plugin. The latter two are
# installed with --no-deps (ansible-role-chrony pins ansible<2.10, which pip would otherwise
# resolve by downgrading the community package).
ANSIBLE_EXTRAS_VENV_PACKAGES = ("ansible==12.3.0",)
ANSIBLE_EXTRAS_DATA_PACKAGES = ("ansible-role-chrony==1.3.0", "ansible-config-template==2.1.1")


@dataclass(frozen=True)
class AnsibleExtras:
    root: Path
    collections_path: Path  # directory holding ansible_collections/
    roles_path: Path
    modules_path: Path
    action_path: Path


def _extras_paths(root: Path) -> AnsibleExtras:
    found = sorted(root.glob("venv/lib/python*/site-packages/ansible_collections"))
    collections = found[0].parent if found else root / "venv" / "lib" / "site-packages"
    data = root / "data" / "share" / "ansible"
    return AnsibleExtras(
        root=root,
        collections_path=collections,
        roles_path=data / "roles",
        modules_path=data / "plugins" / "modules",
        action_path=data / "plugins" / "action",
    )


def ansible_extras(log=None) -> AnsibleExtras:
    """A venv under the cache dir with the `ansible` community package, plus chrony/config_template.

    Only its site-packages (collections) and data files are used, never its interpreter, so it is
    built in a temporary directory and renamed into place like the sdist trees. About 550 MB and
    30-40 s the first time.
    """
    name = "ansible-extras-" + hashlib.sha256(
        "\n".join(ANSIBLE_EXTRAS_VENV_PACKAGES + ANSIBLE_EXTRAS_DATA_PACKAGES).encode()
    ).hexdigest()[:12]
    if log and not (cache_dir() / name / ".tripleo-migrate-complete").is_file():
        log(f"installing {', '.join(ANSIBLE_EXTRAS_VENV_PACKAGES + ANSIBLE_EXTRAS_DATA_PACKAGES)} into {cache_dir() / name}")

    def commands(tmp):
        venv = tmp / "venv"
        return ([sys.executable, "-m", "venv", str(venv)],
                [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *ANSIBLE_EXTRAS_VENV_PACKAGES],
                [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps",
                 "--prefix", str(tmp / "data"), *ANSIBLE_EXTRAS_DATA_PACKAGES])
    try:
        return _extras_paths(built_dir(name, commands))
    except BuildError as exc:
        raise CorpusError(str(exc)) from None


def ansible_env(tree: Path, extras: AnsibleExtras | None = None, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for ansible-playbook on tripleo-ansible content (docs/testing.md), quiet and repeatable.

    ``tree`` is tripleo_ansible_tree(); ``extras`` (from ansible_extras()) adds collections, the
    chrony role and config_template. ``base`` defaults to os.environ.
    """
    env = dict(os.environ if base is None else base)
    plugins = tree / "ansible_plugins"
    roles = [tree / "roles"]
    library = [plugins / "modules"]
    action = [plugins / "action"]
    if extras is not None:
        roles.append(extras.roles_path)
        library.append(extras.modules_path)
        action.append(extras.action_path)
        env["ANSIBLE_COLLECTIONS_PATH"] = str(extras.collections_path)
    env.update(
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        ANSIBLE_ROLES_PATH=os.pathsep.join(map(str, roles)),
        ANSIBLE_LIBRARY=os.pathsep.join(map(str, library)),
        ANSIBLE_ACTION_PLUGINS=os.pathsep.join(map(str, action)),
        ANSIBLE_FILTER_PLUGINS=str(plugins / "filter"),
        ANSIBLE_MODULE_UTILS=str(plugins / "module_utils"),
    )
    return env


# ---------------------------------------------------------------------------------------------
# Independent task counter (shares nothing with migrator/).
# ---------------------------------------------------------------------------------------------

_BLOCK_SECTIONS = ("block", "rescue", "always")
_PLAY_SECTIONS = ("pre_tasks", "tasks", "post_tasks", "handlers")
_YAML_SUFFIXES = (".yml", ".yaml")

try:  # the libyaml composer when available; marks (line numbers) are identical
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader


@dataclass
class TaskCount:
    """Result of walking a set of task files."""

    tasks: dict[tuple[str, int], str] = field(default_factory=dict)  # (relpath, line) -> name or module key
    files: list[str] = field(default_factory=list)  # every file visited (relpath), sorted
    blocks: int = 0
    max_depth: int = 0  # block nesting depth (0: no block)
    notes: list[str] = field(default_factory=list)  # anything unusual: empty files, non-list docs


@dataclass
class PlaybookCount(TaskCount):
    plays: int = 0
    import_playbooks: int = 0
    playbooks: list[str] = field(default_factory=list)


def _compose_all(path: Path) -> list[yaml.Node | None]:
    with open(path, "rb") as fh:
        return list(yaml.compose_all(fh, Loader=_Loader))


def _key(node: yaml.MappingNode, name: str) -> yaml.Node | None:
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == name:
            return v
    return None


def _label(node: yaml.MappingNode) -> str:
    name = _key(node, "name")
    if isinstance(name, yaml.ScalarNode) and name.value:
        return name.value
    keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
    return "<" + ",".join(keys[:3]) + ">"


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _walk_tasks(seq: yaml.Node | None, rel: str, out: TaskCount, depth: int, where: str) -> None:
    """Count leaf tasks in a task list; blocks are not tasks, their sections are walked."""
    if seq is None:
        return
    if _is_null(seq):
        return  # `tasks:` with nothing after it
    if not isinstance(seq, yaml.SequenceNode):
        out.notes.append(f"{rel}:{seq.start_mark.line + 1}: {where} is a {seq.id}, not a list; skipped")
        return
    for item in seq.value:
        line = item.start_mark.line + 1
        if not isinstance(item, yaml.MappingNode):
            out.notes.append(f"{rel}:{line}: {where} item is a {item.id}, not a mapping; skipped")
            continue
        if _key(item, "block") is not None:  # a block (even `block:` with no value) is not a task
            out.blocks += 1
            out.max_depth = max(out.max_depth, depth + 1)
            for section in _BLOCK_SECTIONS:
                _walk_tasks(_key(item, section), rel, out, depth + 1, f"{section}:")
            continue
        if (rel, line) in out.tasks:  # two tasks on one line (flow style) or an alias to a task
            out.notes.append(f"{rel}:{line}: second task at the same position; counted once")
        out.tasks[(rel, line)] = _label(item)


def _walk_task_file(path: Path, rel: str, out: TaskCount) -> None:
    out.files.append(rel)
    docs = [d for d in _compose_all(path) if d is not None and not _is_null(d)]
    if not docs:
        out.notes.append(f"{rel}: no content (only `---` and comments); 0 tasks")
        return
    if len(docs) > 1:
        out.notes.append(f"{rel}: {len(docs)} YAML documents; all walked")
    for doc in docs:
        _walk_tasks(doc, rel, out, 0, "top level")


def role_task_files(roles_dir: str | os.PathLike[str]) -> list[Path]:
    """YAML files under roles/*/tasks and roles/*/handlers (recursive), molecule/ excluded, sorted."""
    roles_dir = Path(roles_dir)
    found: list[Path] = []
    for role in sorted(p for p in roles_dir.iterdir() if p.is_dir()):
        for section in ("tasks", "handlers"):
            base = role / section
            if not base.is_dir():
                continue
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames[:] = sorted(d for d in dirnames if d != "molecule")
                for fn in sorted(filenames):
                    if fn.endswith(_YAML_SUFFIXES):
                        found.append(Path(dirpath) / fn)
    return found


def count_role_tasks_detailed(roles_dir: str | os.PathLike[str]) -> TaskCount:
    """Like count_role_tasks, with files, block statistics and notes."""
    roles_dir = Path(roles_dir)
    out = TaskCount()
    for path in role_task_files(roles_dir):
        _walk_task_file(path, path.relative_to(roles_dir.parent).as_posix(), out)
    out.files.sort()
    return out


def count_role_tasks(roles_dir: str | os.PathLike[str]) -> dict[tuple[str, int], str]:
    """Every leaf task definition under ``roles_dir``/*/{tasks,handlers}/**.y(a)ml.

    Keys are (path relative to the parent of ``roles_dir``, so ``roles/<role>/tasks/main.yml`` as
    the converter's report writes it when run from the tree root; 1-based line of the task's first
    key, which is the line of its ``-``); values are
    the task's ``name`` or, without one, ``<its first keys>``. ``len()`` of the result is the
    task count; ``{rel for rel, _ in result}`` are the files that hold at least one task.
    """
    return count_role_tasks_detailed(roles_dir).tasks


def playbook_files(playbooks_dir: str | os.PathLike[str]) -> list[Path]:
    """Top-level *.yml / *.yaml in ``playbooks_dir`` (not group_vars/, host_vars/), sorted."""
    playbooks_dir = Path(playbooks_dir)
    return sorted(p for p in playbooks_dir.iterdir() if p.is_file() and p.name.endswith(_YAML_SUFFIXES))


def count_playbook_tasks(playbooks_dir: str | os.PathLike[str]) -> PlaybookCount:
    """Leaf tasks in pre_tasks/tasks/post_tasks/handlers of every play of every playbook.

    ``plays`` counts plays proper; a list item with ``import_playbook`` (or the old ``include`` at
    play level) counts in ``import_playbooks`` instead, and is not a task; ``roles:`` entries are
    not tasks. Paths are relative to the parent of ``playbooks_dir`` (``playbooks/x.yml``).
    """
    playbooks_dir = Path(playbooks_dir)
    out = PlaybookCount()
    for path in playbook_files(playbooks_dir):
        rel = path.relative_to(playbooks_dir.parent).as_posix()  # playbooks/x.yml
        out.playbooks.append(rel)
        out.files.append(rel)
        docs = [d for d in _compose_all(path) if d is not None]
        for doc in docs:
            if not isinstance(doc, yaml.SequenceNode):
                out.notes.append(f"{rel}: top level is a {doc.id}, not a list of plays; skipped")
                continue
            for play in doc.value:
                line = play.start_mark.line + 1
                if not isinstance(play, yaml.MappingNode):
                    out.notes.append(f"{rel}:{line}: play is a {play.id}; skipped")
                    continue
                if _key(play, "import_playbook") is not None or _key(play, "ansible.builtin.import_playbook") is not None:
                    out.import_playbooks += 1
                    continue
                if _key(play, "include") is not None and _key(play, "hosts") is None:
                    out.import_playbooks += 1
                    out.notes.append(f"{rel}:{line}: play-level `include:` counted as import_playbook")
                    continue
                out.plays += 1
                for section in _PLAY_SECTIONS:
                    _walk_tasks(_key(play, section), rel, out, 0, f"{section}:")
    return out


# ---------------------------------------------------------------------------------------------
# THT: an independent count of the tasks in the deployment templates' `*_tasks` keys.
# ---------------------------------------------------------------------------------------------

# Heat (HOT, wallaby) intrinsic functions: a mapping with one of these as its only key.
_HOT_FUNCTIONS = frozenset((
    "and", "contains", "digest", "equals", "filter", "get_attr", "get_file", "get_param", "get_resource",
    "if", "list_concat", "list_concat_unique", "list_join", "make_url", "map_merge", "map_replace", "not",
    "or", "repeat", "resource_facade", "str_replace", "str_replace_strict", "str_replace_vstrict",
    "str_split", "yaql",
))


@dataclass
class ThtCount:
    """Result of walking THT's deployment templates."""

    tasks: dict[tuple[str, int], str] = field(default_factory=dict)  # (relpath, line) -> label; .yaml templates
    rendered: dict[str, list[str]] = field(default_factory=dict)  # .j2.yaml relpath -> labels (of the rendered text)
    templates: list[str] = field(default_factory=list)  # every Heat template, sorted
    files: list[str] = field(default_factory=list)  # templates with a `*_tasks` key under outputs
    keys: int = 0  # `*_tasks` keys under outputs, at any depth
    blocks: int = 0  # block positions
    occurrences: int = 0  # task items walked: a YAML alias of a task counts each time it is used
    notes: list[str] = field(default_factory=list)


def _hot_function(node: yaml.Node) -> str | None:
    if isinstance(node, yaml.MappingNode) and len(node.value) == 1:
        key = node.value[0][0]
        if isinstance(key, yaml.ScalarNode) and key.value in _HOT_FUNCTIONS:
            return key.value
    return None


def _tht_task_nodes(node: yaml.Node, rel: str, out: ThtCount):
    """The task mappings a (Heat-wrapped) THT task list holds, in order."""
    function = _hot_function(node)
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            if isinstance(item, yaml.SequenceNode) or _hot_function(item):
                yield from _tht_task_nodes(item, rel, out)
            elif isinstance(item, yaml.MappingNode):
                yield item
            elif not _is_null(item):
                out.notes.append(f"{rel}:{item.start_mark.line + 1}: list item is a {item.id}")
    elif function in ("list_concat", "list_concat_unique") and isinstance(node.value[0][1], yaml.SequenceNode):
        for part in node.value[0][1].value:
            yield from _tht_task_nodes(part, rel, out)
    elif function == "if" and isinstance(node.value[0][1], yaml.SequenceNode):
        for branch in node.value[0][1].value[1:]:  # both branches hold tasks written in the template
            yield from _tht_task_nodes(branch, rel, out)
    elif isinstance(node, yaml.MappingNode) and function is None and _key(node, "value") is not None \
            and all(k.value in ("description", "value") for k, _ in node.value):
        yield from _tht_task_nodes(_key(node, "value"), rel, out)
    # anything else (get_attr of another resource's list, ...) holds no task written here


def _tht_walk_tasks(tasks, rel: str, out: ThtCount, labels: list[str] | None, seen_blocks: set) -> None:
    for item in tasks:
        out.occurrences += 1
        line = item.start_mark.line + 1
        if _key(item, "block") is not None:
            seen_blocks.add((rel, line))
            for section in _BLOCK_SECTIONS:
                value = _key(item, section)
                if isinstance(value, yaml.SequenceNode):
                    _tht_walk_tasks([t for t in value.value if isinstance(t, yaml.MappingNode)], rel, out, labels,
                                    seen_blocks)
            continue
        if labels is not None:
            if (rel, line) not in seen_blocks:  # the rendered text: one label per position too
                labels.append(_label(item))
                seen_blocks.add((rel, line))
        else:
            out.tasks[(rel, line)] = _label(item)


def _tht_walk_outputs(node: yaml.Node, rel: str, out: ThtCount, labels, seen_blocks: set) -> bool:
    """Find `*_tasks` keys below node; returns whether any was found."""
    found = False
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value.endswith("_tasks"):
                found = True
                out.keys += 1
                if isinstance(value, yaml.MappingNode) and _hot_function(value) is None \
                        and _key(value, "value") is None:
                    out.notes.append(f"{rel}:{value.start_mark.line + 1}: {key.value} is a mapping, not a task list")
                    continue
                _tht_walk_tasks(list(_tht_task_nodes(value, rel, out)), rel, out, labels, seen_blocks)
            else:
                found |= _tht_walk_outputs(value, rel, out, labels, seen_blocks)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found |= _tht_walk_outputs(item, rel, out, labels, seen_blocks)
    return found


def _render_like_process_templates(path: Path, root: Path) -> str:
    """A plain *.j2.yaml rendered with `roles` and `networks` (the defaults of THT's process-templates.py)."""
    import jinja2

    roles = yaml.safe_load((root / "roles_data.yaml").read_text())
    networks = yaml.safe_load((root / "network-data-samples" / "default-network-isolation.yaml").read_text()) or []
    for index, network in enumerate(networks):
        network["idx"] = index
        if network.get("enabled") is not False:
            network.setdefault("name_lower", network["name"].lower())
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(path.parent), str(root)]))
    return env.from_string(path.read_text()).render(roles=roles, networks=networks)


def count_tht_tasks(tht_root: str | os.PathLike[str], subdir: str = "deployment") -> ThtCount:
    """Leaf tasks (block/rescue/always walked) in every `*_tasks` key under `outputs` of every Heat
    template below ``tht_root/subdir``, unwrapping list_concat, if (both branches), {description,
    value} and nested lists. A position is counted once, however many lists use it (YAML aliases).
    ``*.j2.yaml`` templates are rendered first; their tasks go to ``rendered``. Paths are relative
    to ``tht_root``."""
    root = Path(tht_root)
    out = ThtCount()
    blocks: set = set()
    for path in sorted((root / subdir).rglob("*.yaml")):
        rel = path.relative_to(root).as_posix()
        text = path.read_text()
        if not any(line.startswith("heat_template_version") for line in text.splitlines()):
            continue
        out.templates.append(rel)
        labels = None
        if path.name.endswith(".j2.yaml"):
            text = _render_like_process_templates(path, root)
            labels = out.rendered.setdefault(rel, [])
        doc = yaml.compose(text, Loader=_Loader)
        outputs = _key(doc, "outputs") if isinstance(doc, yaml.MappingNode) else None
        if outputs is not None and _tht_walk_outputs(outputs, rel, out, labels, blocks):
            out.files.append(rel)
    out.blocks = len(blocks)
    return out
