"""ansible.builtin.git: clone, fetch and check out with the git CLI, as the module does
(same commands, same choice of refs, same `before`/`after`/`changed`), check mode
through `git ls-remote`.

Not ported, refused with a message rather than ignored: ssh settings (key_file,
ssh_opts, accept_hostkey, accept_newhostkey), reference, verify_commit and
gpg_allowlist, archive, separate_git_dir, umask, submodules (a repository with a
.gitmodules, or track_submodules), and the diff of diff mode.
"""

import os
import re
import shlex

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_best_locale, common_bin_path, common_run, common_validate  # tm:strip

_GIT_SPEC = {
    "dest": {"type": "path"},
    "repo": {"required": True, "aliases": ["name"]},
    "version": {"default": "HEAD"},
    "remote": {"default": "origin"},
    "refspec": {},
    "reference": {},
    "force": {"default": False, "type": "bool"},
    "depth": {"type": "int"},
    "clone": {"default": True, "type": "bool"},
    "update": {"default": True, "type": "bool"},
    "verify_commit": {"default": False, "type": "bool"},
    "gpg_allowlist": {"default": [], "type": "list", "aliases": ["gpg_whitelist"], "elements": "str"},
    "accept_hostkey": {"default": False, "type": "bool"},
    "accept_newhostkey": {"default": False, "type": "bool"},
    "key_file": {"type": "path"},
    "ssh_opts": {},
    "executable": {"type": "path"},
    "bare": {"default": False, "type": "bool"},
    "recursive": {"default": True, "type": "bool"},
    "single_branch": {"default": False, "type": "bool"},
    "track_submodules": {"default": False, "type": "bool"},
    "umask": {"type": "raw"},
    "archive": {"type": "path"},
    "archive_prefix": {},
    "separate_git_dir": {"type": "path"},
}
_GIT_NOT_PORTED = ("reference", "verify_commit", "accept_hostkey", "accept_newhostkey", "key_file", "ssh_opts",
                   "umask", "archive", "archive_prefix", "separate_git_dir", "track_submodules")


class _Git:
    def __init__(self, ctx, git, params):
        self.ctx, self.git, self.params = ctx, git, params
        locale = common_best_locale(ctx)
        self.env = {key: locale for key in ("LANG", "LC_ALL", "LC_MESSAGES", "LC_CTYPE", "LANGUAGE")}

    def run(self, cmd, cwd=None, check=False):
        """run_command: a string is split with shlex; check_rc fails the way the module does."""
        if cwd is not None and not os.path.isdir(cwd):
            cwd = None  # run_command's ignore_invalid_cwd
        rc, out, err = common_run(self.ctx, cmd, cwd=cwd, environ_update=self.env)
        if check and rc != 0:
            args = shlex.split(cmd) if isinstance(cmd, str) else cmd
            raise ModuleFailed(err.rstrip(), cmd=" ".join(shlex.quote(a) for a in args), rc=rc,
                               stdout=out, stderr=err)
        return rc, out, err

    def version(self):
        rc, out, _ = self.run("%s --version" % self.git)
        match = re.search("git version (.*)$", out) if rc == 0 else None
        if not match:
            return None
        return tuple(int(part) if part.isdigit() else 0 for part in re.findall(r"\d+", match.group(1))[:3])

    def rev_parse(self, dest, ref="HEAD"):
        return self.run("%s rev-parse %s" % (self.git, ref), cwd=dest)[1].rstrip("\n")

    def is_remote_branch(self, dest, remote, version):
        return version in self.run("%s ls-remote %s -h refs/heads/%s" % (self.git, remote, version),
                                   cwd=dest, check=True)[1]

    def is_remote_tag(self, dest, remote, version):
        return version in self.run("%s ls-remote %s -t refs/tags/%s" % (self.git, remote, version),
                                   cwd=dest, check=True)[1]

    def branches(self, dest):
        rc, out, err = self.run("%s branch --no-color -a" % self.git, cwd=dest)
        if rc != 0:
            raise ModuleFailed("Could not determine branch data - received %s" % out, stdout=out, stderr=err)
        return [line.strip() for line in out.split("\n") if line.strip()]

    def is_local_branch(self, dest, branch):
        found = self.branches(dest)
        return branch in found or "* %s" % branch in found

    def head_branch(self, dest, remote, bare=False):
        repo_path = _git_repo_path(dest, bare)
        headfile = os.path.join(repo_path, "HEAD")
        if any(b.startswith("* ") and ("no branch" in b or "detached from" in b or "detached at" in b)
               for b in self.branches(dest)):
            headfile = os.path.join(repo_path, "refs", "remotes", remote, "HEAD")
        if not os.path.exists(headfile):
            return None
        try:
            with open(headfile) as stream:
                raw = stream.readline()
        except Exception as ex:
            raise ModuleFailed("Unable to read %s" % headfile) from ex
        if not raw:
            return None
        raw = raw.replace("refs/remotes/%s" % remote, "", 1)
        return raw.split(" ")[-1].split("/", 2)[-1].rstrip("\n")

    def remote_head(self, dest, version, remote, bare):
        repo = self.params["repo"]
        cloning = remote == repo or remote == "file://" + os.path.expanduser(repo)
        cwd = None if cloning else dest
        tag = False
        if version == "HEAD":
            if cloning:
                cmd = "%s ls-remote %s -h HEAD" % (self.git, remote)
            else:
                cmd = "%s ls-remote %s -h refs/heads/%s" % (self.git, remote, self.head_branch(dest, remote, bare))
        elif self.is_remote_branch(dest, remote, version):
            cmd = "%s ls-remote %s -h refs/heads/%s" % (self.git, remote, version)
        elif self.is_remote_tag(dest, remote, version):
            tag = True
            cmd = "%s ls-remote %s -t refs/tags/%s*" % (self.git, remote, version)
        else:
            return version  # a sha1: the remote cannot be asked for it
        rc, out, err = self.run(cmd, cwd=cwd, check=True)
        if len(out) < 1:
            raise ModuleFailed("Could not determine remote revision for %s" % version, stdout=out, stderr=err, rc=rc)
        if tag:
            for line in out.split("\n"):
                if line.endswith(version + "^{}"):
                    out = line
                    break
                if line.endswith(version):
                    out = line
        return out.split()[0]

    def remote_url(self, dest, remote):
        rc, out, _ = self.run([self.git, "ls-remote", "--get-url", remote], cwd=dest)
        return out.rstrip("\n") if rc == 0 else None

    def set_remote_url(self, repo, dest, remote):
        url = self.remote_url(dest, remote)
        if url == repo or _git_unfrack(url) == _git_unfrack(repo):
            return False
        rc, out, err = self.run([self.git, "remote", "set-url", remote, repo], cwd=dest)
        if rc != 0:
            raise ModuleFailed("Failed to set a new url %s for %s: %s %s" % (repo, remote, out, err))
        return url is not None

    def clone(self, repo, dest, remote, depth, version, bare, refspec, single_branch):
        try:
            os.makedirs(os.path.dirname(dest))
        except Exception:
            pass
        cmd = [self.git, "clone"] + (["--bare"] if bare else ["--origin", remote])
        is_ref = self.is_remote_branch(dest, repo, version) or self.is_remote_tag(dest, repo, version)
        if depth:
            if version == "HEAD" or refspec:
                cmd += ["--depth", str(depth)]
            elif is_ref:
                cmd += ["--depth", str(depth), "--branch", version]
            else:
                self.ctx.warn("Ignoring depth argument. Shallow clones are only available for HEAD, branches, "
                              "tags or in combination with refspec.")
        if single_branch:
            cmd.append("--single-branch")
            if is_ref:
                cmd += ["--branch", version]
        cmd += [repo, dest]
        self.run(cmd, cwd=os.path.dirname(dest), check=True)
        if bare and remote != "origin":
            self.run([self.git, "remote", "add", remote, repo], cwd=dest, check=True)
        if refspec:
            self.run([self.git, "fetch"] + (["--depth", str(depth)] if depth else []) + [remote, refspec],
                     cwd=dest, check=True)

    def fetch(self, repo, dest, version, remote, depth, bare, refspec, force):
        self.set_remote_url(repo, dest, remote)
        cmd = [self.git, "fetch"]
        refspecs = []
        if depth:
            current = self.head_branch(dest, remote)
            if refspec:
                refspecs.append(refspec)
            elif version == "HEAD":
                refspecs.append(current)
            elif self.is_remote_branch(dest, repo, version):
                if current != version:
                    refspecs.append("+refs/heads/%s:refs/heads/%s" % (version, version))
                refspecs.append("+refs/heads/%s:refs/remotes/%s/%s" % (version, remote, version))
            elif self.is_remote_tag(dest, repo, version):
                refspecs.append("+refs/tags/" + version + ":refs/tags/" + version)
            if refspecs:
                cmd += ["--depth", str(depth)]
        if not depth or not refspecs:
            if bare:
                refspecs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]
            else:
                cmd.append("--tags")
            if refspec:
                refspecs.append(refspec)
        if force:
            cmd.append("--force")
        cmd = cmd + [remote] + refspecs
        rc, out, err = self.run(cmd, cwd=dest)
        if rc != 0:
            raise ModuleFailed("Failed to download remote objects and refs: %s %s" % (out, err), cmd=cmd)

    def switch_version(self, dest, remote, version, depth):
        branch = None
        if version == "HEAD":
            branch = self.head_branch(dest, remote)
            rc, out, err = self.run("%s checkout --force %s" % (self.git, branch), cwd=dest)
            if rc != 0:
                raise ModuleFailed("Failed to checkout branch %s" % branch, stdout=out, stderr=err, rc=rc)
            cmd = "%s reset --hard %s/%s --" % (self.git, remote, branch)
        elif self.is_remote_branch(dest, remote, version):
            if depth and not self.is_local_branch(dest, version):
                refs = "+refs/heads/%s:refs/heads/%s +refs/heads/%s:refs/remotes/%s/%s" % (
                    version, version, version, remote, version)
                rc, out, err = self.run("%s fetch --depth=%s %s %s" % (self.git, depth, remote, refs), cwd=dest)
                if rc != 0:
                    raise ModuleFailed("Failed to fetch branch from remote: %s" % version, stdout=out, stderr=err,
                                       rc=rc)
            if not self.is_local_branch(dest, version):
                cmd = "%s checkout --track -b %s %s/%s" % (self.git, version, remote, version)
            else:
                rc, out, err = self.run("%s checkout --force %s" % (self.git, version), cwd=dest)
                if rc != 0:
                    raise ModuleFailed("Failed to checkout branch %s" % version, stdout=out, stderr=err, rc=rc)
                cmd = "%s reset --hard %s/%s" % (self.git, remote, version)
        else:
            cmd = "%s checkout --force %s" % (self.git, version)
        rc, out, err = self.run(cmd, cwd=dest)
        if rc != 0:
            raise ModuleFailed("Failed to checkout %s" % (version if version != "HEAD" else "branch %s" % branch),
                               stdout=out, stderr=err, rc=rc, cmd=cmd)


def _git_unfrack(path):
    if path is None:
        return None
    return os.path.normpath(os.path.realpath(os.path.expanduser(os.path.expandvars(path))))


def _git_repo_path(dest, bare):
    path = dest if bare else os.path.join(dest, ".git")
    if os.path.isfile(path):
        raise ModuleFailed("%s is a gitdir file (a separate git dir): not supported by the TASK runtime" % path)
    return path


@module("ansible.builtin.git", "ansible.legacy.git")
def git_module(params, ctx):
    p = common_validate("ansible.builtin.git", params, _GIT_SPEC, ctx,
                        mutually_exclusive=[("separate_git_dir", "bare"), ("accept_hostkey", "accept_newhostkey")],
                        required_by={"archive_prefix": ["archive"]})
    unported = [k for k in _GIT_NOT_PORTED if p[k] not in (None, False, [])]
    if unported:
        raise ModuleFailed("ansible.builtin.git: %s not supported by the TASK runtime" % ", ".join(unported))
    dest, repo, version, remote = p["dest"], p["repo"], p["version"], p["remote"]
    refspec, force, depth, bare = p["refspec"], p["force"], p["depth"], p["bare"]
    git = p["executable"] or common_bin_path("git", ctx, required=True)
    if os.path.expanduser(repo).startswith("/"):
        repo = "file://" + os.path.expanduser(repo)
    tool = _Git(ctx, git, p)
    result = {"changed": False}
    gitconfig = None
    if not dest and p["clone"]:
        raise ModuleFailed("the destination directory must be specified unless clone=no")
    if dest:
        dest = os.path.abspath(dest)
        gitconfig = os.path.join(_git_repo_path(dest, bare), "config")
    if dest and os.path.exists(os.path.join(dest, ".gitmodules")) and p["recursive"] and not bare:
        raise ModuleFailed("ansible.builtin.git: submodules (%s/.gitmodules) not supported by the TASK runtime"
                           % dest)
    used = tool.version()
    if depth is not None and used is not None and used < (1, 9, 1):
        ctx.warn("git version is too old to fully support the depth argument. Falling back to full checkouts.")
        depth = None
    result["before"] = None
    local_mods = False
    remote_url_changed = False
    if (dest and not os.path.exists(gitconfig)) or (not dest and not p["clone"]):
        if ctx.check_mode or not p["clone"]:
            result.update(changed=True, after=tool.remote_head(dest, version, repo, bare))
            return result
        tool.clone(repo, dest, remote, depth, version, bare, refspec, p["single_branch"])
    elif not p["update"]:
        result["before"] = tool.rev_parse(dest)
        result["after"] = result["before"]
        return result
    else:
        if not bare:
            out = tool.run("%s status --porcelain" % git, cwd=dest)[1]
            local_mods = any(not re.search("^\\?\\?.*$", line) for line in out.splitlines())
        result["before"] = tool.rev_parse(dest)
        if local_mods:
            if not force:
                raise ModuleFailed("Local modifications exist in the destination: " + dest + " (force=no).",
                                   **result)
            if not ctx.check_mode:
                tool.run("%s reset --hard HEAD" % git, cwd=dest, check=True)
                result.update(changed=True, msg="Local modifications exist in the destination: " + dest)
        if ctx.check_mode:
            url = tool.remote_url(dest, remote)
            remote_url_changed = url and url != repo and _git_unfrack(url) != _git_unfrack(repo)
        else:
            remote_url_changed = tool.set_remote_url(repo, dest, remote)
        result["remote_url_changed"] = remote_url_changed
        if ctx.check_mode:
            head = tool.remote_head(dest, version, remote, bare)
            result.update(changed=result["before"] != head or remote_url_changed, after=head)
            return result
        tool.fetch(repo, dest, version, remote, depth, bare, refspec, force)
        result["after"] = tool.rev_parse(dest)
    if not bare:
        tool.switch_version(dest, remote, version, depth)
    if p["recursive"] and not bare and os.path.exists(os.path.join(dest, ".gitmodules")):
        raise ModuleFailed("ansible.builtin.git: submodules (%s/.gitmodules) not supported by the TASK runtime"
                           % dest)
    result["after"] = tool.rev_parse(dest)
    if result["before"] != result["after"] or local_mods or remote_url_changed:
        result["changed"] = True
    return result
