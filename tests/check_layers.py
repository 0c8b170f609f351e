#!/usr/bin/env python3
"""Fails when a source file includes a header of a layer it must not depend on.

The layers (see CMakeLists.txt) and what each may include besides the C++ and other
third-party libraries:

  storage    storage/                      RocksDB; nothing of gRPC, the API messages or above
  importers  importers/                    the API messages (codebook/v1/*.pb.h), not their stubs
  domain     service/ but the serving files  storage, the API messages; no gRPC
  serving    service/{grpc_services,observing,metrics}.*
                                           the domain, storage, the stubs, gRPC
  fhir       fhir/                         the domain, storage, the API messages, the importers
                                           (FHIR resources passed with a request); no gRPC, no
                                           HTTP library
  server     server/                       everything above: the server as a library and
                                           codebookd
  client     client/                       the API messages and stubs, gRPC, the importers (CLI)
  replica    replica/                      the client SDK, the domain, the API messages; not
                                           storage, not gRPC directly
  tests, bench                             anything

A test beside the code (NAME_test.cc) may also include the importers and tests/ helpers, to
load its fixtures. Only direct includes are checked: a header's own includes are its layer's.

Usage: check_layers.py ROOT          check the tree at ROOT; prints each wrong include
       check_layers.py --self-test ROOT
                                     copies ROOT's sources, adds one wrong include for each
                                     rule, and checks that the check fails naming each, only them
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

SOURCE_DIRS = ["storage", "importers", "service", "client", "replica", "fhir", "server"]
SERVING = {"grpc_services", "observing", "metrics"}

ALLOWED = {
    "storage": {"storage", "rocksdb"},
    "importers": {"importers", "api", "protobuf"},
    "domain": {"domain", "storage", "api", "protobuf"},
    "serving": {"serving", "domain", "storage", "api", "protobuf", "stubs", "grpc"},
    "client": {"client", "api", "protobuf", "stubs", "grpc", "importers"},
    "replica": {"replica", "client", "domain", "api", "protobuf"},
    "fhir": {"fhir", "domain", "storage", "api", "protobuf", "importers"},
    "server": {"server", "fhir", "serving", "domain", "storage", "api", "protobuf", "stubs",
               "grpc", "replica", "client"},
}
TEST_EXTRA = {"importers", "tests"}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def layer_of_file(rel):
    """The layer of a source file (path relative to the root), or None when unchecked."""
    top, _, rest = rel.partition("/")
    if top == "service":
        # A test beside the code is in the layer of what it tests.
        stem = os.path.basename(rest).split(".")[0].removesuffix("_test")
        return "serving" if stem in SERVING else "domain"
    return top if top in ALLOWED else None


def layer_of_include(path):
    """The layer an include names, or None for the C++ library and other third parties."""
    if path.startswith(("grpcpp/", "grpc/", "grpc++/")):
        return "grpc"
    if path.startswith("rocksdb/"):
        return "rocksdb"
    if path.startswith("google/protobuf/"):
        return "protobuf"
    if path.startswith("codebook/v1/"):
        return "stubs" if path.endswith(".grpc.pb.h") else "api"
    top = path.split("/")[0]
    if top == "tests":
        return "tests"
    if top in SOURCE_DIRS:
        return layer_of_file(path)
    return None


def check(root):
    """The wrong includes under root, as messages."""
    problems = []
    for top in SOURCE_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if d != "node_modules")
            for name in sorted(filenames):
                if not name.endswith((".h", ".cc")):
                    continue
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, root)
                layer = layer_of_file(rel)
                if layer is None:
                    continue
                allowed = set(ALLOWED[layer])
                if name.endswith("_test.cc"):
                    allowed |= TEST_EXTRA
                with open(full, encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        target = layer_of_include(m.group(2))
                        if target is None or target in allowed:
                            continue
                        problems.append(
                            f"{rel}:{number}: the {layer} layer must not include "
                            f"{m.group(2)} (layer {target}); it may include: "
                            f"{', '.join(sorted(allowed))}")
    return problems


def self_test(root):
    """The check run on a copy of the sources with one wrong include: it must fail naming it."""
    with tempfile.TemporaryDirectory() as tmp:
        for top in SOURCE_DIRS:
            shutil.copytree(os.path.join(root, top), os.path.join(tmp, top),
                            ignore=shutil.ignore_patterns("node_modules", "*.json"))
        already = check(tmp)
        if already:
            print("self-test: the copy of the sources already fails:")
            print("\n".join(already))
            return 1
        # One wrong include per rule the issue names, each on line 1 of a real file.
        wrong = [("storage/store.cc", "service/search.h", "storage", "domain"),
                 ("importers/importers.cc", "codebook/v1/terminology.grpc.pb.h", "importers",
                  "stubs"),
                 ("service/search.cc", "grpcpp/grpcpp.h", "domain", "grpc"),
                 ("client/client.cc", "storage/store.h", "client", "storage"),
                 ("replica/follower.cc", "storage/store.h", "replica", "storage"),
                 ("fhir/outcome.cc", "grpcpp/grpcpp.h", "fhir", "grpc"),
                 ("service/hierarchy.cc", "fhir/outcome.h", "domain", "fhir")]
        for rel, include, _, _ in wrong:
            path = os.path.join(tmp, rel)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            with open(path, "w", encoding="utf-8") as f:
                f.write(f'#include "{include}"\n' + text)
        run = subprocess.run([sys.executable, os.path.abspath(__file__), tmp],
                             capture_output=True, text=True)
        print(run.stdout, end="")
        want = [f"{rel}:1: the {layer} layer must not include {include} (layer {target})"
                for rel, include, layer, target in wrong]
        missing = [w for w in want if w not in run.stdout]
        if run.returncode == 0 or missing or len(run.stdout.splitlines()) != len(want) + 1:
            print(f"self-test: the check exited {run.returncode}; not reported: {missing}")
            return 1
        print("self-test: the wrong includes were reported and the check failed, as it must")
        return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "--self-test":
        return self_test(argv[2])
    if len(argv) != 2:
        print(__doc__)
        return 2
    problems = check(argv[1])
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} include(s) cross a layer the wrong way (tests/check_layers.py "
              "says which layer may include what)")
        return 1
    print("every include keeps to its layer")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
