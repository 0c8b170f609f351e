#!/usr/bin/env python3
"""The browser test (ctest web_ui_browser): Codebook's web page in Debian's headless Chromium.

Starts codebookd on loopback with a fresh database in a temporary folder and a tokens file (a
loader with admin, a coder with license:CPT; reads without a token are allowed, as by default),
loads the default data with deploy/load-default-data.sh (../shared/data's official releases
when present, else the repo's sample) and the value set tests/valuesets/diabetes.json, then runs
tests/ui/ui_test.mjs against its HTTP port: every check of the page, a screenshot of each step
in SHOTS, and the keystroke timings over KEYSTROKES keystrokes. Then, with the server stopped,
checks that the browser test fails. Exits 0 when all passed.

    run_browser_test.py --codebookd PATH --cli PATH --shots DIR [--keystrokes N] [--data DIR]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, ".."))
from codebookd_process import Codebookd  # noqa: E402

# The checks the page must pass (ui_test.mjs prints "ok: ..." for each; a few are named here
# so that a test script that silently skipped them fails).
REQUIRED = [
    "ok: Enter opens E11.9", "ok: E11.9 shows the Tabular's notes by kind",
    "ok: 0DBJ0ZZ shows its axes", "ok: E0114-RT shows the modifier RT",
    "ok: with a token holding license:CPT it is shown", "ok: FY2024 → FY2025: counts by kind",
    "ok: with the diabetes value set only its codes are left", "ok: line 2: E11 is a header",
    "ok: ICD-10-CM FY2025: effective date, state and counts", "ok: no script errors",
]
SHOTS = ["01-search-diabetes", "02-concept-E11.9", "02-concept-E11.9-zoom-200",
         "02b-concept-E11-children", "02c-concept-seventh-characters",
         "02d-concept-deleted-history", "02e-concept-pcs-axes", "02f-concept-hcpcs-modifier",
         "02g-concept-cpt-licensed", "03-unknown-code", "04-compare-FY2024-FY2025",
         "04b-compare-filtered", "04c-compare-value-set", "05-claims", "06-releases"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--codebookd", required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--shots", required=True, help="folder for the screenshots")
    ap.add_argument("--keystrokes", type=int, default=200)
    ap.add_argument("--data", default="", help="data folder (default: as load-default-data.sh)")
    args = ap.parse_args()
    if not os.path.isdir(os.path.join(HERE, "node_modules", "puppeteer-core")):
        sys.exit("run npm ci in tests/ui (tests/run.sh does)")
    if not os.path.exists("/usr/bin/chromium"):
        sys.exit("install Debian's chromium (deploy/install-deps.sh does)")
    shared = os.path.join(ROOT, "..", "shared", "data", "icd10cm")
    real = not args.data and os.path.isdir(shared)
    server = Codebookd(args.codebookd, prefix="codebook-ui-")
    work = server.dir
    try:
        tokens = {"admin": ("ui-admin-token-0123456789", "read,admin"),
                  "coder": ("ui-coder-token-0123456789", "read,license:CPT")}
        with open(os.path.join(work, "tokens"), "w") as f:
            for name, (token, scopes) in tokens.items():
                line = subprocess.run([args.codebookd, "--hash_token"], input=token, text=True,
                                      capture_output=True, check=True).stdout.split()[0]
                f.write(f"{line}  {scopes}  {name}\n")
        with open(os.path.join(work, "admin.tok"), "w") as f:
            f.write(tokens["admin"][0] + "\n")
        server.start(["--tokens=" + os.path.join(work, "tokens")])
        grpc_port, http_port = server.grpc, server.http
        env = dict(os.environ, CODEBOOK_CLI=args.cli,
                   CODEBOOK_TOKEN_FILE=os.path.join(work, "admin.tok"))
        started = time.time()
        load = [os.path.join(ROOT, "deploy", "load-default-data.sh"),
                f"--server=127.0.0.1:{grpc_port}"] + ([args.data] if args.data else [])
        for step in [load, [args.cli, f"--server=127.0.0.1:{grpc_port}", "valueset", "create",
                            "--file=" + os.path.join(ROOT, "tests", "valuesets",
                                                     "diabetes.json")]]:
            done = subprocess.run(step, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"{' '.join(step)} failed:\n{done.stdout}{done.stderr}")
        print(f"loaded the {'official' if real else 'sample'} data in "
              f"{time.time() - started:.1f} s", flush=True)

        base = f"http://127.0.0.1:{http_port}"
        shutil.rmtree(args.shots, ignore_errors=True)
        node_env = dict(os.environ, CODEBOOK_UI_TOKEN=tokens["coder"][0],
                        CODEBOOK_REAL_DATA="1" if real else "0",
                        CODEBOOK_GRPC=f"127.0.0.1:{grpc_port}")
        run = subprocess.run(["node", os.path.join(HERE, "ui_test.mjs"), base, args.shots,
                              str(args.keystrokes)], env=node_env, capture_output=True,
                             text=True, timeout=900)
        print(run.stdout + run.stderr, flush=True)
        failed = [] if run.returncode == 0 else [f"ui_test.mjs exited {run.returncode}"]
        failed += [f"missing check: {r}" for r in REQUIRED if r not in run.stdout]
        for name in SHOTS:
            path = os.path.join(args.shots, name + ".png")
            if not os.path.exists(path) or os.path.getsize(path) < 1000:
                failed.append(f"missing screenshot {path}")
        if args.keystrokes and "keystroke to results on the page: median" not in run.stdout:
            failed.append("no keystroke timings")
    finally:
        server.stop()
    # With no server there, the browser test fails.
    with tempfile.TemporaryDirectory(prefix="codebook-ui-") as shots:
        dead = subprocess.run(["node", os.path.join(HERE, "ui_test.mjs"), base, shots],
                              capture_output=True, text=True, timeout=120)
    if dead.returncode == 0:
        failed.append("ui_test.mjs passed with no server")
    print(f"screenshots: {os.path.abspath(args.shots)}")
    for f in failed:
        print("FAILED:", f)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
