// codebook: the command-line client of a Codebook server, built on codebook::Client.
//
// Usage: codebook [--server=HOST:PORT] [--json] [--timeout=SECONDS] COMMAND [FLAGS] [ARGS]
// Run `codebook --help` for the commands. Exit status: 0 success, 1 an error (printed on
// stderr), 2 a usage error, 3 `validate` found a code that is not valid.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/client.h"
#include "google/protobuf/util/json_util.h"
#include "importers/importers.h"

namespace codebook::cli {
namespace {

constexpr int kOk = 0, kError = 1, kUsage = 2, kInvalid = 3;

const char kUsageText[] = R"(codebook: command-line client for a Codebook terminology server

Usage: codebook [--server=HOST:PORT] [--json] [--timeout=SECONDS] COMMAND [FLAGS] [ARGS]

Global flags:
  --server=HOST:PORT   server address (default $CODEBOOK_SERVER or 127.0.0.1:50051)
  --json               print each response as protobuf's JSON mapping, one object per line
  --timeout=SECONDS    deadline of each read call (default 10)
  --token_file=FILE    send the bearer token in FILE (its first line) with every call; default
                       $CODEBOOK_TOKEN_FILE
  --tls_ca=FILE        connect over TLS, trusting the CA certificates in FILE (PEM); without
                       it the connection is plaintext
  --tls_cert=FILE --tls_key=FILE
                       this client's certificate and key (PEM), for servers that require client
                       certificates (mutual TLS)

Release selection (lookup, batch, release, export, search, ancestors, children, subsumes):
--version=LABEL picks a release; --date=YYYY-MM-DD picks the release in force on that date of
service; neither picks the release in effect today.

Commands:
  systems                                   list the code systems
  releases --system=S                       list the releases of a system
  release  --system=S [--version=V|--date=D]
                                            show one release (counts, checksum)
  lookup   --system=S [--version=V|--date=D] CODE...
                                            look up codes (ICD-10-CM with or without the dot)
  batch    --system=S [--version=V|--date=D] [FILE]
                                            look up the codes in FILE or on stdin (one per line
                                            or separated by spaces; '#' starts a comment)
  validate --system=S [--date=D] CODE...   is each code valid for the date of service (today
                                            by default)? exit status 3 if any is not
  import   --system=S --version=V --effective=YYYY-MM-DD --format=F FILE [--publish]
           [--skip-existing] [--description=TEXT]
                                            parse FILE (plain or .gz) and load it as a staged
                                            release; --publish publishes it; --skip-existing
                                            does nothing if the version is already published.
                                            Formats: icd10cm-order, icd10pcs-order, hcpcs,
                                            hcpcs-xlsx, cpt (a folder of the AMA data files),
                                            icd10cm-tabular (the Tabular List XML, into the
                                            supplement ICD10CM-TABULAR, same --version and
                                            --effective as its ICD10CM release),
                                            icd10cm-index (the Index XML, a file or a folder
                                            with the index, eindex, drug and neoplasm files,
                                            into ICD10CM-INDEX, likewise), fhir-codesystem
                                            (a FHIR R4/R5 CodeSystem in JSON: without --system,
                                            the system registered with its url, else one
                                            registered now from it, id the url's last segment;
                                            without --version its version, else its date, else
                                            1; without --effective its date, else today)
  diff     --system=S --from=V1 --to=V2 [--summary]
                                            every code that differs between two releases (either
                                            direction), then counts; --summary prints the counts
  history  --system=S CODE                 the code's timeline: added, each change, deleted, ...
  watch    --system=S [--after=SEQ]        print the system's release events after SEQ, then
                                            each new one as it happens (runs until stopped)
  watch    --valueset=URL[|VERSION]         from now on, each publish or retract that changes
                                            the value set on the release's effective date, with
                                            the codes that enter (+) and leave (-)
  export   --system=S [--version=V|--date=D]
                                            every concept of a release as JSON lines: first
                                            {"release": ...} with its checksum, then one concept
                                            a line
  import-links --system=ICD10CM FILE.xlsx  load an ICD-10-CM conversion table (predecessor and
                                            successor codes, shown by history)
  publish  --system=S --version=V           publish a staged release
  discard  --system=S --version=V           drop a staged release
  retract  --system=S --version=V --reason=TEXT
                                            withdraw a published release (still readable by
                                            explicit version, listed with its reason)
  search   --system=S [--version=V|--date=D] [--billable] [--kind=K] [--limit=N]
           [--page-token=T] QUERY...       find codes by words ("diab mel w/o comp"; word starts,
                                            abbreviations such as fx, unsp, w/o) or by code
                                            prefix (E11, E11.6); --kind: code, header, modifier;
                                            --limit: hits per page (default 20, at most 200)
  ancestors --system=S [--version=V|--date=D] CODE
                                            the code's parent, its parent, ... up to the top
  children --system=S [--version=V|--date=D] [CODE]
                                            the code's children (no CODE: the top level). CPT
                                            groups: CATEGORY_I, ANESTHESIA, SURGERY, RADIOLOGY,
                                            PATHOLOGY_LABORATORY, MEDICINE,
                                            EVALUATION_MANAGEMENT, CATEGORY_II, CATEGORY_III,
                                            PLA; HCPCS: one per first letter (E, J, ...); and
                                            MODIFIERS; ICD-10-CM with a Tabular: chapters
                                            (CHAPTER-9) and blocks (I10-I16)
  subsumes --system=S [--version=V|--date=D] A B
                                            does A subsume B (B itself or one of its ancestors)?
  claim    [--date=D] [--stream] FILE.csv   check claim lines; each line of FILE (or stdin for
                                            "-") is: code,modifiers,units,diagnoses[,date]
                                            with several modifiers or diagnoses separated by
                                            spaces or ';' ("99213,25,1,E11.9;I10"). The code may
                                            carry modifiers ("99213-25"). A first line starting
                                            "code," is a header. --date is the date of service
                                            of lines without one. --stream sends the lines over
                                            one stream (any number of lines). Diagnoses are
                                            also checked against the ICD-10-CM Tabular's notes
                                            (Excludes1 pairs, a manifestation code listed
                                            first, a missing 7th character; "use additional
                                            code" as an advisory, which leaves a line valid).
                                            Exit status 3 if any line is not valid
  backup   DIR                              write a consistent copy of the server's whole
                                            database into DIR, a new folder on the server's
                                            machine (absolute path), while it keeps serving; the
                                            copy's checksums are verified. Restore: start
                                            codebookd --db=DIR (or on a copy of DIR)
  codesystem create --id=ID --uri=URI --title=TEXT [--publisher=TEXT]
           [--code-pattern=REGEX] [--case-sensitive] [--hierarchy-meaning=M]
           [--license-scope=SCOPE]
                                            register a code system of your own (admin): it then
                                            takes releases (import --format=...) and answers
                                            like the built-in ones. --code-pattern: the RE2
                                            expression every code matches whole (none: any
                                            code); codes are upper-cased unless
                                            --case-sensitive; M: grouped-by, is-a, part-of or
                                            classified-with. The same definition again changes
                                            nothing
  valueset create --file=F [--version=V]   store a value set (admin) from a FHIR R4/R5
                                            ValueSet in JSON (its compose: include and exclude
                                            by system, codes, filters, imported value sets);
                                            without --version its version, else its date,
                                            else 1. A version never changes. Same as
                                            import --format=fhir-valueset F
  valueset list [--url=U]                   the value sets and their versions
  valueset expand --url=U [--version=V] [--date=D] [--filter=TEXT] [--limit=N]
           [--page-token=T] [--all]        the codes in the value set on the date of service
                                            (today by default), by system and code, a page of
                                            N (default 100); --all prints every page
  valueset validate --url=U [--version=V] [--date=D] [--system=S] CODE...
                                            is each code in the value set on the date, and if
                                            not why (not in the definition, deleted, not yet
                                            effective, a header); exit status 3 if any is not
  valueset diff --url=U [--from-date=D1] [--to-date=D2] [--from-version=V1]
           [--to-version=V2] [--summary]   the codes that enter (+) or leave (-) the value set
                                            between two dates of service and/or two of its
                                            versions, each with its causes (code_added,
                                            code_deleted, property_changed,
                                            hierarchy_changed, definition_changed,
                                            import_changed)
  ping                                      check that the server answers

Examples:
  codebook lookup --system=ICD10CM E11.9 Z28.310
  codebook lookup --system=ICD10CM --date=2022-05-01 Z28.310
  codebook validate --system=ICD10CM --date=2024-11-01 T81.32XA E11
  codebook validate --system=CPT --date=2025-03-14 99213-25
  codebook search --system=ICD10CM "diab mel w/o comp"
  codebook children --system=ICD10CM E11
  codebook claim --date=2025-03-14 lines.csv
  cat codes.txt | codebook batch --system=HCPCS --version=2019
)";

struct Args {
  std::map<std::string, std::string> flags;  // "--name=value" or "--name" (value "")
  std::vector<std::string> positional;
};

class Cli {
 public:
  Cli(Args args, std::string command) : args_(std::move(args)), command_(std::move(command)) {}

  int Run();

 private:
  // Usage checks.
  bool CheckFlags(const std::set<std::string>& allowed);
  std::string Flag(const std::string& name, const std::string& def = "") const {
    auto it = args_.flags.find(name);
    return it == args_.flags.end() ? def : it->second;
  }
  bool Has(const std::string& name) const { return args_.flags.count(name) > 0; }
  bool Require(const std::string& name);
  bool SelectorFromFlags(v1::ReleaseSelector* selector);
  int UsageError(const std::string& msg) {
    std::cerr << "codebook " << command_ << ": " << msg << "\n(run codebook --help for usage)\n";
    return kUsage;
  }
  int Error(const absl::Status& s) {
    std::cerr << "codebook: " << Explain(s) << "\n";
    return kError;
  }
  std::string Explain(const absl::Status& s) const {
    if (s.code() == absl::StatusCode::kUnavailable ||
        s.code() == absl::StatusCode::kDeadlineExceeded) {
      return absl::StrCat("cannot reach the server at ", server_, " (",
                          absl::StatusCodeToString(s.code()), ": ", s.message(), ")");
    }
    return std::string(s.message());
  }
  // A release as JSON or as the detail view; returns kOk.
  int ShowRelease(const v1::Release& r);
  void PrintJson(const google::protobuf::Message& m) {
    std::string out;
    google::protobuf::util::JsonPrintOptions opts;
    opts.always_print_primitive_fields = true;
    (void)google::protobuf::util::MessageToJsonString(m, &out, opts);
    std::cout << out << "\n";
  }

  int Systems();
  int Releases();
  int Release();
  int Lookup();
  int Batch();
  int Validate();
  int Import();
  int Diff();
  int History();
  int Export();
  int Watch();
  int Publish();
  int Discard();
  int Retract();
  int ImportLinks();
  int Ping();
  int Search();
  int Ancestors();
  int Children();
  int Subsumes();
  int Claim();
  int Backup();
  int CodeSystem();
  // valueset create|list|expand|validate.
  int ValueSet();
  int ValueSetCreate(const std::string& path);
  int ValueSetExpand();
  int ValueSetValidate();
  int ValueSetDiff();
  absl::Status FhirCodeSystemDefaults(const std::string& path);
  // The concepts of a file parsed before the import began (FhirCodeSystemDefaults).
  std::optional<importers::Concepts> parsed_;
  // The FHIR CodeSystem an import's concepts come from (without them), kept with the release.
  std::string resource_json_;

  Args args_;
  std::string command_;
  std::string server_;
  bool json_ = false;
  std::unique_ptr<Client> client_;
};

std::string Thousands(int64_t n) {
  std::string s = std::to_string(n < 0 ? -n : n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(i, ",");
  return n < 0 ? "-" + s : s;
}

std::string StateName(v1::ReleaseState s) {
  switch (s) {
    case v1::RELEASE_STATE_STAGED: return "staged";
    case v1::RELEASE_STATE_PUBLISHED: return "published";
    case v1::RELEASE_STATE_RETRACTED: return "retracted";
    default: return "?";
  }
}

std::string KindName(const v1::Concept& c) {
  switch (c.kind()) {
    case v1::CONCEPT_KIND_HEADER: return "header (not billable)";
    case v1::CONCEPT_KIND_MODIFIER: return "modifier";
    default: return c.billable() ? "billable code" : "code (not billable)";
  }
}

std::string RefText(const v1::ReleaseRef& r) {
  return absl::StrCat(r.system(), " ", r.version(), " (effective ", r.effective_date(), ")");
}

// The display, or why there is none.
std::string DisplayOf(const v1::Concept& c) {
  return c.text_withheld() ? "[text withheld: licensed; ask for the licence scope]" : c.display();
}

void PrintConcept(const v1::Concept& c, const v1::ReleaseRef& release) {
  std::cout << c.code() << "  " << DisplayOf(c) << "\n";
  std::vector<std::string> facts = {
      KindName(c), c.status() == v1::CONCEPT_STATUS_INACTIVE ? "inactive" : "active"};
  if (!c.parent().empty()) facts.push_back("parent " + c.parent());
  if (!c.added_date().empty()) facts.push_back("added " + c.added_date());
  if (!c.termination_date().empty()) facts.push_back("terminated " + c.termination_date());
  if (!c.action_code().empty()) facts.push_back("action " + c.action_code());
  std::cout << "    " << absl::StrJoin(facts, ", ") << "\n";
  for (const auto& d : c.designations()) {
    if (d.value() != c.display()) std::cout << "    " << d.use() << ": " << d.value() << "\n";
  }
  std::cout << "    release: " << RefText(release) << "\n";
}

// The Tabular List's view of an ICD-10-CM code: chapter, block, 7th characters, notes by kind.
void PrintTabular(const v1::TabularContext& t) {
  if (!t.has_source()) return;
  if (t.has_chapter()) {
    std::cout << "    chapter " << absl::StripPrefix(t.chapter().code(), "CHAPTER-") << ": "
              << t.chapter().display() << "\n";
  }
  if (t.has_block()) std::cout << "    block " << t.block().code() << ": " << t.block().display() << "\n";
  if (t.needs_seventh_character()) {
    std::cout << "    needs a 7th character (" << t.seventh_character_stem()
              << "?, defined at " << t.seventh_characters_from() << "):\n";
  } else if (t.seventh_characters_size() > 0) {
    std::cout << "    7th characters (defined at " << t.seventh_characters_from() << "):\n";
  }
  for (const auto& s : t.seventh_characters()) {
    std::cout << "      " << s.character() << "  " << s.meaning() << "\n";
  }
  for (const auto& n : t.notes()) {
    std::cout << "    " << n.kind() << ": " << n.text();
    if (n.from() != t.notes(0).from()) std::cout << "  [" << n.from() << "]";
    std::cout << "\n";
  }
  std::cout << "    tabular: " << RefText(t.source()) << "\n";
}

// The ICD-10-PCS Tables' view of a code: each character's axis and meaning.
void PrintPcs(const v1::PcsContext& p) {
  if (!p.has_source()) return;
  for (const auto& c : p.characters()) {
    std::cout << absl::StrFormat("    %d %-12s %s  %s\n", c.position(), c.axis(), c.value(),
                                 c.meaning());
  }
  if (!p.definition().empty()) std::cout << "    operation: " << p.definition() << "\n";
  std::cout << "    tables: " << RefText(p.source());
  if (p.characters_size() == 7 && !p.in_table()) std::cout << "  (no row of " << p.table() << " holds this combination)";
  std::cout << "\n";
}

void PrintReleaseDetail(const v1::Release& r) {
  const v1::ReleaseCounts& c = r.counts();
  std::cout << r.system() << " " << r.version() << "  effective " << r.effective_date() << "  "
            << StateName(r.state());
  if (r.sequence() > 0) std::cout << "  sequence " << r.sequence();
  std::cout << "\n";
  if (r.state() == v1::RELEASE_STATE_STAGED) {
    std::cout << "  staged concepts: " << Thousands(r.staged_concepts()) << "\n";
  } else {
    std::cout << "  concepts: " << Thousands(c.total()) << " (" << Thousands(c.total_active())
              << " active)\n"
              << "  vs. previous release: " << Thousands(c.added()) << " added, "
              << Thousands(c.deleted()) << " deleted, " << Thousands(c.changed()) << " changed\n"
              << "  billable codes: +" << Thousands(c.billable_added()) << " / -"
              << Thousands(c.billable_removed()) << ";  headers: +"
              << Thousands(c.headers_added()) << " / -" << Thousands(c.headers_removed()) << "\n"
              << "  checksum: " << r.checksum() << "\n";
  }
  if (!r.description().empty()) std::cout << "  source: " << r.description() << "\n";
  if (r.state() == v1::RELEASE_STATE_RETRACTED) {
    std::cout << "  retracted: " << r.retract_reason() << "\n";
  }
}

int Cli::ShowRelease(const v1::Release& r) {
  if (json_) {
    PrintJson(r);
  } else {
    PrintReleaseDetail(r);
  }
  return kOk;
}

bool Cli::CheckFlags(const std::set<std::string>& allowed) {
  for (const auto& [name, value] : args_.flags) {
    if (!allowed.count(name)) {
      UsageError(absl::StrCat("unknown flag --", name));
      return false;
    }
  }
  return true;
}

bool Cli::Require(const std::string& name) {
  if (!Flag(name).empty()) return true;
  UsageError(absl::StrCat("--", name, " is required"));
  return false;
}

bool Cli::SelectorFromFlags(v1::ReleaseSelector* selector) {
  if (Has("version") && Has("date")) {
    UsageError("give --version or --date, not both");
    return false;
  }
  if (Has("version")) *selector = Selector::Version(Flag("version"));
  if (Has("date")) *selector = Selector::DateOfService(Flag("date"));
  return true;
}

int Cli::Run() {
  server_ = Flag("server");
  if (server_.empty()) {
    const char* env = std::getenv("CODEBOOK_SERVER");
    server_ = env && *env ? env : "127.0.0.1:50051";
  }
  json_ = Has("json");
  ClientOptions options;
  options.target = server_;
  if (Has("timeout")) {
    double seconds;
    if (!absl::SimpleAtod(Flag("timeout"), &seconds) || seconds <= 0) {
      return UsageError("--timeout takes a positive number of seconds");
    }
    options.deadline = absl::Seconds(seconds);
  }
  if (Has("tls_ca") || Has("tls_cert") || Has("tls_key")) {
    auto credentials = TlsChannelCredentials(Flag("tls_ca"), Flag("tls_cert"), Flag("tls_key"));
    if (!credentials.ok()) return UsageError(std::string(credentials.status().message()));
    options.credentials = *std::move(credentials);
  }
  std::string token_file = Flag("token_file");
  if (token_file.empty()) {
    const char* env = std::getenv("CODEBOOK_TOKEN_FILE");
    if (env != nullptr) token_file = env;
  }
  if (!token_file.empty()) {
    auto token = ReadWholeFile(token_file);
    if (!token.ok()) return UsageError(std::string(token.status().message()));
    options.bearer_token = std::string(absl::StripAsciiWhitespace(token->substr(0, token->find('\n'))));
    if (options.bearer_token.empty()) return UsageError(token_file + " holds no token");
  }
  for (const char* global :
       {"server", "json", "timeout", "tls_ca", "tls_cert", "tls_key", "token_file"}) {
    args_.flags.erase(global);
  }
  client_ = std::make_unique<Client>(options);

  if (command_ == "systems") return Systems();
  if (command_ == "releases") return Releases();
  if (command_ == "release") return Release();
  if (command_ == "lookup") return Lookup();
  if (command_ == "batch") return Batch();
  if (command_ == "validate") return Validate();
  if (command_ == "import") return Import();
  if (command_ == "diff") return Diff();
  if (command_ == "history") return History();
  if (command_ == "export") return Export();
  if (command_ == "watch") return Watch();
  if (command_ == "publish") return Publish();
  if (command_ == "discard") return Discard();
  if (command_ == "retract") return Retract();
  if (command_ == "import-links") return ImportLinks();
  if (command_ == "ping") return Ping();
  if (command_ == "search") return Search();
  if (command_ == "ancestors" || command_ == "parent") return Ancestors();
  if (command_ == "children") return Children();
  if (command_ == "subsumes") return Subsumes();
  if (command_ == "claim") return Claim();
  if (command_ == "backup") return Backup();
  if (command_ == "codesystem") return CodeSystem();
  if (command_ == "valueset") return ValueSet();
  std::cerr << "codebook: unknown command '" << command_ << "' (run codebook --help)\n";
  return kUsage;
}

int Cli::Systems() {
  if (!CheckFlags({})) return kUsage;
  auto systems = client_->ListCodeSystems();
  if (!systems.ok()) return Error(systems.status());
  if (json_) {
    v1::ListCodeSystemsResponse resp;
    for (const auto& s : *systems) *resp.add_systems() = s;
    PrintJson(resp);
    return kOk;
  }
  std::cout << absl::StrFormat("%-9s %-38s %8s  %-10s %s\n", "SYSTEM", "TITLE", "RELEASES",
                               "CURRENT", "URI");
  for (const auto& s : *systems) {
    std::cout << absl::StrFormat("%-9s %-38s %8d  %-10s %s\n", s.id(), s.title(),
                                 s.published_releases(),
                                 s.current_version().empty() ? "-" : s.current_version(), s.uri());
  }
  return kOk;
}

int Cli::Releases() {
  if (!CheckFlags({"system"}) || !Require("system")) return kUsage;
  auto releases = client_->ListReleases(Flag("system"));
  if (!releases.ok()) return Error(releases.status());
  if (json_) {
    v1::ListReleasesResponse resp;
    for (const auto& r : *releases) *resp.add_releases() = r;
    PrintJson(resp);
    return kOk;
  }
  if (releases->empty()) {
    std::cout << Flag("system") << " has no releases yet\n";
    return kOk;
  }
  std::cout << absl::StrFormat("%-10s %-10s %-9s %4s %8s %8s %7s %7s %7s  %s\n", "VERSION",
                               "EFFECTIVE", "STATE", "SEQ", "TOTAL", "ACTIVE", "ADDED", "DELETED",
                               "CHANGED", "CHECKSUM");
  for (const auto& r : *releases) {
    const auto& c = r.counts();
    std::cout << absl::StrFormat("%-10s %-10s %-9s %4d %8d %8d %7d %7d %7d  %s\n", r.version(),
                                 r.effective_date(), StateName(r.state()), r.sequence(),
                                 r.state() == v1::RELEASE_STATE_STAGED ? r.staged_concepts()
                                                                       : c.total(),
                                 c.total_active(), c.added(), c.deleted(), c.changed(),
                                 r.checksum().substr(0, 19));
  }
  return kOk;
}

int Cli::Release() {
  if (!CheckFlags({"system", "version", "date"}) || !Require("system")) return kUsage;
  v1::ReleaseSelector selector;
  if (!SelectorFromFlags(&selector)) return kUsage;
  auto r = client_->GetRelease(Flag("system"), selector);
  if (!r.ok()) return Error(r.status());
  if (json_) {
    v1::GetReleaseResponse resp;
    *resp.mutable_release() = *r;
    PrintJson(resp);
  } else {
    PrintReleaseDetail(*r);
  }
  return kOk;
}

int Cli::Lookup() {
  if (!CheckFlags({"system", "version", "date"}) || !Require("system")) return kUsage;
  v1::ReleaseSelector selector;
  if (!SelectorFromFlags(&selector)) return kUsage;
  if (args_.positional.empty()) return UsageError("give one or more codes");
  int rc = kOk;
  for (const std::string& code : args_.positional) {
    auto r = client_->Lookup(Flag("system"), code, selector);
    if (!r.ok()) {
      rc = Error(r.status());
      if (r.status().code() != absl::StatusCode::kNotFound &&
          r.status().code() != absl::StatusCode::kInvalidArgument) {
        return rc;  // the server, system or release is the problem: other codes fare no better
      }
      continue;
    }
    if (json_) {
      PrintJson(*r);
    } else {
      PrintConcept(r->concept(), r->release());
      for (const auto& m : r->modifiers()) {
        std::cout << "    modifier " << m.code() << "  " << m.display() << "\n";
      }
      PrintTabular(r->tabular());
      PrintPcs(r->pcs());
    }
  }
  return rc;
}

int Cli::Batch() {
  if (!CheckFlags({"system", "version", "date"}) || !Require("system")) return kUsage;
  v1::ReleaseSelector selector;
  if (!SelectorFromFlags(&selector)) return kUsage;
  if (args_.positional.size() > 1) return UsageError("give at most one FILE");
  std::ifstream file;
  std::istream* in = &std::cin;
  if (!args_.positional.empty() && args_.positional[0] != "-") {
    file.open(args_.positional[0]);
    if (!file) return Error(absl::NotFoundError(absl::StrCat(args_.positional[0], ": cannot open")));
    in = &file;
  }
  std::vector<std::string> codes;
  std::string line;
  while (std::getline(*in, line)) {
    line = std::string(absl::StripAsciiWhitespace(line.substr(0, line.find('#'))));
    for (absl::string_view code : absl::StrSplit(line, absl::ByAnyChar(" \t,"), absl::SkipEmpty())) {
      codes.emplace_back(code);
    }
  }
  if (codes.empty()) return UsageError("no codes given (one per line on stdin or in FILE)");
  // One stream, batches of 1,000 answered while the next are sent; the table needs only the
  // basic view of each concept, JSON prints everything.
  int64_t found = 0;
  bool first = true;
  absl::Status s = client_->LookupStream(
      Flag("system"), selector, codes, 1000,
      [&](const v1::BatchLookupResponse& r) {
        if (json_) {
          PrintJson(r);
          return;
        }
        if (first) std::cerr << "# answered by " << RefText(r.release()) << "\n";
        first = false;
        for (const auto& res : r.results()) {
          if (res.outcome() == v1::LOOKUP_OUTCOME_FOUND) {
            ++found;
            std::cout << res.requested_code() << "\tfound\t" << res.concept().code() << "\t"
                      << KindName(res.concept())
                      << (res.concept().status() == v1::CONCEPT_STATUS_INACTIVE ? ", inactive"
                                                                                 : "")
                      << "\t" << res.concept().display() << "\n";
          } else {
            std::string outcome = v1::LookupOutcome_Name(res.outcome());
            outcome = absl::AsciiStrToLower(absl::StripPrefix(outcome, "LOOKUP_OUTCOME_"));
            std::cout << res.requested_code() << "\t" << outcome << "\t\t\t" << res.message()
                      << "\n";
          }
        }
      },
      json_ ? v1::CONCEPT_VIEW_FULL : v1::CONCEPT_VIEW_BASIC);
  if (!s.ok()) return Error(s);
  if (!json_) {
    std::cerr << "# " << Thousands(found) << " of " << Thousands(codes.size()) << " codes found\n";
  }
  return kOk;
}

int Cli::Validate() {
  if (!CheckFlags({"system", "date"}) || !Require("system")) return kUsage;
  if (args_.positional.empty()) return UsageError("give one or more codes");
  int rc = kOk;
  for (const std::string& code : args_.positional) {
    auto r = client_->ValidateCode(Flag("system"), code, Flag("date"));
    if (!r.ok()) return Error(r.status());
    if (!r->valid()) rc = kInvalid;
    if (json_) {
      PrintJson(*r);
      continue;
    }
    std::string outcome = v1::ValidationOutcome_Name(r->outcome());
    outcome = absl::AsciiStrToLower(absl::StripPrefix(outcome, "VALIDATION_OUTCOME_"));
    absl::StrReplaceAll({{"_", " "}}, &outcome);
    std::cout << absl::StrFormat("%-10s %-7s %-20s %s\n", code, r->valid() ? "VALID" : "INVALID",
                                 r->valid() ? "" : outcome, r->message());
    for (const auto& m : r->modifiers()) {
      std::cout << absl::StrFormat("  modifier %-4s %-7s %s\n", m.modifier(),
                                   m.valid() ? "VALID" : "INVALID", m.message());
    }
  }
  return rc;
}

// What `import --format=fhir-codesystem` takes from the resource where a flag does not say: the
// system (the one registered with the resource's url, else one registered now from the
// resource), the version (the resource's version, else its date, else "1") and the effective
// date (the resource's date, else today).
absl::Status Cli::FhirCodeSystemDefaults(const std::string& path) {
  absl::StatusOr<importers::FhirCodeSystem> cs = importers::ParseFhirCodeSystem(path);
  if (!cs.ok()) return cs.status();
  parsed_ = std::move(cs->concepts);
  resource_json_ = cs->resource_json;
  if (!Has("version")) {
    args_.flags["version"] = !cs->version.empty() ? cs->version : !cs->date.empty() ? cs->date : "1";
  }
  if (!Has("effective")) {
    args_.flags["effective"] =
        !cs->date.empty() ? cs->date : absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone());
  }
  if (Has("description") == false) {
    args_.flags["description"] = absl::StrCat("FHIR CodeSystem ", cs->system.uri(),
                                         cs->version.empty() ? "" : "|", cs->version, " (content ",
                                         cs->content, cs->supplements.empty() ? "" : ", supplements ",
                                         cs->supplements, ")");
  }
  if (Has("system")) return absl::OkStatus();
  auto systems = client_->ListCodeSystems();
  if (!systems.ok()) return systems.status();
  for (const v1::CodeSystem& s : *systems) {
    if (s.uri() == cs->system.uri()) {
      args_.flags["system"] = s.id();
      return absl::OkStatus();
    }
  }
  auto created = client_->CreateCodeSystem(cs->system);
  if (!created.ok()) {
    return absl::Status(created.status().code(),
                        absl::StrCat("registering ", cs->system.uri(), " as code system ",
                                     cs->system.id(), ": ", created.status().message(),
                                     " (give --system=ID to choose another id)"));
  }
  std::cerr << "registered code system " << created->system().id() << " ("
            << created->system().uri() << ")\n";
  args_.flags["system"] = created->system().id();
  return absl::OkStatus();
}

int Cli::Import() {
  if (!CheckFlags({"system", "version", "effective", "format", "publish", "skip-existing",
                   "description"}) ||
      !Require("format")) {
    return kUsage;
  }
  if (args_.positional.size() != 1) return UsageError("give exactly one FILE to import");
  if (Flag("format") == "fhir-valueset") return ValueSetCreate(args_.positional[0]);
  if (Flag("format") == "fhir-codesystem") {
    if (absl::Status s = FhirCodeSystemDefaults(args_.positional[0]); !s.ok()) return Error(s);
  }
  if (!Require("system") || !Require("version") || !Require("effective")) return kUsage;
  const std::string system = Flag("system"), version = Flag("version"), path = args_.positional[0];
  const bool tty = isatty(STDERR_FILENO);

  if (Has("skip-existing")) {
    auto existing = client_->GetRelease(system, Selector::Version(version));
    if (existing.ok() && existing->state() != v1::RELEASE_STATE_STAGED) {
      std::cerr << system << " " << version << " is already " << StateName(existing->state())
                << " (" << existing->checksum() << "); skipped\n";
      if (json_) PrintJson(*existing);
      return kOk;
    }
    if (existing.ok()) {  // left staged by an interrupted import: start again
      std::cerr << system << " " << version << " was left staged; discarding it and importing again\n";
      if (absl::Status d = client_->DiscardRelease(system, version); !d.ok()) return Error(d);
    } else if (existing.status().code() != absl::StatusCode::kNotFound) {
      return Error(existing.status());
    }
  }

  auto t0 = std::chrono::steady_clock::now();
  auto seconds_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  // The file is parsed on a thread of its own while what is parsed is sent: each chunk goes to
  // the server as the next is read, and the server publishes at the end of the same stream.
  std::cerr << "importing " << path << " (" << Flag("format") << ") ..." << std::flush;
  const std::string format = Flag("format");
  auto source = [this, &format, &path](const ConceptChunkFn& sink) -> absl::Status {
    if (!parsed_.has_value()) return importers::ParseFileInChunks(format, path, 5000, sink);
    for (size_t start = 0; start < parsed_->size(); start += 5000) {
      const size_t end = std::min(parsed_->size(), start + 5000);
      importers::Concepts part(std::make_move_iterator(parsed_->begin() + start),
                               std::make_move_iterator(parsed_->begin() + end));
      if (!sink(std::move(part))) return absl::CancelledError("the import was stopped");
    }
    return absl::OkStatus();
  };
  int64_t sent = 0;
  ProgressFn progress = [&](int64_t done, int64_t) {
    sent = done;
    if (tty) std::cerr << "\rimporting " << path << " ... " << Thousands(done) << " concepts sent"
                       << std::flush;
  };
  std::string description = Flag("description");
  if (description.empty()) {
    description = absl::StrCat(format, " file ", path.substr(path.rfind('/') + 1));
  }
  auto release = client_->ImportReleaseFrom(system, version, Flag("effective"), description,
                                            source, Has("publish"), progress, resource_json_);
  std::cerr << (tty ? "\r" : " ");
  if (!release.ok()) {
    std::cerr << "failed\n";
    return Error(release.status());
  }
  std::cerr << Thousands(sent) << " concepts parsed, uploaded and "
            << (Has("publish") ? "published" : "staged") << "; total "
            << absl::StrFormat("%.2f s", seconds_since(t0)) << "                \n";
  return ShowRelease(*release);
}

// "added", "display_changed,billable_changed", ...
std::string ChangeTypeNames(const google::protobuf::RepeatedField<int>& types) {
  std::vector<std::string> names;
  for (int t : types) {
    std::string n = v1::ChangeType_Name(static_cast<v1::ChangeType>(t));
    names.push_back(absl::AsciiStrToLower(absl::StripPrefix(n, "CHANGE_TYPE_")));
  }
  return absl::StrJoin(names, ",");
}

void PrintSummary(const v1::DiffSummary& s, std::ostream& out, const std::string& prefix) {
  out << prefix << Thousands(s.changed_codes()) << " codes differ: " << Thousands(s.added())
      << " added, " << Thousands(s.deleted()) << " deleted, " << Thousands(s.reactivated())
      << " reactivated, " << Thousands(s.display_changed()) << " display changed, "
      << Thousands(s.designation_changed()) << " designation changed, "
      << Thousands(s.property_changed()) << " property changed, "
      << Thousands(s.billable_changed()) << " billable changed\n"
      << prefix << "billable codes: +" << Thousands(s.billable_added()) << " / -"
      << Thousands(s.billable_removed()) << ";  headers: +" << Thousands(s.headers_added())
      << " / -" << Thousands(s.headers_removed()) << "\n";
}

int Cli::Diff() {
  if (!CheckFlags({"system", "from", "to", "summary"}) || !Require("system") ||
      !Require("from") || !Require("to")) {
    return kUsage;
  }
  v1::DiffReleasesRequest req;
  req.set_system(Flag("system"));
  req.set_from_version(Flag("from"));
  req.set_to_version(Flag("to"));
  req.set_summary_only(Has("summary"));
  bool first = true;
  absl::Status s = client_->DiffReleases(req, [&](const v1::DiffReleasesResponse& m) {
    if (json_) {
      PrintJson(m);
      return true;
    }
    if (first) {
      (Has("summary") ? std::cout : std::cerr)
          << "# " << RefText(m.from()) << " -> " << RefText(m.to()) << "\n";
      first = false;
    }
    for (const auto& c : m.changes()) {
      std::cout << c.code() << "\t" << ChangeTypeNames(c.types()) << "\t";
      if (c.has_before() && c.has_after() && c.before().display() != c.after().display()) {
        std::cout << c.before().display() << " -> " << c.after().display();
      } else {
        std::cout << (c.has_after() ? c.after().display() : c.before().display());
      }
      std::cout << "\n";
    }
    if (m.has_summary()) {
      std::ostream& out = Has("summary") ? std::cout : std::cerr;
      const std::string prefix = Has("summary") ? "" : "# ";
      PrintSummary(m.summary(), out, prefix);
      for (const auto& d : m.supplements()) {
        auto name = [](const v1::ReleaseRef& r) { return r.version().empty() ? "none" : r.version(); };
        out << prefix << d.system() << " " << name(d.from()) << " -> " << name(d.to()) << ": "
            << Thousands(d.summary().changed_codes()) << " entries differ: "
            << Thousands(d.summary().added()) << " added, " << Thousands(d.summary().deleted())
            << " deleted, " << Thousands(d.summary().designation_changed())
            << " with other names changed, " << Thousands(d.summary().property_changed())
            << " with notes changed\n";
      }
    }
    return true;
  });
  if (!s.ok()) return Error(s);
  return kOk;
}

int Cli::History() {
  if (!CheckFlags({"system"}) || !Require("system")) return kUsage;
  if (args_.positional.size() != 1) return UsageError("give exactly one code");
  auto h = client_->GetCodeHistory(Flag("system"), args_.positional[0]);
  if (!h.ok()) return Error(h.status());
  if (json_) {
    PrintJson(*h);
    return kOk;
  }
  std::cout << h->code() << " in " << Flag("system") << "\n";
  for (const auto& e : h->events()) {
    std::cout << absl::StrFormat("  %-10s %-10s  %-32s ", e.release().version(),
                                 e.release().effective_date(), ChangeTypeNames(e.types()));
    if (e.has_before() && e.has_after() && e.before().display() != e.after().display()) {
      std::cout << e.before().display() << " -> " << e.after().display();
    } else if (e.has_after()) {
      const v1::Concept& a = e.after();
      std::cout << a.display() << "  [" << KindName(a);
      if (a.status() == v1::CONCEPT_STATUS_INACTIVE) std::cout << ", inactive";
      if (!a.termination_date().empty()) std::cout << ", terminated " << a.termination_date();
      std::cout << "]";
    }
    std::cout << "\n";
  }
  for (const auto& l : h->predecessors()) {
    std::cout << "  replaces    " << l.previous_code() << " (" << l.effective() << ")"
              << (l.note().empty() ? "" : "  [" + l.note() + "]") << "\n";
  }
  for (const auto& l : h->successors()) {
    std::cout << "  replaced by " << l.code() << " (" << l.effective() << ")"
              << (l.note().empty() ? "" : "  [" + l.note() + "]") << "\n";
  }
  return kOk;
}

int Cli::Watch() {
  if (!CheckFlags({"system", "after", "valueset"})) return kUsage;
  if (Has("valueset") == Has("system")) return UsageError("give --system=S or --valueset=URL");
  int64_t after = 0;
  if (Has("after") && !absl::SimpleAtoi(Flag("after"), &after)) {
    return UsageError("--after takes an event sequence number");
  }
  if (Has("valueset")) {
    if (Has("after")) return UsageError("--after goes with --system only");
    absl::Status s = client_->WatchValueSet(Flag("valueset"), [&](const v1::ReleaseEvent& e) {
      if (json_) {
        PrintJson(e);
        return true;
      }
      std::string type = v1::ReleaseEventType_Name(e.type());
      type = absl::AsciiStrToLower(absl::StripPrefix(type, "RELEASE_EVENT_TYPE_"));
      const v1::Release& r = e.release();
      std::cout << type << "\t" << r.system() << " " << r.version() << "\teffective "
                << r.effective_date() << "\t" << e.value_set().url() << "|"
                << e.value_set().version() << ": +" << e.value_set().entered() << " -"
                << e.value_set().left() << "\n";
      for (const v1::ValueSetChange& c : e.value_set().changes()) {
        const v1::Concept& shown = c.has_after() ? c.after() : c.before();
        std::cout << "  " << (c.entered() ? "+" : "-") << " " << c.system() << " " << c.code()
                  << "\t" << shown.display() << "\n";
      }
      std::cout << std::flush;
      return true;
    });
    if (!s.ok()) return Error(s);
    return kOk;
  }
  absl::Status s = client_->WatchReleases(Flag("system"), after, [&](const v1::ReleaseEvent& e) {
    if (json_) {
      PrintJson(e);
    } else {
      std::string type = v1::ReleaseEventType_Name(e.type());
      type = absl::AsciiStrToLower(absl::StripPrefix(type, "RELEASE_EVENT_TYPE_"));
      const v1::Release& r = e.release();
      std::cout << e.sequence() << "\t" << type << "\t" << r.system() << " " << r.version()
                << "\teffective " << r.effective_date() << "\tsequence " << r.sequence()
                << "\t" << r.counts().total() << " concepts\t" << r.checksum() << std::endl;
    }
    return true;
  });
  if (!s.ok()) return Error(s);
  return kOk;
}

int Cli::Export() {
  if (!CheckFlags({"system", "version", "date"}) || !Require("system")) return kUsage;
  v1::ExportReleaseRequest req;
  req.set_system(Flag("system"));
  if (!SelectorFromFlags(req.mutable_selector())) return kUsage;
  int64_t n = 0;
  absl::Status s = client_->ExportRelease(req, [&](const v1::ExportReleaseResponse& m) {
    if (m.has_release()) {
      v1::ExportReleaseResponse head;
      *head.mutable_release() = m.release();
      PrintJson(head);
    }
    for (const auto& c : m.concepts()) PrintJson(c);
    n += m.concepts_size();
    return true;
  });
  if (!s.ok()) return Error(s);
  std::cerr << "exported " << Thousands(n) << " concepts\n";
  return kOk;
}

int Cli::Publish() {
  if (!CheckFlags({"system", "version"}) || !Require("system") || !Require("version")) {
    return kUsage;
  }
  auto r = client_->PublishRelease(Flag("system"), Flag("version"));
  if (!r.ok()) return Error(r.status());
  return ShowRelease(*r);
}

int Cli::Discard() {
  if (!CheckFlags({"system", "version"}) || !Require("system") || !Require("version")) {
    return kUsage;
  }
  absl::Status s = client_->DiscardRelease(Flag("system"), Flag("version"));
  if (!s.ok()) return Error(s);
  if (!json_) std::cout << "discarded " << Flag("system") << " " << Flag("version") << "\n";
  if (json_) PrintJson(v1::DiscardReleaseResponse());
  return kOk;
}

int Cli::ImportLinks() {
  if (!CheckFlags({"system"}) || !Require("system")) return kUsage;
  if (args_.positional.size() != 1) return UsageError("give exactly one conversion table (.xlsx)");
  auto links = importers::ParseIcd10CmConversion(args_.positional[0]);
  if (!links.ok()) return Error(links.status());
  auto stored = client_->AddCodeLinks(Flag("system"), *links);
  if (!stored.ok()) return Error(stored.status());
  std::cerr << "stored " << Thousands(*stored) << " links from " << args_.positional[0] << "\n";
  return kOk;
}

int Cli::Retract() {
  if (!CheckFlags({"system", "version", "reason"}) || !Require("system") ||
      !Require("version") || !Require("reason")) {
    return kUsage;
  }
  auto r = client_->RetractRelease(Flag("system"), Flag("version"), Flag("reason"));
  if (!r.ok()) return Error(r.status());
  return ShowRelease(*r);
}

int Cli::Ping() {
  if (!CheckFlags({})) return kUsage;
  auto t0 = std::chrono::steady_clock::now();
  auto r = client_->Ping();
  if (!r.ok()) return Error(r.status());
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                  .count();
  if (json_) {
    PrintJson(*r);
  } else {
    std::cout << r->server_version() << " at " << server_ << " answered in "
              << absl::StrFormat("%.2f ms", ms) << "\n";
  }
  return kOk;
}

std::string EnumWord(const std::string& name, absl::string_view prefix) {
  std::string w = absl::AsciiStrToLower(absl::StripPrefix(name, prefix));
  absl::StrReplaceAll({{"_", " "}}, &w);
  return w;
}

int Cli::Search() {
  if (!CheckFlags({"system", "version", "date", "billable", "kind", "limit", "page-token"}) ||
      !Require("system")) {
    return kUsage;
  }
  v1::SearchRequest req;
  req.set_system(Flag("system"));
  if (!SelectorFromFlags(req.mutable_selector())) return kUsage;
  if (args_.positional.empty()) return UsageError("give the words or code to search for");
  req.set_query(absl::StrJoin(args_.positional, " "));
  req.set_billable_only(Has("billable"));
  if (Has("kind")) {
    for (absl::string_view k : absl::StrSplit(Flag("kind"), ',')) {
      v1::ConceptKind kind;
      if (!v1::ConceptKind_Parse(absl::StrCat("CONCEPT_KIND_", absl::AsciiStrToUpper(k)), &kind)) {
        return UsageError(absl::StrCat("--kind takes code, header or modifier, not '", k, "'"));
      }
      req.add_kinds(kind);
    }
  }
  if (Has("limit")) {
    int limit = 0;
    if (!absl::SimpleAtoi(Flag("limit"), &limit) || limit <= 0) {
      return UsageError("--limit takes a positive number");
    }
    req.set_page_size(limit);
  }
  req.set_page_token(Flag("page-token"));
  auto r = client_->Search(req);
  if (!r.ok()) return Error(r.status());
  if (json_) {
    PrintJson(*r);
    return kOk;
  }
  for (const auto& h : r->hits()) {
    const v1::Concept& c = h.concept();
    std::string kind = c.kind() == v1::CONCEPT_KIND_HEADER     ? "header"
                       : c.kind() == v1::CONCEPT_KIND_MODIFIER ? "modifier"
                       : c.billable()                          ? "billable"
                                                               : "code";
    std::cout << absl::StrFormat("%-9s %-8s %s\n", c.code(), kind, DisplayOf(c));
    // A hit found through the Index or a Tabular note says which, under it.
    if (h.match() == v1::SEARCH_MATCH_INDEX || h.match() == v1::SEARCH_MATCH_NOTE) {
      std::cout << absl::StrFormat("%-18s (%s)\n", "", h.reason());
    }
  }
  std::cerr << "# " << Thousands(r->total_hits()) << " hits in " << RefText(r->release());
  for (const v1::ReleaseRef& s : r->supplements()) std::cerr << "; terms of " << RefText(s);
  if (!r->next_page_token().empty()) {
    std::cerr << "; next page: --page-token=" << r->next_page_token();
  }
  std::cerr << "\n";
  return kOk;
}

int Cli::Ancestors() {
  if (!CheckFlags({"system", "version", "date"}) || !Require("system")) return kUsage;
  v1::ReleaseSelector selector;
  if (!SelectorFromFlags(&selector)) return kUsage;
  if (args_.positional.size() != 1) return UsageError("give one code");
  auto r = client_->GetAncestors(Flag("system"), args_.positional[0], selector);
  if (!r.ok()) return Error(r.status());
  if (json_) {
    PrintJson(*r);
    return kOk;
  }
  std::cout << r->concept().code() << "  " << r->concept().display() << "\n";
  std::string indent = "  ";
  for (const auto& a : r->ancestors()) {
    std::cout << indent << "< " << a.code() << "  " << a.display() << "\n";
    indent += "  ";
  }
  if (r->ancestors().empty()) std::cout << "  (top level)\n";
  std::cerr << "# " << RefText(r->release()) << "\n";
  return kOk;
}

int Cli::Children() {
  if (!CheckFlags({"system", "version", "date"}) || !Require("system")) return kUsage;
  v1::GetChildrenRequest req;
  req.set_system(Flag("system"));
  if (!SelectorFromFlags(req.mutable_selector())) return kUsage;
  if (args_.positional.size() > 1) return UsageError("give at most one code");
  if (!args_.positional.empty()) req.set_code(args_.positional[0]);
  int64_t count = 0;
  v1::ReleaseRef release;
  do {
    auto r = client_->GetChildren(req);
    if (!r.ok()) return Error(r.status());
    release = r->release();
    if (json_) {
      PrintJson(*r);
    } else {
      for (const auto& c : r->children()) {
        std::cout << absl::StrFormat("%-22s %s\n", c.code(), c.display());
      }
    }
    count += r->children_size();
    req.set_page_token(r->next_page_token());
  } while (!req.page_token().empty());
  if (!json_) std::cerr << "# " << Thousands(count) << " children in " << RefText(release) << "\n";
  return kOk;
}

int Cli::Subsumes() {
  if (!CheckFlags({"system", "version", "date"}) || !Require("system")) return kUsage;
  v1::ReleaseSelector selector;
  if (!SelectorFromFlags(&selector)) return kUsage;
  if (args_.positional.size() != 2) return UsageError("give two codes, A and B");
  auto r = client_->Subsumes(Flag("system"), args_.positional[0], args_.positional[1], selector);
  if (!r.ok()) return Error(r.status());
  if (json_) {
    PrintJson(*r);
  } else {
    std::cout << args_.positional[0] << " "
              << EnumWord(v1::SubsumptionOutcome_Name(r->outcome()), "SUBSUMPTION_OUTCOME_")
              << " " << args_.positional[1] << "  (" << RefText(r->release()) << ")\n";
  }
  return kOk;
}

int Cli::Claim() {
  if (!CheckFlags({"date", "stream"})) return kUsage;
  if (args_.positional.size() != 1) return UsageError("give one claim-line file (or - for stdin)");
  std::ifstream file;
  std::istream* in = &std::cin;
  if (args_.positional[0] != "-") {
    file.open(args_.positional[0]);
    if (!file) return Error(absl::NotFoundError(absl::StrCat(args_.positional[0], ": cannot open")));
    in = &file;
  }
  std::vector<v1::ClaimLine> lines;
  std::string text;
  int number = 0;
  while (std::getline(*in, text)) {
    ++number;
    std::string body(absl::StripAsciiWhitespace(text.substr(0, text.find('#'))));
    if (body.empty() || (lines.empty() && absl::StartsWithIgnoreCase(body, "code,"))) continue;
    std::vector<std::string> f = absl::StrSplit(body, ',');
    if (f.size() < 4 || f.size() > 5) {
      return UsageError(absl::StrCat(args_.positional[0], ":", number,
                                     ": expected code,modifiers,units,diagnoses[,date]"));
    }
    v1::ClaimLine& line = lines.emplace_back();
    line.set_line_id(absl::StrCat(number));
    line.set_procedure_code(std::string(absl::StripAsciiWhitespace(f[0])));
    for (absl::string_view m : absl::StrSplit(f[1], absl::ByAnyChar(" ;|"), absl::SkipEmpty())) {
      line.add_modifiers(std::string(m));
    }
    std::string units(absl::StripAsciiWhitespace(f[2]));
    int u = 1;
    if (!units.empty() && !absl::SimpleAtoi(units, &u)) {
      return UsageError(absl::StrCat(args_.positional[0], ":", number, ": units '", units,
                                     "' is not a number"));
    }
    line.set_units(u);
    for (absl::string_view d : absl::StrSplit(f[3], absl::ByAnyChar(" ;|"), absl::SkipEmpty())) {
      line.add_diagnosis_codes(std::string(d));
    }
    std::string date = f.size() == 5 ? std::string(absl::StripAsciiWhitespace(f[4])) : "";
    line.set_date_of_service(date.empty() ? Flag("date") : date);
  }
  if (lines.empty()) return UsageError("the file has no claim lines");
  int64_t valid = 0, invalid = 0;
  auto show = [&](const v1::ClaimLineResult& r) {
    r.valid() ? ++valid : ++invalid;
    if (json_) {
      PrintJson(r);
      return;
    }
    std::cout << "line " << r.line_id() << "  " << (r.valid() ? "VALID" : "INVALID") << "\n";
    for (const auto& i : r.issues()) {
      std::cout << "    " << i.field() << (i.code().empty() ? "" : " ") << i.code() << ": "
                << (i.advisory() ? "advisory, " : "")
                << EnumWord(v1::ClaimIssueKind_Name(i.kind()), "CLAIM_ISSUE_KIND_") << ": "
                << i.message() << "\n";
    }
  };
  if (Has("stream")) {
    absl::Status s = client_->ValidateClaimStream(lines, show);
    if (!s.ok()) return Error(s);
  } else {
    for (size_t start = 0; start < lines.size(); start += 10000) {
      v1::ValidateClaimRequest req;
      for (size_t i = start; i < lines.size() && i < start + 10000; ++i) *req.add_lines() = lines[i];
      auto r = client_->ValidateClaim(req);
      if (!r.ok()) return Error(r.status());
      for (const auto& res : r->results()) show(res);
    }
  }
  if (!json_) {
    std::cerr << "# " << Thousands(valid) << " valid, " << Thousands(invalid) << " invalid of "
              << Thousands(valid + invalid) << " lines\n";
  }
  return invalid > 0 ? kInvalid : kOk;
}

int Cli::CodeSystem() {
  if (!CheckFlags({"id", "uri", "title", "publisher", "code-pattern", "case-sensitive",
                   "hierarchy-meaning", "license-scope"})) {
    return kUsage;
  }
  if (args_.positional.size() != 1 || args_.positional[0] != "create") {
    return UsageError("codesystem has one subcommand: create");
  }
  if (!Has("id") || !Has("uri") || !Has("title")) {
    return UsageError("codesystem create needs --id, --uri and --title");
  }
  v1::CodeSystem system;
  system.set_id(Flag("id"));
  system.set_uri(Flag("uri"));
  system.set_title(Flag("title"));
  system.set_publisher(Flag("publisher"));
  system.set_code_pattern(Flag("code-pattern"));
  system.set_case_sensitive(Has("case-sensitive"));
  system.set_hierarchy_meaning(Flag("hierarchy-meaning"));
  system.set_license_scope(Flag("license-scope"));
  auto r = client_->CreateCodeSystem(system);
  if (!r.ok()) return Error(r.status());
  if (json_) {
    PrintJson(*r);
    return kOk;
  }
  const v1::CodeSystem& s = r->system();
  std::cout << (r->created() ? "registered " : "already registered, unchanged: ") << s.id()
            << " (" << s.uri() << "): " << s.title() << "\n";
  if (!s.code_pattern().empty()) std::cout << "  codes match " << s.code_pattern() << "\n";
  return kOk;
}

int Cli::ValueSet() {
  const std::string sub = args_.positional.empty() ? "" : args_.positional[0];
  if (!args_.positional.empty()) args_.positional.erase(args_.positional.begin());
  if (sub == "create") {
    if (!CheckFlags({"file", "version"}) || !Require("file")) return kUsage;
    if (!args_.positional.empty()) return UsageError("valueset create takes --file=FILE only");
    return ValueSetCreate(Flag("file"));
  }
  if (sub == "list") {
    if (!CheckFlags({"url"})) return kUsage;
    auto sets = client_->ListValueSets(Flag("url"));
    if (!sets.ok()) return Error(sets.status());
    if (json_) {
      v1::ListValueSetsResponse resp;
      for (const auto& v : *sets) *resp.add_value_sets() = v;
      PrintJson(resp);
      return kOk;
    }
    std::cout << absl::StrFormat("%-50s %-10s %5s %5s  %s\n", "URL", "VERSION", "INCL", "EXCL",
                                 "TITLE");
    for (const auto& v : *sets) {
      std::cout << absl::StrFormat("%-50s %-10s %5d %5d  %s\n", v.url(), v.version(),
                                   v.includes_size(), v.excludes_size(), v.title());
    }
    return kOk;
  }
  if (sub == "expand") return ValueSetExpand();
  if (sub == "validate") return ValueSetValidate();
  if (sub == "diff") return ValueSetDiff();
  return UsageError("valueset has the subcommands create, list, expand, validate and diff");
}

int Cli::ValueSetCreate(const std::string& path) {
  absl::StatusOr<importers::FhirValueSet> parsed = importers::ParseFhirValueSet(path);
  if (!parsed.ok()) return Error(parsed.status());
  v1::ValueSet& vs = parsed->value_set;
  if (Has("version")) vs.set_version(Flag("version"));
  if (vs.version().empty()) vs.set_version(parsed->date.empty() ? "1" : parsed->date);
  auto r = client_->CreateValueSet(vs);
  if (!r.ok()) return Error(r.status());
  if (json_) {
    PrintJson(*r);
    return kOk;
  }
  std::cout << (r->created() ? "created " : "already stored with the same rules, unchanged: ")
            << r->value_set().url() << "|" << r->value_set().version() << " ("
            << r->value_set().includes_size() << " include, " << r->value_set().excludes_size()
            << " exclude rules)\n";
  return kOk;
}

int Cli::ValueSetExpand() {
  if (!CheckFlags({"url", "version", "date", "filter", "limit", "page-token", "all"}) ||
      !Require("url")) {
    return kUsage;
  }
  v1::ExpandValueSetRequest req;
  req.set_url(Flag("url"));
  req.set_version(Flag("version"));
  req.set_date_of_service(Flag("date"));
  req.set_filter(Flag("filter"));
  req.set_page_token(Flag("page-token"));
  if (Has("limit")) {
    int limit = 0;
    if (!absl::SimpleAtoi(Flag("limit"), &limit)) return UsageError("--limit takes a number");
    req.set_page_size(limit);
  }
  bool first = true;
  while (true) {
    auto r = client_->ExpandValueSet(req);
    if (!r.ok()) return Error(r.status());
    if (json_) {
      PrintJson(*r);
    } else {
      if (first) {
        std::vector<std::string> used;
        for (const auto& rel : r->releases()) used.push_back(RefText(rel));
        std::cerr << "# " << r->value_set().url() << "|" << r->value_set().version() << ": "
                  << Thousands(r->total()) << " concepts"
                  << (req.filter().empty() ? "" : " matching the filter") << "; releases "
                  << absl::StrJoin(used, ", ") << "\n";
      }
      for (const auto& e : r->concepts()) {
        const v1::Concept& c = e.concept();
        std::cout << e.system() << "\t" << c.code() << "\t"
                  << (c.kind() == v1::CONCEPT_KIND_HEADER ? "header" : "code") << "\t"
                  << c.display() << "\n";
      }
    }
    first = false;
    if (r->next_page_token().empty()) break;
    if (!Has("all")) {
      std::cerr << "# more: --page-token=" << r->next_page_token() << " (or --all)\n";
      break;
    }
    req.set_page_token(r->next_page_token());
  }
  return kOk;
}

int Cli::ValueSetValidate() {
  if (!CheckFlags({"url", "version", "date", "system"}) || !Require("url")) return kUsage;
  if (args_.positional.empty()) return UsageError("give one or more codes");
  std::string system = Flag("system");
  if (system.empty()) {
    // The one system the value set's expansion on the date uses (imports included).
    v1::ExpandValueSetRequest probe;
    probe.set_url(Flag("url"));
    probe.set_version(Flag("version"));
    probe.set_date_of_service(Flag("date"));
    probe.set_page_size(1);
    auto r = client_->ExpandValueSet(probe);
    if (!r.ok()) return Error(r.status());
    std::set<std::string> systems;
    for (const auto& rel : r->releases()) systems.insert(rel.system());
    if (systems.size() != 1) {
      return UsageError("the value set takes codes of " + absl::StrJoin(systems, ", ") +
                        ": give --system=S");
    }
    system = *systems.begin();
  }
  int rc = kOk;
  const std::string canonical =
      Has("version") ? Flag("url") + "|" + Flag("version") : Flag("url");
  for (const std::string& code : args_.positional) {
    v1::ValidateCodeRequest req;
    req.set_system(system);
    req.set_code(code);
    req.set_date_of_service(Flag("date"));
    req.set_value_set(canonical);
    auto r = client_->ValidateCode(req);
    if (!r.ok()) return Error(r.status());
    if (!r->valid()) rc = kInvalid;
    if (json_) {
      PrintJson(*r);
      continue;
    }
    std::string outcome = v1::MembershipOutcome_Name(r->value_set().outcome());
    outcome = absl::AsciiStrToLower(absl::StripPrefix(outcome, "MEMBERSHIP_OUTCOME_"));
    absl::StrReplaceAll({{"_", " "}}, &outcome);
    std::cout << absl::StrFormat("%-10s %-7s %-18s %s\n", code, r->valid() ? "VALID" : "INVALID",
                                 outcome,
                                 r->value_set().member() ? r->message() : r->value_set().message());
  }
  return rc;
}

int Cli::ValueSetDiff() {
  if (!CheckFlags({"url", "from-version", "to-version", "from-date", "to-date", "summary"}) ||
      !Require("url")) {
    return kUsage;
  }
  v1::DiffValueSetRequest req;
  req.set_url(Flag("url"));
  req.set_from_version(Flag("from-version"));
  req.set_to_version(Flag("to-version"));
  req.set_from_date(Flag("from-date"));
  req.set_to_date(Flag("to-date"));
  auto r = client_->DiffValueSet(req);
  if (!r.ok()) return Error(r.status());
  if (json_) {
    PrintJson(*r);
    return kOk;
  }
  auto refs = [](const auto& list) {
    std::vector<std::string> out;
    for (const v1::ReleaseRef& rel : list) out.push_back(RefText(rel));
    return absl::StrJoin(out, ", ");
  };
  std::ostream& head = Has("summary") ? std::cout : std::cerr;
  head << "# " << req.url() << "|" << r->from_version() << " on "
       << (req.from_date().empty() ? "today" : req.from_date()) << " (" << refs(r->from_releases())
       << "): " << Thousands(r->from_total()) << " concepts\n# " << req.url() << "|"
       << r->to_version() << " on " << (req.to_date().empty() ? "today" : req.to_date()) << " ("
       << refs(r->to_releases()) << "): " << Thousands(r->to_total()) << " concepts\n# "
       << Thousands(r->entered()) << " entered, " << Thousands(r->left()) << " left\n";
  if (Has("summary")) return kOk;
  for (const v1::ValueSetChange& c : r->changes()) {
    std::vector<std::string> causes;
    for (int cause : c.causes()) {
      std::string n = v1::ValueSetChangeCause_Name(static_cast<v1::ValueSetChangeCause>(cause));
      causes.push_back(absl::AsciiStrToLower(absl::StripPrefix(n, "VALUE_SET_CHANGE_CAUSE_")));
    }
    const v1::Concept& shown = c.has_after() ? c.after() : c.before();
    std::cout << (c.entered() ? "+" : "-") << "\t" << c.system() << "\t" << c.code() << "\t"
              << absl::StrJoin(causes, ",") << "\t" << shown.display() << "\n";
  }
  return kOk;
}

int Cli::Backup() {
  if (!CheckFlags({})) return kUsage;
  if (args_.positional.size() != 1) return UsageError("give the backup folder (an absolute path)");
  auto r = client_->CreateBackup(args_.positional[0]);
  if (!r.ok()) return Error(r.status());
  if (json_) {
    PrintJson(*r);
    return kOk;
  }
  for (const auto& rel : r->releases()) {
    std::cout << absl::StrFormat("%-9s %-10s %s  verified\n", rel.system(), rel.version(),
                                 rel.checksum());
  }
  std::cout << "backup of " << r->releases_size() << " releases in " << r->directory() << " ("
            << absl::StrFormat("%.1f MB", r->bytes() / 1e6) << ")\n";
  return kOk;
}

}  // namespace
}  // namespace codebook::cli

int main(int argc, char** argv) {
  using codebook::cli::Args;
  Args args;
  std::string command;
  bool flags_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (!flags_done && a == "--") {
      flags_done = true;
    } else if (!flags_done && a.rfind("--", 0) == 0) {
      size_t eq = a.find('=');
      std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      args.flags[name] = eq == std::string::npos ? "" : a.substr(eq + 1);
    } else if (a == "-h" || a == "help") {
      args.flags["help"] = "";
    } else if (command.empty()) {
      command = a;
    } else {
      args.positional.push_back(a);
    }
  }
  if (args.flags.count("help")) {
    std::cout << codebook::cli::kUsageText;
    return 0;
  }
  if (command.empty()) {
    std::cerr << codebook::cli::kUsageText;
    return codebook::cli::kUsage;
  }
  return codebook::cli::Cli(std::move(args), command).Run();
}
