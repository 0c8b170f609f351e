"""A codebookd process for the Python test drivers (tests/fhir_tx/run_hl7_suite.py,
tests/ui/run_browser_test.py): plaintext on loopback, its gRPC and HTTP (FHIR) ports on any free
port, a fresh database in a temporary folder of its own.

    server = Codebookd(binary, prefix="codebook-ui-")   # makes server.dir
    ... write files the flags name into server.dir ...
    server.start(["--tokens=" + os.path.join(server.dir, "tokens")])
    server.grpc, server.http                             # the bound ports
    server.stop()                                        # stops it, removes server.dir
"""
import os
import shutil
import subprocess
import tempfile
import time


class Codebookd:
    def __init__(self, binary, prefix="codebook-"):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.proc = None
        self.log = None
        self.grpc = self.http = 0

    def start(self, args=()):
        """Starts the server with ARGS beside its own flags and waits until it serves; raises
        RuntimeError with the end of its log if it stops first or takes over 20 s."""
        ports = os.path.join(self.dir, "ports")
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen(
            [self.binary, "--plaintext", "--listen=127.0.0.1:0", "--fhir_listen=127.0.0.1:0",
             "--db=" + os.path.join(self.dir, "db"), "--port_file=" + ports] + list(args),
            stdout=self.log, stderr=subprocess.STDOUT)
        # The port file's lines: gRPC, metrics, health, HTTP; written once they are bound.
        for _ in range(400):
            found = open(ports).read().split() if os.path.exists(ports) else []
            if len(found) >= 4:
                self.grpc, self.http = int(found[0]), int(found[3])
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        with open(os.path.join(self.dir, "log")) as f:
            raise RuntimeError("codebookd did not start:\n" + f.read()[-2000:])

    def stop(self):
        """Stops the server (SIGTERM, then SIGKILL after 20 s) and removes its folder."""
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None
        shutil.rmtree(self.dir, ignore_errors=True)
