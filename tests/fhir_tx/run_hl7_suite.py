#!/usr/bin/env python3
"""Runs HL7's FHIR terminology test suite (../shared/fhir-tx-tests) against codebookd's FHIR port.

HL7's own runner is a Java jar that cannot be installed here; this one follows the suite's
documented rules (tests/readme.md and the IG's page on the format):

  - test-cases.json lists suites; each general-mode suite runs in a server of its own (a fresh
    codebookd on a fresh database, plaintext, loopback), loaded with the suite's setup
    resources through the import path (`codebook import --format=fhir-codesystem --publish`,
    then `--format=fhir-valueset`), as a terminology administrator would load them;
  - each test's request (a Parameters resource, R5 form; the test's profile parameters added) is
    POSTed to the operation's endpoint, with the test's Accept-Language;
  - the answer is compared with the expected response as a template: array order ignored,
    $optional$ entries (and objects) may be absent, $optional-properties$ may be absent or
    present (the suite lists some that its expected answer leaves out, such as a ValueSet's
    publisher), every other property must be there and nothing else may; strings may be $$,
    $id$, $uuid$, $instant$, $date$, $url$, $token$, $string$, $semver$, $version$,
    $choice:a|b$, $fragments:a|b$ or $external:N$
    (message N of that response file as the server words it: tx.fhir.org's wording, from the
    suite's messages-tx.fhir.org.json, which Codebook follows, overlaid by --externals where
    Codebook's differs; for a message in neither, the fragments after the second colon);
  - the HTTP status must be in the class the test names (http-code, default 2xx);
  - an OperationOutcome issue's `location` may be absent: FHIR R4 and R5 deprecate it for
    `expression`, the suite's older recordings carry it while its newer ones (permutations,
    overload) do not, and FHIRsmith, which passes the whole suite, never sends it
    (tx/library/operation-outcome.js); a `location` the expected issue does not have is still
    an unexpected property.

Each test is judged twice: with message texts compared, and with them ignored (the text of an
issue's details, diagnostics, and the "message" output parameter), which separates wording from
behaviour. Prints a table per suite and the failures with their first difference.

Usage:
  run_hl7_suite.py --codebookd BIN --cli BIN [--suite-dir DIR] [--externals FILE]
                   [--passing FILE [--update]] [--filter TEXT] [--details] [--json OUT]

With --passing, exits 1 when a test listed there fails (a regression) and prints the tests that
pass and are not listed; --update rewrites the list with the tests passing now.
"""
import argparse
import http.client
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from codebookd_process import Codebookd  # noqa: E402

FHIR_VERSION = "4.0.1"
ENDPOINTS = {
    "expand": "ValueSet/$expand",
    "validate-code": "ValueSet/$validate-code",
    "cs-validate-code": "CodeSystem/$validate-code",
    "lookup": "CodeSystem/$lookup",
    "translate": "ConceptMap/$translate",
    "batch-validate": "ValueSet/$batch-validate-code",
}
KINDS = {
    "$id$": re.compile(r"^[A-Za-z0-9\-.]{1,64}$"),
    "$uuid$": re.compile(r"^(urn:uuid:)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                         r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"),
    "$instant$": re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"),
    "$date$": re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$"),
    "$url$": re.compile(r"^\S+:\S+$"),
    "$token$": re.compile(r"^\S+$"),
    "$string$": re.compile(r"^\S(.*\S)?$", re.S),
    "$semver$": re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$"),
}
TEXT_KEYS = {"text", "diagnostics"}


SHOW = False  # --show: print each test's request, expected response and answer


class Mismatch(Exception):
    pass


def is_optional(node):
    """Whether an array entry may be absent: $optional$ true, a mode we are not in, or a FHIR
    version filter that matches ours ('warning:' entries are always optional)."""
    if not isinstance(node, dict) or "$optional$" not in node:
        return False
    flag = node["$optional$"]
    if flag is True:
        return True
    if not isinstance(flag, str):
        return False
    if flag.startswith("!"):
        return True  # optional for every server but the one named (we are none of those)
    if flag.startswith("warning:"):
        return True
    if flag.startswith("version:"):
        return FHIR_VERSION.startswith(flag[len("version:"):])
    return False  # a mode we are not in: required


def only_applies(node):
    """$only$: the entry belongs to one version or mode; it must be absent elsewhere."""
    flag = node.get("$only$") if isinstance(node, dict) else None
    if flag is None:
        return True
    if isinstance(flag, str) and flag.startswith("version:"):
        return FHIR_VERSION.startswith(flag[len("version:"):])
    return isinstance(flag, str) and flag.startswith("!")


class Comparer:
    def __init__(self, externals, response_file, ignore_texts):
        self.externals = externals.get(response_file, {}) if externals else None
        self.ignore_texts = ignore_texts

    def string(self, path, expected, actual, text):
        if not isinstance(actual, str):
            raise Mismatch(f"{path}: expected a string, got {json.dumps(actual)[:80]}")
        if text and self.ignore_texts:
            return
        if expected == "$$":
            return
        if expected in KINDS:
            if not KINDS[expected].match(actual):
                raise Mismatch(f"{path}: '{actual}' is not a {expected}")
            return
        if expected.startswith("$choice:") and expected.endswith("$"):
            if actual not in expected[len("$choice:"):-1].split("|"):
                raise Mismatch(f"{path}: '{actual}' is none of {expected}")
            return
        if expected.startswith("$fragments:") and expected.endswith("$"):
            for f in expected[len("$fragments:"):-1].split("|"):
                if f.lower() not in actual.lower():
                    raise Mismatch(f"{path}: '{actual}' lacks '{f}'")
            return
        if expected.startswith("$external:") and expected.endswith("$"):
            parts = expected[1:-1].split(":", 2)
            number = parts[1]
            if self.externals is not None and number in self.externals:
                want = self.externals[number]
                if actual != want:
                    raise Mismatch(f"{path}: '{actual}' is not our external {number} '{want}'")
                return
            if len(parts) == 3 and parts[2]:
                for f in parts[2].split("|"):
                    if f.lower() not in actual.lower():
                        raise Mismatch(f"{path}: '{actual}' lacks '{f}'")
            return
        if "$version$" in expected:
            expected = expected.replace("$version$", FHIR_VERSION)
        if actual != expected:
            raise Mismatch(f"{path}: '{actual}' is not '{expected}'")

    def node(self, path, expected, actual, text=False):
        if isinstance(expected, dict):
            self.obj(path, expected, actual)
        elif isinstance(expected, list):
            self.array(path, expected, actual)
        elif isinstance(expected, str):
            self.string(path, expected, actual, text)
        elif isinstance(expected, bool) or expected is None:
            if actual is not expected:
                raise Mismatch(f"{path}: {json.dumps(actual)} is not {json.dumps(expected)}")
        elif isinstance(expected, (int, float)):
            if isinstance(actual, bool) or not isinstance(actual, (int, float)) or \
                    actual != expected:
                raise Mismatch(f"{path}: {json.dumps(actual)} is not {expected}")
        else:
            raise Mismatch(f"{path}: cannot compare {expected!r}")

    def obj(self, path, expected, actual):
        if not isinstance(actual, dict):
            raise Mismatch(f"{path}: expected an object, got {json.dumps(actual)[:80]}")
        optional = set(expected.get("$optional-properties$", []))
        if "severity" in expected and "expression" in expected:
            optional.add("location")  # an OperationOutcome issue: see the module's docstring
        counted = set(expected.get("$count-arrays$", []))
        for key, value in expected.items():
            if key.startswith("$"):
                continue
            if key not in actual:
                if key in optional or "*" in optional:
                    continue
                if isinstance(value, list) and all(is_optional(e) for e in value):
                    continue  # an array of optional entries may be left out whole
                if is_optional(value):
                    continue  # so may an object marked $optional$ (a designation's use)
                raise Mismatch(f"{path}: missing property '{key}'")
            if key in counted:
                if not isinstance(actual[key], list) or len(actual[key]) != len(value):
                    raise Mismatch(f"{path}.{key}: {len(actual[key])} entries, not {len(value)}")
                continue
            is_text = key in TEXT_KEYS or (key == "valueString" and actual.get("name") == "message")
            self.node(f"{path}.{key}", value, actual[key], text=is_text)
        for key in actual:
            if key not in expected and key != "fhir_comments" and key not in optional:
                raise Mismatch(f"{path}: unexpected property '{key}'")

    def array(self, path, expected, actual):
        if not isinstance(actual, list):
            raise Mismatch(f"{path}: expected an array, got {json.dumps(actual)[:80]}")
        wanted = [e for e in expected if only_applies(e)]
        used = [False] * len(actual)

        def match(i):
            if i == len(wanted):
                return all(used)
            first_error = None
            for j, a in enumerate(actual):
                if used[j]:
                    continue
                try:
                    self.node(f"{path}[{j}]", wanted[i], a)
                except Mismatch as e:
                    first_error = first_error or e
                    continue
                used[j] = True
                if match(i + 1):
                    return True
                used[j] = False
            if is_optional(wanted[i]):
                return match(i + 1)
            if first_error is not None and i == 0 and len(wanted) == 1:
                raise first_error
            return False

        if not match(0):
            raise Mismatch(f"{path}: the {len(actual)} entries do not match the {len(wanted)} "
                           f"expected; {self.unmatched(path, wanted, actual)}")

    def unmatched(self, path, wanted, actual):
        """What to say of an array that does not match: an expected entry that matches none of
        the answer's, and an answer's entry that matches none of the expected."""
        def fits(e, a):
            try:
                self.node(path, e, a)
                return True
            except Mismatch:
                return False
        said = []
        for e in wanted:
            if not is_optional(e) and not any(fits(e, a) for a in actual):
                # Against the entry of the same name (parameters, parts), say what differs.
                same = [a for a in actual if isinstance(e, dict) and isinstance(a, dict) and
                        "name" in e and a.get("name") == e.get("name")]
                if len(same) == 1:
                    try:
                        self.node(f"{path}<{e['name']}>", e, same[0])
                    except Mismatch as m:
                        said.append(str(m))
                        break
                said.append("none is like " + json.dumps(e)[:160])
                break
        for a in actual:
            if not any(fits(e, a) for e in wanted):
                said.append("not expected: " + json.dumps(a)[:160])
                break
        return "; ".join(said) or "no one-to-one pairing"


class Server:
    """A codebookd with a FHIR port on a fresh database, loaded with a suite's resources."""

    def __init__(self, codebookd, cli):
        self.process = Codebookd(codebookd, prefix="codebook-hl7-")
        self.process.start()
        self.cli = cli
        self.grpc, self.fhir = self.process.grpc, self.process.http
        self.conn = http.client.HTTPConnection("127.0.0.1", self.fhir, timeout=60)

    def load(self, files):
        """Imports the setup files; the ones that failed, with the CLI's words."""
        failed = []
        ordered = sorted(files, key=lambda f: 0 if self.kind(f) == "CodeSystem" else 1)
        for path in ordered:
            kind = self.kind(path)
            if kind == "CodeSystem":
                args = ["import", "--format=fhir-codesystem", "--publish", path]
            elif kind == "ValueSet":
                args = ["import", "--format=fhir-valueset", path]
            else:
                failed.append((path, f"a {kind} is not imported"))
                continue
            r = subprocess.run([self.cli, f"--server=127.0.0.1:{self.grpc}"] + args,
                               capture_output=True, text=True)
            if r.returncode != 0:
                failed.append((path, (r.stderr or r.stdout).strip().splitlines()[-1:]))
        return failed

    @staticmethod
    def kind(path):
        with open(path, encoding="utf-8-sig") as f:
            return json.load(f).get("resourceType", "?")

    def post(self, endpoint, body, headers):
        h = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
        h.update(headers)
        for attempt in range(2):
            try:
                self.conn.request("POST", "/fhir/" + endpoint, body=json.dumps(body), headers=h)
                res = self.conn.getresponse()
                return res.status, res.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.fhir, timeout=60)
                if attempt == 1:
                    raise

    def stop(self):
        self.conn.close()
        self.process.stop()


def status_ok(status, code):
    code = code or "2xx"
    if code.endswith("xx"):
        return str(status).startswith(code[0])
    return str(status) == code


def run_test(server, root, test, externals):
    """(passed with texts, passed ignoring texts, the first difference or '')."""
    with open(os.path.join(root, test["request"]), encoding="utf-8-sig") as f:
        request = json.load(f)
    if "profile" in test:
        with open(os.path.join(root, test["profile"]), encoding="utf-8-sig") as f:
            profile = json.load(f)
        names = {p.get("name") for p in request.get("parameter", [])}
        for p in profile.get("parameter", []):
            if p.get("name") != "uuid" and p.get("name") not in names:
                request.setdefault("parameter", []).append(p)
    headers = {}
    if "Accept-Language" in test:
        headers["Accept-Language"] = test["Accept-Language"]
    response_file = test.get("response:flat") or test["response"]
    with open(os.path.join(root, response_file), encoding="utf-8-sig") as f:
        expected = json.load(f)
    endpoint = ENDPOINTS.get(test["operation"])
    if endpoint is None:
        return False, False, f"operation {test['operation']} is not run"
    status, body = server.post(endpoint, request, headers)
    if SHOW:
        print(f"--- {test['name']}: request\n{json.dumps(request, indent=1)}\n--- expected "
              f"({test.get('http-code') or '2xx'})\n{json.dumps(expected, indent=1)}\n"
              f"--- answer (HTTP {status})\n{json.dumps(json.loads(body), indent=1)}")
    try:
        actual = json.loads(body)
    except ValueError:
        return False, False, f"HTTP {status}, not JSON: {body[:100]!r}"
    if not status_ok(status, test.get("http-code")):
        why = f"HTTP {status}, expected {test.get('http-code') or '2xx'}"
        if isinstance(actual, dict) and actual.get("resourceType") == "OperationOutcome":
            why += ": " + "; ".join(i.get("details", {}).get("text", "")
                                    for i in actual.get("issue", []))[:200]
        return False, False, why
    results = []
    for ignore in (False, True):
        try:
            Comparer(externals, response_file, ignore).node("$", expected, actual)
            results.append("")
        except Mismatch as e:
            results.append(str(e))
    return results[0] == "", results[1] == "", results[0] or results[1]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--codebookd", required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--suite-dir",
                    default=os.path.join(here, "..", "..", "..", "shared", "fhir-tx-tests", "tests"))
    ap.add_argument("--externals", default=os.path.join(here, "externals.json"))
    ap.add_argument("--passing", help="the checked-in list of tests that pass")
    ap.add_argument("--update", action="store_true", help="rewrite --passing with today's passes")
    ap.add_argument("--filter", default="", help="only tests whose suite/name contains this")
    ap.add_argument("--details", action="store_true", help="print every failure's difference")
    ap.add_argument("--json", help="write every test's result to this file")
    ap.add_argument("--show", action="store_true",
                    help="print each test's request, expected response and answer")
    args = ap.parse_args()
    global SHOW
    SHOW = args.show
    root = args.suite_dir
    if not os.path.exists(os.path.join(root, "test-cases.json")):
        print(f"no HL7 test suite at {root}: nothing to run")
        return 0
    # Codebook words its messages as tx.fhir.org does, so the suite's own file of tx.fhir.org's
    # texts is the base; ours (--externals) gives our wording where it differs.
    externals = {}
    base = os.path.join(root, "messages-tx.fhir.org.json")
    for path in (base, args.externals):
        if path and os.path.exists(path):
            with open(path, encoding="utf-8-sig") as f:
                for response_file, texts in json.load(f).items():
                    externals.setdefault(response_file, {}).update(texts)
    with open(os.path.join(root, "test-cases.json")) as f:
        cases = json.load(f)
    rows, results = [], {}
    for suite in cases["suites"]:
        if suite.get("mode") != "general":
            continue
        tests = [t for t in suite.get("tests", [])
                 if t.get("mode") in (None, "general", "flat") and
                 args.filter in suite["name"] + "/" + t["name"]]
        if not tests:
            continue
        server = Server(args.codebookd, args.cli)
        try:
            failed_loads = server.load([os.path.join(root, p) for p in suite.get("setup", [])])
            for path, why in failed_loads:
                print(f"  {suite['name']}: setup {os.path.relpath(path, root)} not loaded: {why}")
            strict = loose = 0
            for t in tests:
                key = f"{suite['name']}/{t['name']}"
                try:
                    ok, ok_loose, why = run_test(server, root, t, externals)
                except Exception as e:  # a crash of the server or the runner is a failure
                    ok, ok_loose, why = False, False, f"{type(e).__name__}: {e}"
                strict += ok
                loose += ok_loose
                results[key] = {"passed": ok, "passed_ignoring_texts": ok_loose, "why": why}
            rows.append((suite["name"], len(tests), strict, loose))
        finally:
            server.stop()
    width = max([len(r[0]) for r in rows] + [5])
    print(f"{'suite':<{width}}  {'run':>4}  {'passed':>6}  {'ignoring texts':>14}")
    for name, run, strict, loose in rows:
        print(f"{name:<{width}}  {run:>4}  {strict:>6}  {loose:>14}")
    total = sum(r[1] for r in rows)
    strict = sum(r[2] for r in rows)
    loose = sum(r[3] for r in rows)
    pct = lambda n: f"{100.0 * n / total:.1f}%" if total else "-"
    print(f"{'total':<{width}}  {total:>4}  {strict:>6}  {loose:>14}   "
          f"({pct(strict)} with texts, {pct(loose)} ignoring texts)")
    if args.details:
        for key, r in results.items():
            if not r["passed"]:
                print(f"FAIL {key}: {r['why']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, sort_keys=True)
    if not args.passing:
        return 0
    passing_now = sorted(k for k, r in results.items() if r["passed"])
    if args.update:
        with open(args.passing, "w") as f:
            f.write("# HL7 FHIR terminology tests (suite/test) that pass with texts compared;\n"
                    "# tests/fhir_tx/run_hl7_suite.py fails when one of them fails.\n")
            f.write("".join(k + "\n" for k in passing_now))
        print(f"wrote {len(passing_now)} passing tests to {args.passing}")
        return 0
    listed = [l.strip() for l in open(args.passing) if l.strip() and not l.startswith("#")]
    regressions = [k for k in listed if k in results and not results[k]["passed"]]
    new = [k for k in passing_now if k not in set(listed)]
    for k in regressions:
        print(f"REGRESSION {k}: {results[k]['why']}")
    if new:
        print(f"{len(new)} tests pass that {args.passing} does not list (run with --update): "
              + ", ".join(new[:10]) + (" ..." if len(new) > 10 else ""))
    if regressions:
        print(f"{len(regressions)} of the {len(listed)} listed tests fail")
        return 1
    print(f"every one of the {len(listed)} listed tests passes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
