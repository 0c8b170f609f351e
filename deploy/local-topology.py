#!/usr/bin/env python3
"""Starts the Kubernetes topology of deploy/k8s as local processes: the primary and the read
replicas (as many as replica.yaml asks for), each with the command line of its manifest, so
what runs here is what the cluster runs. Only what cannot be the same on one machine changes:
addresses become 127.0.0.1 with free ports, the volumes become folders under the work folder,
the Secrets become a CA and server certificate made with openssl and a tokens file with one
admin token, and the primary's DNS name becomes its local address.

  deploy/local-topology.py [--work=DIR] [--data=DIR] [--check]

Loads the default data into the primary (deploy/load-default-data.sh; --data picks another
folder), waits until every replica is in sync (its codebook_replica_in_sync metric), prints
how to reach each server, and runs until Ctrl-C. --check loads the repo's sample instead, looks
a code up through every server over TLS, makes sure replicas refuse admin calls, stops
everything and exits 0 only if all of that held (tests run it).
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("CODEBOOK_BUILD", os.path.join(ROOT, "build"))
CODEBOOKD = os.path.join(BUILD, "server", "codebookd")
CLI = os.path.join(BUILD, "client", "codebook")
ADMIN_TOKEN = "local-topology-admin-token-0001"
REPLICA_TOKEN = "local-topology-replica-token-01"


def manifest(name):
    with open(os.path.join(ROOT, "deploy", "k8s", name)) as f:
        return [d for d in yaml.safe_load_all(f) if d][0]


def container_args(workload):
    return workload["spec"]["template"]["spec"]["containers"][0]["args"]


def localize(args, name, work, primary_address=None):
    """The manifest's flags with local addresses, folders and files."""
    out = []
    for a in args:
        flag, _, value = a.partition("=")
        if flag in ("--listen", "--metrics_listen", "--health_listen"):
            value = "127.0.0.1:0"
        elif flag == "--db":
            value = os.path.join(work, name, "db")
        elif value.startswith("/etc/codebook/tls/"):
            value = os.path.join(work, "tls", os.path.basename(value))
        elif value.startswith("/etc/codebook/tokens/"):
            value = os.path.join(work, "tokens")
        elif value.startswith("/etc/codebook/follow/"):
            value = os.path.join(work, "replica.token")
        elif flag == "--follow":
            value = primary_address
        elif flag == "--access_log":
            value = os.path.join(work, name, "access.log")
        out.append("%s=%s" % (flag, value) if value or "=" in a else a)
    return out + ["--port_file=" + os.path.join(work, name, "ports")]


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit("local-topology: %s failed:\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return r.stdout


def make_secrets(work):
    """codebook-tls (ca.crt, tls.crt, tls.key), codebook-tokens and codebook-follow-token, made
    locally."""
    tls = os.path.join(work, "tls")
    os.makedirs(tls)
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
         "/CN=codebook local CA", "-keyout", "ca.key", "-out", "ca.crt"], cwd=tls)
    run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
         "-keyout", "tls.key", "-out", "tls.csr"], cwd=tls)
    with open(os.path.join(tls, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run(["openssl", "x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
         "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "tls.crt"], cwd=tls)
    admin = run([CODEBOOKD, "--hash_token"], input=ADMIN_TOKEN + "\n").split()[0]
    replica = run([CODEBOOKD, "--hash_token"], input=REPLICA_TOKEN + "\n").split()[0]
    with open(os.path.join(work, "tokens"), "w") as f:
        f.write("# made by deploy/local-topology.py\n%s  read,admin,license:CPT  local-admin\n"
                "%s  read,license:CPT  replica\n" % (admin, replica))
    for name, token in (("admin.token", ADMIN_TOKEN), ("replica.token", REPLICA_TOKEN)):
        with open(os.path.join(work, name), "w") as f:
            f.write(token + "\n")
    # The CLI as an operator would call it: TLS with the CA, the admin token.
    cli = os.path.join(work, "codebook")
    with open(cli, "w") as f:
        f.write('#!/bin/sh\nexec "%s" --tls_ca="%s" --token_file="%s" "$@"\n' % (
            CLI, os.path.join(tls, "ca.crt"), os.path.join(work, "admin.token")))
    os.chmod(cli, 0o755)
    return cli


class Server:
    def __init__(self, name, args, work):
        self.name = name
        os.makedirs(os.path.join(work, name))
        self.log = open(os.path.join(work, name, "server.log"), "w")
        self.proc = subprocess.Popen([CODEBOOKD] + args, stdout=self.log, stderr=subprocess.STDOUT)
        ports_file = os.path.join(work, name, "ports")
        for _ in range(600):
            if os.path.exists(ports_file):
                with open(ports_file) as f:
                    # gRPC, metrics, health, FHIR (0: not served); see codebookd --help.
                    ports = [int(x) for x in f.read().split()]
                self.grpc, self.metrics, self.health = ports[:3]
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        sys.exit("local-topology: %s did not start; see %s" % (name, self.log.name))

    @property
    def address(self):
        return "localhost:%d" % self.grpc

    def metric(self, name):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.metrics, timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[1])
        return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", help="work folder (default: a new temporary one, removed at exit)")
    p.add_argument("--data", help="data folder to load (default: as deploy/load-default-data.sh)")
    p.add_argument("--check", action="store_true", help="check the topology, then stop")
    opts = p.parse_args()
    for binary in (CODEBOOKD, CLI):
        if not os.access(binary, os.X_OK):
            sys.exit("local-topology: %s is missing: build first (deploy/build.sh)" % binary)
    work = opts.work or tempfile.mkdtemp(prefix="codebook-topology-")
    os.makedirs(work, exist_ok=True)
    primary_yaml, replica_yaml = manifest("primary.yaml"), manifest("replica.yaml")
    servers = []
    ok = False
    try:
        cli = make_secrets(work)
        primary = Server("primary", localize(container_args(primary_yaml), "primary", work), work)
        servers.append(primary)
        data = opts.data or (os.path.join(ROOT, "data", "sample") if opts.check else None)
        env = dict(os.environ, CODEBOOK_CLI=cli)
        load = [os.path.join(ROOT, "deploy", "load-default-data.sh"), "--server=" + primary.address]
        quiet = subprocess.DEVNULL if opts.check else None
        subprocess.run(load + ([data] if data else []), env=env, check=True, stdout=quiet,
                       stderr=quiet)
        for i in range(replica_yaml["spec"]["replicas"]):
            name = "replica-%d" % i
            args = localize(container_args(replica_yaml), name, work, "localhost:%d" % primary.grpc)
            servers.append(Server(name, args, work))
        for s in servers[1:]:
            for _ in range(1200):
                if s.metric("codebook_replica_in_sync") == 1:
                    break
                time.sleep(0.1)
            else:
                sys.exit("local-topology: %s did not get in sync; see %s" % (s.name, s.log.name))
        for s in servers:
            print("%-10s grpc %s (TLS)  metrics http://127.0.0.1:%d/metrics  health 127.0.0.1:%d"
                  % (s.name, s.address, s.metrics, s.health))
        print("CLI with the CA and the admin token: %s --server=%s" % (cli, primary.address))
        if opts.check:
            for system, code in (("ICD10CM", "E11.9"), ("CPT", "99213")):  # CPT: licensed text
                answers = set()
                for s in servers:
                    out = run([cli, "--server=" + s.address, "lookup", "--system=" + system, code])
                    answers.add(out)
                    print("%s: %s" % (s.name, out.strip().splitlines()[0]))
                if len(answers) != 1 or "withheld" in out:
                    sys.exit("local-topology: servers disagree:\n" + "\n".join(answers))
            for s in servers[1:]:
                r = subprocess.run([cli, "--server=" + s.address, "publish", "--system=ICD10CM",
                                    "--version=FY2099"], capture_output=True, text=True)
                if r.returncode == 0 or "read replica" not in r.stderr:
                    sys.exit("local-topology: %s took an admin call: %s" % (s.name, r.stderr))
            print("check: %d servers answer the same, replicas refuse admin calls" % len(servers))
            ok = True
        else:
            print("Ctrl-C stops them all.")
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
            ok = True
    finally:
        statuses = [s.stop() for s in reversed(servers)]
        if opts.check and any(statuses):
            print("local-topology: a server exited with %s" % statuses)
            ok = False
        if not opts.work:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
