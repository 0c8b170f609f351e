#!/usr/bin/env python3
"""Offline checks of deploy/: the container image recipe, the compose file and the Kubernetes
manifests, against the binaries that were just built (no container engine needed).

Usage: check_deploy.py REPO_ROOT CODEBOOKD CODEBOOK_CLI
Checks that every file parses; that every image is the one the Dockerfile builds, tagged with
the project's version; that every codebookd command line (Dockerfile CMD, compose, manifests)
passes `codebookd --check_flags` and every CLI call names a real command; that the ports in
the flags, EXPOSE, containerPorts, probes and Services agree; that probes ask for health
services the server registers; that Services and the PodDisruptionBudget select pods that
exist; that replicas follow the primary's stable name; that every container asks for resources;
and that the runtime stage installs every library codebookd and codebook load (ldd + dpkg, with
the packages' own dependencies). Prints each check; exits 1 on the first failed one.
"""
import json
import os
import re
import subprocess
import sys

import yaml

ROOT, CODEBOOKD, CLI = sys.argv[1], sys.argv[2], sys.argv[3]
DEPLOY = os.path.join(ROOT, "deploy")
checks = 0


def check(ok, what):
    global checks
    checks += 1
    if not ok:
        print("FAIL:", what)
        sys.exit(1)
    print("ok:", what)


def flags_ok(args, where):
    r = subprocess.run([CODEBOOKD, "--check_flags"] + args, capture_output=True, text=True)
    check(r.returncode == 0, "%s: codebookd accepts %s%s" % (where, " ".join(args),
                                                            "" if r.returncode == 0 else "\n" + r.stderr))


def flag(args, name):
    for a in args:
        if a.startswith("--%s=" % name):
            return a.split("=", 1)[1]
    return None


def port_of(address):
    return int(address.rsplit(":", 1)[1]) if address else None


# --- facts from the sources ---
with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
    version = re.search(r"project\(codebook VERSION ([0-9.]+)", f.read()).group(1)
with open(os.path.join(ROOT, "server", "server.cc")) as f:
    health_services = set(re.findall(r'SetHealth\("([^"]+)"', f.read())) | {""}
check({"codebook.v1.Terminology", "codebook.v1.Replica"} <= health_services,
      "health services registered by codebookd: %s" % sorted(health_services - {""}))
image = "codebook:%s" % version
cli_help = subprocess.run([CLI, "--help"], capture_output=True, text=True).stdout
cli_commands = set(re.findall(r"^  ([a-z]+) ", cli_help, re.M))
check("ping" in cli_commands, "CLI commands: %s" % " ".join(sorted(cli_commands)))

# --- Dockerfile ---
with open(os.path.join(DEPLOY, "Dockerfile")) as f:
    dockerfile = f.read()
# Join continuation lines so that each instruction is one line.
instructions = [l.strip() for l in re.sub(r"\\\n", " ", dockerfile).splitlines()
                if l.strip() and not l.strip().startswith("#")]
froms = [l for l in instructions if l.startswith("FROM ")]
check(len(froms) >= 2, "Dockerfile is multi-stage (%d stages)" % len(froms))
check(froms[-1].split()[1] == "debian:12-slim", "runtime stage is debian:12-slim")
check(froms[0].split()[1].startswith("debian:12"), "build stage is Debian 12")
check(image in dockerfile, "Dockerfile documents the tag %s" % image)
runtime = instructions[instructions.index(froms[-1]):]
expose = [int(p) for l in runtime if l.startswith("EXPOSE ") for p in l.split()[1:]]
entry = json.loads([l for l in runtime if l.startswith("ENTRYPOINT ")][0][len("ENTRYPOINT "):])
cmd = json.loads([l for l in runtime if l.startswith("CMD ")][0][len("CMD "):])
check(entry == ["/usr/local/bin/codebookd"], "entrypoint is codebookd")
copies = " ".join(l for l in runtime if l.startswith("COPY "))
check("/build/server/codebookd" in copies and "/build/client/codebook" in copies
      and "/usr/local/bin/" in copies, "runtime stage copies codebookd and codebook to /usr/local/bin")
flags_ok(cmd, "Dockerfile CMD")
check(sorted(expose) == sorted(p for p in (port_of(flag(cmd, n)) for n in
                                           ("listen", "metrics_listen", "health_listen", "fhir_listen")) if p),
      "EXPOSE %s equals the ports of the default command" % expose)
installed = set()
for l in runtime:
    if l.startswith("RUN ") and "apt-get install" in l:
        after = l.split("apt-get install", 1)[1]
        installed |= {w for w in re.split(r"\s+", after.split("&&")[0]) if w and not w.startswith("-")}
check(installed, "runtime packages: %s" % " ".join(sorted(installed)))


def packages_of(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    pkgs = set()
    for line in out.splitlines():
        m = re.search(r"=> (/\S+)", line)
        if not m:
            continue
        path = os.path.realpath(m.group(1))
        r = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
        if r.returncode != 0:  # merged /usr: dpkg may know the /lib path
            r = subprocess.run(["dpkg", "-S", path.replace("/usr/lib/", "/lib/", 1)],
                               capture_output=True, text=True)
        check(r.returncode == 0, "%s: %s belongs to a Debian package" % (os.path.basename(binary), path))
        pkgs.add(r.stdout.split(":")[0])
    return pkgs


closure = subprocess.run(
    ["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
     "--no-breaks", "--no-replaces", "--no-enhances", "--no-pre-depends"] + sorted(installed),
    capture_output=True, text=True).stdout
provided = set(installed) | {l.strip() for l in closure.splitlines() if l and not l.startswith(" ")}
provided |= set(re.findall(r"Depends: <?([^\s>]+)", closure))
for binary in (CODEBOOKD, CLI):
    needed = packages_of(binary)
    missing = sorted(p.split(":")[0] for p in needed if p.split(":")[0] not in provided)
    check(not missing, "runtime stage provides every library of %s (%d packages)%s" % (
        os.path.basename(binary), len(needed), "; missing: " + " ".join(missing) if missing else ""))

# --- compose ---
with open(os.path.join(DEPLOY, "compose.yaml")) as f:
    compose = yaml.safe_load(f)
services = compose["services"]
check(set(services) == {"primary", "replica"}, "compose has a primary and a replica")
for name, svc in services.items():
    check(svc["image"] == image, "compose %s uses %s" % (name, image))
    flags_ok(svc["command"], "compose " + name)
    test = svc["healthcheck"]["test"]
    check(test[1] == "/usr/local/bin/codebook" and test[-1] in cli_commands
          and port_of(test[2].split("=", 1)[1]) == port_of(flag(svc["command"], "listen")),
          "compose %s health check runs `codebook %s` on its gRPC port" % (name, test[-1]))
follow = flag(services["replica"]["command"], "follow")
check(follow == "primary:%d" % port_of(flag(services["primary"]["command"], "listen")),
      "compose replica follows the primary's gRPC port (%s)" % follow)
check(services["replica"]["depends_on"]["primary"]["condition"] == "service_healthy",
      "compose replica starts once the primary is healthy")

# --- Kubernetes ---
docs = []
k8s = os.path.join(DEPLOY, "k8s")
with open(os.path.join(k8s, "kustomization.yaml")) as f:
    resources = yaml.safe_load(f)["resources"]
check(sorted(resources) == sorted(n for n in os.listdir(k8s) if n != "kustomization.yaml"),
      "kustomization lists every manifest")
for name in resources:
    with open(os.path.join(k8s, name)) as f:
        docs += [d for d in yaml.safe_load_all(f) if d]
by_kind = {}
for d in docs:
    check(d.get("apiVersion") and d.get("kind") and d["metadata"].get("name"),
          "%s %s parses with apiVersion, kind and name" % (d.get("kind"), d["metadata"].get("name")))
    by_kind.setdefault(d["kind"], []).append(d)
workloads = by_kind.get("StatefulSet", []) + by_kind.get("Deployment", [])
check(len(by_kind.get("StatefulSet", [])) == 1, "the primary is a StatefulSet")
check(len(by_kind.get("Deployment", [])) == 1, "the replicas are a Deployment")
primary = by_kind["StatefulSet"][0]
replica = by_kind["Deployment"][0]
check(primary["spec"].get("volumeClaimTemplates"), "the primary has a persistent volume")
headless = {s["metadata"]["name"]: s for s in by_kind["Service"] if s["spec"].get("clusterIP") == "None"}
check(primary["spec"]["serviceName"] in headless, "the StatefulSet's serviceName is a headless Service")
pod_ports = {}
for w in workloads:
    spec = w["spec"]["template"]["spec"]
    labels = w["spec"]["template"]["metadata"]["labels"]
    check(all(labels.get(k) == v for k, v in w["spec"]["selector"]["matchLabels"].items()),
          "%s selector matches its pods" % w["metadata"]["name"])
    for c in spec["containers"]:
        where = "%s/%s" % (w["metadata"]["name"], c["name"])
        check(c["image"] == image, "%s uses %s" % (where, image))
        flags_ok(c["args"], where)
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        pod_ports[w["metadata"]["name"]] = (labels, ports)
        check(ports.get("grpc") == port_of(flag(c["args"], "listen")), "%s grpc port matches --listen" % where)
        check(ports.get("metrics") == port_of(flag(c["args"], "metrics_listen")),
              "%s metrics port matches --metrics_listen" % where)
        check(ports.get("health") == port_of(flag(c["args"], "health_listen")),
              "%s health port matches --health_listen" % where)
        check(set(ports.values()) <= set(expose), "%s ports are EXPOSEd by the image" % where)
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            p = c.get(probe)
            check(p and "grpc" in p, "%s has a gRPC %s" % (where, probe))
            check(p["grpc"]["port"] == ports["health"],
                  "%s %s uses the plaintext health port" % (where, probe))
            check(p["grpc"].get("service", "") in health_services,
                  "%s %s asks for health service '%s'" % (where, probe, p["grpc"].get("service", "")))
        req = c.get("resources", {}).get("requests", {})
        check("cpu" in req and "memory" in req, "%s requests cpu and memory" % where)
        mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
        for a in c["args"]:
            value = a.split("=", 1)[1] if "=" in a else ""
            if value.startswith("/") and not a.startswith("--listen"):
                check(any(value.startswith(m + "/") for m in mounts),
                      "%s: %s is on a mounted volume" % (where, a))
r_args = replica["spec"]["template"]["spec"]["containers"][0]["args"]
check(flag(r_args, "follow") == "%s-0.%s:%d" % (primary["metadata"]["name"], primary["spec"]["serviceName"],
                                                 pod_ports[primary["metadata"]["name"]][1]["grpc"]),
      "replicas follow the primary's stable DNS name (%s)" % flag(r_args, "follow"))
check(replica["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["grpc"]["service"]
      == "codebook.v1.Replica", "a replica is ready only when in sync")
for s in by_kind["Service"]:
    selected = [n for n, (labels, _) in pod_ports.items()
                if all(labels.get(k) == v for k, v in s["spec"]["selector"].items())]
    check(len(selected) == 1, "Service %s selects %s" % (s["metadata"]["name"], selected))
    for p in s["spec"]["ports"]:
        check(p["targetPort"] in pod_ports[selected[0]][1],
              "Service %s port %s targets a named container port" % (s["metadata"]["name"], p["name"]))
check(any(n.startswith("codebook-read") for n in headless), "a headless Service lists the replicas")
for pdb in by_kind.get("PodDisruptionBudget", []):
    sel = pdb["spec"]["selector"]["matchLabels"]
    matched = [n for n, (labels, _) in pod_ports.items() if all(labels.get(k) == v for k, v in sel.items())]
    check(matched == [replica["metadata"]["name"]], "PodDisruptionBudget %s covers the replicas" %
          pdb["metadata"]["name"])
check(by_kind.get("PodDisruptionBudget"), "a PodDisruptionBudget exists")
print("deploy: %d checks passed" % checks)
