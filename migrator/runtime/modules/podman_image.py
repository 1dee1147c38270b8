"""containers.podman.podman_image, as in containers.podman 1.20 (podman CLI).

States present (pull, or build when `path` is given), build, absent, and
push; change detection as the module's: the digest before and after a pull,
the image ID before and after a build, a Containerfile hash label deciding a
rebuild. state=quadlet (writing a systemd quadlet file) is not ported: it
fails with a message saying so.
"""

import hashlib
import json
import os
import shlex
import tempfile
import time

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_run, common_validate  # tm:strip
from migrator.runtime.modules.podman_container_info import (  # tm:strip
    podman_container_info_executable)  # tm:strip

_PODMAN_IMAGE_SPEC = {
    "name": {"type": "str", "required": True},
    "arch": {"type": "str"},
    "platform": {"type": "str"},
    "tag": {"type": "str", "default": "latest"},
    "pull": {"type": "bool", "default": True},
    "pull_extra_args": {"type": "str"},
    "pull_policy": {"type": "str", "choices": ["always", "missing", "never", "newer"]},
    "retry": {"type": "int"},
    "retry_delay": {"type": "str"},
    "push": {"type": "bool", "default": False},
    "path": {"type": "str"},
    "force": {"type": "bool", "default": False},
    "state": {"type": "str", "default": "present",
              "choices": ["absent", "present", "build", "quadlet"]},
    "validate_certs": {"type": "bool", "aliases": ["tlsverify", "tls_verify"]},
    "executable": {"type": "str", "default": "podman"},
    "auth_file": {"type": "path", "aliases": ["authfile"]},
    "username": {"type": "str"},
    "password": {"type": "str"},
    "ca_cert_dir": {"type": "path"},
    "quadlet_dir": {"type": "path"},
    "quadlet_filename": {"type": "str"},
    "quadlet_file_mode": {"type": "raw"},
    "quadlet_options": {"type": "list", "elements": "str"},
    "build": {"type": "dict", "aliases": ["build_args", "buildargs"], "default": {},
              "options": {
                  "annotation": {"type": "dict"},
                  "force_rm": {"type": "bool", "default": False},
                  "file": {"type": "path"},
                  "container_file": {"type": "str"},
                  "format": {"type": "str", "choices": ["oci", "docker"], "default": "oci"},
                  "cache": {"type": "bool", "default": True},
                  "rm": {"type": "bool", "default": True},
                  "volume": {"type": "list", "elements": "str"},
                  "extra_args": {"type": "str"},
                  "target": {"type": "str"},
              }},
    "push_args": {"type": "dict", "default": {},
                  "options": {
                      "ssh": {"type": "str"},
                      "compress": {"type": "bool"},
                      "format": {"type": "str", "choices": ["oci", "v2s1", "v2s2"]},
                      "remove_signatures": {"type": "bool"},
                      "sign_by": {"type": "str"},
                      "sign_by_sq_fingerprint": {"type": "str"},
                      "compression_format": {"type": "str"},
                      "dest": {"type": "str", "aliases": ["destination"]},
                      "extra_args": {"type": "str"},
                      "transport": {"type": "str",
                                    "choices": ["dir", "docker-archive", "docker-daemon",
                                                "oci-archive", "ostree", "docker", "scp"]},
                  }},
}


class _PodmanImage:
    """PodmanImageManager and its helpers, on ctx.run."""

    def __init__(self, p, ctx):
        self.p, self.ctx = p, ctx
        self.executable = podman_container_info_executable(p["executable"], ctx)
        name, tag = self._parse(p["name"])
        self.name = name
        self.tag = tag or p["tag"]
        self.full_name = "%s%s%s" % (name, "@" if self.tag.startswith("sha256:") else ":",
                                     self.tag)
        self.results = {"changed": False, "actions": [], "podman_actions": [], "image": {},
                        "stdout": ""}

    @staticmethod
    def _parse(repo_name):
        parts = repo_name.rsplit("@", 1)
        if len(parts) == 2:
            return parts[0], parts[1]
        parts = repo_name.rsplit(":", 1)
        if len(parts) == 2 and "/" not in parts[1]:
            return parts[0], parts[1]
        return repo_name, None

    def run(self, args):
        return common_run(self.ctx, [self.executable] + args)

    # inspection

    def inspect(self, image):
        rc, out, _ = self.run(["inspect", image, "--format", "json"])
        if rc != 0:
            return None
        try:
            data = json.loads(out)
        except ValueError:
            raise ModuleFailed("Failed to parse JSON output from podman inspect: %s" % out) \
                from None
        return data or None

    def find(self):
        image = self.full_name
        if self.run(["image", "exists", image])[0] != 0:
            return None
        rc, out, _ = self.run(["image", "ls", image, "--format", "json"])
        if rc != 0:
            return None
        try:
            images = json.loads(out) or []
        except ValueError:
            raise ModuleFailed("Failed to parse JSON output from podman image ls: %s" % out) \
                from None
        if not images:
            return None
        arch, platform = self.p["arch"], self.p["platform"]
        if arch:
            data = self.inspect(image)
            if data and data[0].get("Architecture") != arch:
                return None
        elif platform:
            data = self.inspect(image)
            if data:
                wanted = platform.split("/")
                img_os = data[0].get("Os") or data[0].get("os")
                img_arch = data[0].get("Architecture") or data[0].get("architecture")
                img_arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(img_arch, img_arch)
                if wanted[0] and img_os != wanted[0]:
                    return None
                if len(wanted) >= 2 and wanted[1] and img_arch != wanted[1]:
                    return None
        return images

    @staticmethod
    def _digest(data):
        if not data:
            return None
        digest = data[0].get("Digest") or data[0].get("digest")
        if not digest:
            for repo_digest in data[0].get("RepoDigests", []):
                if "@" in repo_digest:
                    return repo_digest.split("@", 1)[1]
        return digest

    # Containerfile

    def containerfile(self):
        build = self.p["build"] or {}
        contents = build.get("container_file")
        filename = build.get("file")
        if not filename and self.p["path"]:
            for name in ("Containerfile", "Dockerfile"):
                if os.path.exists(os.path.join(self.p["path"], name)):
                    filename = os.path.join(self.p["path"], name)
                    break
        if not contents and filename and os.access(filename, os.R_OK):
            with open(filename, encoding="utf-8") as stream:
                contents = stream.read()
        return contents

    def containerfile_hash(self):
        contents = self.containerfile()
        return hashlib.sha256(contents.encode()).hexdigest() if contents else None

    def should_rebuild(self, existing):
        if not existing or self.p["force"]:
            return True
        current = self.containerfile_hash()
        if not current:
            return False
        labels = existing[0].get("Labels") or {}
        return current != labels.get("containerfile.hash", "")

    # commands

    def auth_args(self):
        args, p = [], self.p
        if p["validate_certs"] is not None:
            args.append("--tls-verify" if p["validate_certs"] else "--tls-verify=false")
        if p["ca_cert_dir"]:
            args += ["--cert-dir", p["ca_cert_dir"]]
        if p["auth_file"]:
            args += ["--authfile", p["auth_file"]]
        if p["username"] and p["password"]:
            args += ["--creds", "%s:%s" % (p["username"], p["password"])]
        return args

    def build(self, id_before):
        build, path = self.p["build"] or {}, self.p["path"]
        if build.get("file") and build.get("container_file"):
            raise ModuleFailed("Cannot specify both build file and container file content!")
        if not path and not build.get("file") and not build.get("container_file"):
            raise ModuleFailed("Path to build context or file is required when building an "
                               "image")
        containerfile_hash = self.containerfile_hash()
        if self.ctx.check_mode:
            self.results["changed"] = True
        else:
            args = ["build", "-t", self.full_name] + self.auth_args()
            if self.p["arch"]:
                args += ["--arch", self.p["arch"]]
            if self.p["platform"]:
                args += ["--platform", self.p["platform"]]
            if build.get("force_rm"):
                args.append("--force-rm")
            if build.get("format"):
                args += ["--format", build["format"]]
            if not build.get("cache", True):
                args.append("--no-cache")
            if build.get("rm", True):
                args.append("--rm")
            for key, value in (build.get("annotation") or {}).items():
                args += ["--annotation", "%s=%s" % (key, value)]
            if containerfile_hash:
                args += ["--label", "containerfile.hash=%s" % containerfile_hash]
            for volume in build.get("volume") or []:
                if volume:
                    args += ["--volume", volume]
            if build.get("file"):
                args += ["--file", build["file"]]
            if build.get("target"):
                args += ["--target", build["target"]]
            if build.get("extra_args"):
                args += shlex.split(build["extra_args"])
            if path:
                args.append(path)
            generated = None
            if build.get("container_file"):
                generated = os.path.join(path or tempfile.gettempdir(),
                                         "Containerfile.generated_by_ansible_%s" % time.time())
                with open(generated, "w", encoding="utf-8") as stream:
                    stream.write(build["container_file"])
                args += ["--file", generated]
            try:
                command = " ".join([self.executable] + args)
                rc, out, err = self.run(args)
                if rc != 0:
                    raise ModuleFailed("Failed to build image %s: %s %s" % (self.full_name, out,
                                                                            err))
            finally:
                if generated and os.path.exists(generated):
                    os.remove(generated)
            self.results["stdout"] = out + err
            self.results["image"] = self.inspect(self.full_name)
            self.results["podman_actions"].append(command)
            id_after = None
            if self.results["image"]:
                id_after = self.results["image"][0].get("Id") or self.results["image"][0].get("id")
            self.results["changed"] = id_before != id_after
        self.results["actions"].append("Built image %s from %s" % (self.full_name,
                                                                   path or "context"))

    def pull(self, digest_before):
        if not self.p["pull"]:
            raise ModuleFailed("Image %s not found locally and pull is disabled" % self.full_name)
        if self.ctx.check_mode:
            self.results["changed"] = True
            self.results["actions"].append("Pulled image %s" % self.full_name)
            return
        p = self.p
        args = ["pull", self.full_name]
        if p["platform"]:
            args += ["--platform", p["platform"]]
        elif p["arch"]:
            args += ["--arch", p["arch"]]
        if p["pull_policy"]:
            args += ["--policy", p["pull_policy"]]
        if p["retry"] is not None:
            args += ["--retry", str(p["retry"])]
        if p["retry_delay"]:
            args += ["--retry-delay", p["retry_delay"]]
        args += self.auth_args()
        if p["pull_extra_args"]:
            args += shlex.split(p["pull_extra_args"])
        command = " ".join([self.executable] + args)
        rc, out, err = self.run(args)
        if rc != 0:
            raise ModuleFailed("Failed to pull image %s" % self.full_name, stderr=err, stdout=out)
        self.results["image"] = self.inspect(self.full_name)
        self.results["podman_actions"].append(command)
        changed = digest_before != self._digest(self.results["image"])
        self.results["changed"] = changed
        if changed:
            self.results["actions"].append("Pulled image %s" % self.full_name)

    def push(self):
        config = self.p["push_args"] or {}
        if not self.ctx.check_mode:
            output, action = self._push(config)
            self.results["stdout"] += "\n" + output
            self.results["actions"].append(action)
            self.results["podman_actions"].append("%s %s" % (self.executable, action))
        self.results["changed"] = True
        self.results["actions"].append("Pushed image %s" % self.full_name)

    def _push(self, config):
        image = self.full_name
        if config.get("transport") == "scp":
            args = ["--ssh", config["ssh"]] if config.get("ssh") else []
            args += ["image", "scp"]
            if config.get("extra_args"):
                args += shlex.split(config["extra_args"])
            args.append(image)
            dest = config.get("dest")
            if not dest:
                raise ModuleFailed("When using transport 'scp', push_args.dest must be provided")
            args.append(dest if "::" in dest else dest + "::")
            action = " ".join(args)
            rc, out, err = self.run(args)
            if rc != 0:
                raise ModuleFailed("Failed to scp image %s to %s" % (image, dest), stdout=out,
                                   stderr=err, actions=[action])
            return out + err, action
        args = ["push"] + self.auth_args()
        if config.get("compress"):
            args.append("--compress")
        if config.get("format"):
            args += ["--format", config["format"]]
        if config.get("remove_signatures"):
            args.append("--remove-signatures")
        if config.get("sign_by"):
            args += ["--sign-by", config["sign_by"]]
        if config.get("sign_by_sq_fingerprint"):
            args += ["--sign-by-sq-fingerprint", config["sign_by_sq_fingerprint"]]
        if config.get("compression_format"):
            args += ["--compression-format", config["compression_format"]]
        if config.get("extra_args"):
            args += shlex.split(config["extra_args"])
        if self.p["retry"] is not None:
            args += ["--retry", str(self.p["retry"])]
        if self.p["retry_delay"]:
            args += ["--retry-delay", self.p["retry_delay"]]
        args += [image, self._destination(image, config)]
        action = " ".join(args)
        rc, out, err = self.run(args)
        if rc != 0:
            raise ModuleFailed("Failed to push image %s" % image, stdout=out, stderr=err,
                               actions=[action])
        return out + err, action

    def _destination(self, image, config):
        dest = config.get("dest") or image
        transport = config.get("transport")
        if not transport:
            if ":" not in dest and "@" not in dest and len(dest.rstrip("/").split("/")) == 2:
                return "%s/%s" % (dest.rstrip("/"), image)
            if "/" not in dest and "@" not in dest and "docker-daemon" not in dest:
                raise ModuleFailed("Destination must be a full URL or path to a directory with "
                                   "image name and tag.")
            return dest
        base = image.split("/")[-1].split(":")[0]
        if transport == "docker":
            return "%s://%s" % (transport, dest)
        if transport == "ostree":
            return "%s:%s@%s" % (transport, base, dest)
        if transport == "docker-daemon" and ":" not in dest:
            return "%s:%s:latest" % (transport, dest)
        return "%s:%s" % (transport, dest)

    # states

    def present(self):
        image = self.find()
        digest_before = self._digest(self.inspect(self.full_name)) if image else None
        if not image or self.should_rebuild(image):
            if self.p["state"] == "build" or self.p["path"]:
                id_before = None
                if image:
                    data = self.inspect(self.full_name)
                    if data:
                        id_before = data[0].get("Id") or data[0].get("id")
                self.build(id_before)
            else:
                self.pull(digest_before)
        if self.p["push"]:
            self.push()
        if self.find():
            self.results["image"] = self.inspect(self.full_name)

    def absent(self):
        force = ["--force"] if self.p["force"] else []
        if self.find():
            if not self.ctx.check_mode:
                args = ["rmi", self.full_name] + force
                rc, _, err = self.run(args)
                if rc != 0:
                    raise ModuleFailed("Failed to remove image %s: %s" % (self.full_name, err))
                self.results["podman_actions"].append(" ".join([self.executable] + args))
            self.results["changed"] = True
            self.results["actions"].append("Removed image %s" % self.full_name)
            self.results["image"] = {"state": "Deleted"}
            return
        image_id = self.p["name"]
        if ":" in image_id and not image_id.startswith("sha256:"):
            image_id = image_id.split(":")[0]
        if image_id and self._id_exists(image_id):
            if not self.ctx.check_mode:
                args = ["rmi", image_id] + force
                rc, _, err = self.run(args)
                if rc != 0:
                    raise ModuleFailed("Failed to remove image with ID %s: %s" % (image_id, err))
                self.results["podman_actions"].append(" ".join([self.executable] + args))
            self.results["changed"] = True
            self.results["actions"].append("Removed image with ID %s" % image_id)
            self.results["image"] = {"state": "Deleted"}

    def _id_exists(self, image_id):
        rc, out, _ = self.run(["image", "ls", "--quiet", "--no-trunc"])
        if rc != 0:
            return False
        return any(line.replace("sha256:", "").startswith(image_id) for line in out.splitlines())


@module("containers.podman.podman_image")
def podman_image_module(params, ctx):
    p = common_validate("containers.podman.podman_image", params, _PODMAN_IMAGE_SPEC, ctx,
                        required_together=[["username", "password"]],
                        mutually_exclusive=[["auth_file", "username"], ["auth_file", "password"],
                                            ["arch", "platform"]])
    if p["state"] == "quadlet":
        raise ModuleFailed("state=quadlet is not supported by the TASK runtime")
    manager = _PodmanImage(p, ctx)
    try:
        if p["state"] in ("present", "build"):
            manager.present()
        else:
            manager.absent()
    except ModuleFailed:
        raise
    except Exception as ex:
        raise ModuleFailed("Failed to manage image: %s" % ex, exception=str(ex)) from None
    return manager.results
