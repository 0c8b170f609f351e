#include "service/claims.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "service/conversions.h"
#include "service/tabular.h"

namespace codebook::service {
namespace {

bool TakesModifiers(const CodeSystemInfo& system) {
  return system.format == CodeFormat::kCpt || system.format == CodeFormat::kHcpcs;
}

// CPT <-> HCPCS: the system whose modifiers a code may also carry.
const CodeSystemInfo* SiblingSystem(const CodeSystemInfo& system) {
  const char* id = system.format == CodeFormat::kCpt     ? "HCPCS"
                   : system.format == CodeFormat::kHcpcs ? "CPT"
                                                         : nullptr;
  if (id == nullptr) return nullptr;
  absl::StatusOr<const CodeSystemInfo*> s = FindBuiltInSystem(id);
  return s.ok() ? *s : nullptr;
}

v1::ClaimIssueKind IssueKindOf(v1::ValidationOutcome o) {
  switch (o) {
    case v1::VALIDATION_OUTCOME_UNKNOWN_CODE: return v1::CLAIM_ISSUE_KIND_UNKNOWN_CODE;
    case v1::VALIDATION_OUTCOME_DELETED: return v1::CLAIM_ISSUE_KIND_DELETED;
    case v1::VALIDATION_OUTCOME_TERMINATED: return v1::CLAIM_ISSUE_KIND_TERMINATED;
    case v1::VALIDATION_OUTCOME_NOT_BILLABLE: return v1::CLAIM_ISSUE_KIND_NOT_BILLABLE;
    case v1::VALIDATION_OUTCOME_NOT_YET_EFFECTIVE: return v1::CLAIM_ISSUE_KIND_NOT_YET_EFFECTIVE;
    case v1::VALIDATION_OUTCOME_MALFORMED_CODE: return v1::CLAIM_ISSUE_KIND_MALFORMED_CODE;
    case v1::VALIDATION_OUTCOME_INVALID_MODIFIER: return v1::CLAIM_ISSUE_KIND_UNKNOWN_MODIFIER;
    default: return v1::CLAIM_ISSUE_KIND_UNSPECIFIED;
  }
}

}  // namespace

void SplitModifiers(const CodeSystemInfo& system, absl::string_view input, std::string* code,
                    std::vector<std::string>* modifiers) {
  modifiers->clear();
  input = absl::StripAsciiWhitespace(input);
  if (!TakesModifiers(system)) {
    *code = std::string(input);
    return;
  }
  std::vector<absl::string_view> parts = absl::StrSplit(input, '-');
  *code = std::string(parts[0]);
  for (size_t i = 1; i < parts.size(); ++i) modifiers->emplace_back(parts[i]);
}

CodeChecker::CodeChecker(const storage::Store* store, std::string today, TabularCache* tabulars)
    : owned_(store->NewReader()),
      reader_(owned_.get()),
      today_(std::move(today)),
      tabulars_(tabulars) {}

CodeChecker::CodeChecker(storage::Reader* reader, std::string today, TabularCache* tabulars)
    : reader_(reader), today_(std::move(today)), tabulars_(tabulars) {}

const storage::ReleaseRecord* CodeChecker::InForce(const std::string& system,
                                                   absl::string_view date) {
  auto key = std::make_pair(system, std::string(date));
  auto it = in_force_.find(key);
  if (it != in_force_.end()) return it->second;
  const storage::ReleaseRecord* r = ReleaseInForce(reader_->catalog(), system, date);
  in_force_.emplace(std::move(key), r);
  return r;
}

absl::Status CodeChecker::Check(const CodeSystemInfo& system, absl::string_view input,
                                absl::string_view date, Result* out) {
  return Check(system, input, date, InForce(system.id, date), out);
}

absl::Status CodeChecker::Check(const CodeSystemInfo& system, absl::string_view input,
                                absl::string_view date, const storage::ReleaseRecord* release,
                                Result* out) {
  out->release = release;
  out->deleted_in = nullptr;
  out->found = false;
  out->code.clear();
  if (out->release == nullptr) {
    return absl::NotFoundError(
        absl::StrCat(system.id, " has no published release in effect on ", date));
  }
  const storage::ReleaseRecord& rel = *out->release;
  auto answer = [&](v1::ValidationOutcome outcome, std::string message) {
    out->outcome = outcome;
    out->message = std::move(message);
    return absl::OkStatus();
  };
  absl::StatusOr<std::string> code = NormalizeCode(system, input);
  if (!code.ok()) {
    return answer(v1::VALIDATION_OUTCOME_MALFORMED_CODE, std::string(code.status().message()));
  }
  out->code = *std::move(code);
  storage::CodeState st;
  absl::Status s = reader_->Read(system.id, out->code, rel.sequence, &st);
  if (!s.ok()) return s;
  std::string printed = PrintedCode(system, out->code);
  if (st.kind == storage::CodeState::Kind::kDeleted) {
    out->deleted_in = reader_->catalog().FindBySequence(system.id, st.entry_sequence);
    return answer(v1::VALIDATION_OUTCOME_DELETED,
                  AbsentReason(*reader_, system, rel, out->code, st));
  }
  if (st.kind == storage::CodeState::Kind::kAbsent) {
    absl::StatusOr<const storage::ReleaseRecord*> later =
        LaterReleaseWithCode(*reader_, system, out->code, rel.sequence);
    if (!later.ok()) return later.status();
    return answer(*later != nullptr ? v1::VALIDATION_OUTCOME_NOT_YET_EFFECTIVE
                              : v1::VALIDATION_OUTCOME_UNKNOWN_CODE,
                  AbsentReason(*reader_, system, rel, out->code, st));
  }
  out->found = true;
  out->record = std::move(st.record);
  const storage::ConceptRecord& r = out->record;
  if (!r.termination_date.empty() && date > r.termination_date) {
    return answer(v1::VALIDATION_OUTCOME_TERMINATED,
                  absl::StrCat(printed, " was terminated on ", r.termination_date, " (",
                               Describe(rel), ")"));
  }
  if (!r.added_date.empty() && date < r.added_date) {
    return answer(v1::VALIDATION_OUTCOME_NOT_YET_EFFECTIVE,
                  absl::StrCat(printed, " takes effect on ", r.added_date, " (", Describe(rel),
                               ")"));
  }
  if (r.kind == storage::ConceptKind::kHeader ||
      (r.kind == storage::ConceptKind::kCode && !r.billable)) {
    return answer(v1::VALIDATION_OUTCOME_NOT_BILLABLE,
                  absl::StrCat(printed, " is a ",
                               r.kind == storage::ConceptKind::kHeader ? "header" : "code",
                               " that is not valid for submission in ", Describe(rel),
                               "; use one of its billable codes"));
  }
  return answer(v1::VALIDATION_OUTCOME_VALID,
                absl::StrCat(printed, " is valid on ", date, " (", Describe(rel), ")"));
}

absl::Status CodeChecker::CheckModifier(const CodeSystemInfo& system, absl::string_view modifier,
                                        absl::string_view date, v1::ModifierCheck* out) {
  out->set_modifier(std::string(modifier));
  out->set_valid(false);
  std::string upper = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(modifier));
  if (upper.size() != 2 || !absl::ascii_isalnum(upper[0]) || !absl::ascii_isalnum(upper[1])) {
    out->set_message(absl::StrCat("'", modifier, "' is not a modifier (two letters or digits)"));
    return absl::OkStatus();
  }
  std::vector<std::string> looked_in;
  std::string first_problem;
  for (const CodeSystemInfo* s : {&system, SiblingSystem(system)}) {
    if (s == nullptr) continue;
    Result r;
    absl::Status st = Check(*s, upper, date, &r);
    if (absl::IsNotFound(st)) continue;  // no release of that system on the date
    if (!st.ok()) return st;
    looked_in.push_back(Describe(*r.release));
    if (r.found && r.record.kind != storage::ConceptKind::kModifier) continue;
    bool in_force = r.outcome == v1::VALIDATION_OUTCOME_VALID ||
                    r.outcome == v1::VALIDATION_OUTCOME_NOT_BILLABLE;  // modifiers aren't billable
    if (r.found && in_force) {
      out->set_valid(true);
      out->set_message(absl::StrCat("modifier ", upper, " is in force on ", date, " (",
                                    Describe(*r.release), ")"));
      ToApi(*s, r.code, r.record, out->mutable_concept());
      return absl::OkStatus();
    }
    if (first_problem.empty() && r.outcome != v1::VALIDATION_OUTCOME_UNKNOWN_CODE) {
      first_problem = absl::StrCat("modifier ", r.message);
      if (r.found) ToApi(*s, r.code, r.record, out->mutable_concept());
    }
  }
  if (!first_problem.empty()) {
    out->set_message(first_problem);
  } else if (looked_in.empty()) {
    out->set_message(absl::StrCat("no release with modifiers is in effect on ", date));
  } else {
    out->set_message(absl::StrCat("modifier ", upper, " is not a modifier in ",
                                  absl::StrJoin(looked_in, " or ")));
  }
  return absl::OkStatus();
}

absl::Status CodeChecker::CheckLine(const v1::ClaimLine& line, int index,
                                    absl::string_view default_date, v1::ClaimLineResult* out) {
  out->set_line_id(line.line_id());
  out->set_index(index);
  auto issue = [&](const char* field, absl::string_view code, v1::ClaimIssueKind kind,
                   std::string message, const storage::ReleaseRecord* release) {
    v1::ClaimIssue* i = out->add_issues();
    i->set_field(field);
    i->set_code(std::string(code));
    i->set_kind(kind);
    i->set_message(std::move(message));
    if (release != nullptr) ToRef(*release, i->mutable_release());
    return i;
  };
  std::string date = line.date_of_service().empty() ? std::string(default_date)
                                                     : line.date_of_service();
  if (!IsValidDate(date)) {
    issue("date", "", v1::CLAIM_ISSUE_KIND_INVALID_DATE,
          date.empty() ? "the line has no date of service"
                       : absl::StrCat("date of service '", date, "' is not a YYYY-MM-DD date"),
          nullptr);
    out->set_valid(false);
    return absl::OkStatus();
  }

  // Procedure.
  std::string procedure(absl::StripAsciiWhitespace(line.procedure_code()));
  const CodeSystemInfo* system = nullptr;
  if (!line.procedure_system().empty()) {
    absl::StatusOr<const CodeSystemInfo*> s = FindBuiltInSystem(line.procedure_system());
    if (!s.ok() || !TakesModifiers(**s)) {
      issue("procedure", procedure, v1::CLAIM_ISSUE_KIND_MALFORMED_CODE,
            absl::StrCat("procedure system '", line.procedure_system(),
                         "' is not CPT or HCPCS"),
            nullptr);
    } else {
      system = *s;
    }
  } else if (!procedure.empty()) {
    system = *FindBuiltInSystem(absl::ascii_isdigit(procedure[0]) ? "CPT" : "HCPCS");
  } else {
    issue("procedure", "", v1::CLAIM_ISSUE_KIND_MALFORMED_CODE, "the line has no procedure code",
          nullptr);
  }
  if (system != nullptr) {
    std::string code;
    std::vector<std::string> modifiers;
    SplitModifiers(*system, procedure, &code, &modifiers);
    for (const std::string& m : line.modifiers()) modifiers.push_back(m);
    Result r;
    absl::Status s = Check(*system, code, date, &r);
    if (absl::IsNotFound(s)) {
      issue("procedure", code, v1::CLAIM_ISSUE_KIND_NO_RELEASE, std::string(s.message()), nullptr);
    } else if (!s.ok()) {
      return s;
    } else if (r.found && r.record.kind == storage::ConceptKind::kModifier) {
      issue("procedure", code, v1::CLAIM_ISSUE_KIND_WRONG_KIND,
            absl::StrCat(code, " is a modifier, not a procedure code"), r.release);
    } else if (r.outcome != v1::VALIDATION_OUTCOME_VALID) {
      v1::ClaimIssue* i =
          issue("procedure", code, IssueKindOf(r.outcome), r.message, r.release);
      if (r.deleted_in != nullptr) ToRef(*r.deleted_in, i->mutable_deleted_in());
    }
    for (const std::string& m : modifiers) {
      v1::ModifierCheck mc;
      absl::Status ms = CheckModifier(*system, m, date, &mc);
      if (!ms.ok()) return ms;
      if (!mc.valid()) {
        issue("modifier", m, v1::CLAIM_ISSUE_KIND_UNKNOWN_MODIFIER, mc.message(), nullptr);
      }
    }
  }

  // Units.
  if (line.units() < 0 || line.units() > 9999) {
    issue("units", "", v1::CLAIM_ISSUE_KIND_INVALID_UNITS,
          absl::StrCat("units ", line.units(), " are outside 1..9999"), nullptr);
  }

  // Diagnoses.
  if (line.diagnosis_codes().empty()) {
    issue("diagnosis", "", v1::CLAIM_ISSUE_KIND_MISSING_DIAGNOSIS,
          "the line has no diagnosis code", nullptr);
  }
  const CodeSystemInfo& icd = **FindBuiltInSystem("ICD10CM");
  std::vector<Diagnosis> diagnoses;
  for (const std::string& dx : line.diagnosis_codes()) {
    Result r;
    absl::Status s = Check(icd, dx, date, &r);
    if (absl::IsNotFound(s)) {
      issue("diagnosis", dx, v1::CLAIM_ISSUE_KIND_NO_RELEASE, std::string(s.message()), nullptr);
      continue;
    }
    if (!s.ok()) return s;
    std::shared_ptr<const TabularRelease> tabular;
    TabularRelease::Chain chain;
    if (r.found) {
      auto known = tabular_of_.find(r.release->sequence);
      if (known == tabular_of_.end()) {
        absl::StatusOr<std::shared_ptr<const TabularRelease>> t =
            tabulars_->For(*reader_, *r.release);
        if (!t.ok()) return t.status();
        known = tabular_of_.emplace(r.release->sequence, *std::move(t)).first;
      }
      tabular = known->second;
      if (tabular != nullptr) chain = tabular->ChainOf(r.code);
    }
    if (r.outcome == v1::VALIDATION_OUTCOME_NOT_BILLABLE &&
        TabularRelease::NeedsSeventh(chain, r.code)) {
      const TabularRelease::Entry* def = TabularRelease::SeventhOf(chain);
      const std::string stem = tabular->SeventhStem(r.code);
      std::vector<std::string> choices;
      for (const auto& [ch, meaning] : def->seventh) {
        choices.push_back(absl::StrCat(stem, ch, " ", meaning));
      }
      const storage::ReleaseRecord& source = tabular->release();
      v1::ClaimIssue* i = issue(
          "diagnosis", dx, v1::CLAIM_ISSUE_KIND_MISSING_SEVENTH_CHARACTER,
          absl::StrCat(PrintedCode(icd, r.code), " needs a 7th character (", source.system, " ",
                       source.version, ", defined at ", def->printed, "): ",
                       absl::StrJoin(choices, "; ")),
          r.release);
      ToRef(source, i->mutable_note_source());
    } else if (r.outcome != v1::VALIDATION_OUTCOME_VALID) {
      v1::ClaimIssue* i = issue("diagnosis", dx, IssueKindOf(r.outcome), r.message, r.release);
      if (r.deleted_in != nullptr) ToRef(*r.deleted_in, i->mutable_deleted_in());
    }
    if (!chain.entries.empty()) {
      diagnoses.push_back({dx, r.code, &dx == &line.diagnosis_codes(0), r.record.display,
                           r.release, std::move(tabular), std::move(chain)});
    }
  }
  CheckNotes(diagnoses, out);
  bool valid = true;
  for (const v1::ClaimIssue& i : out->issues()) valid &= i.advisory();
  out->set_valid(valid);
  return absl::OkStatus();
}

void CodeChecker::CheckNotes(const std::vector<Diagnosis>& dx, v1::ClaimLineResult* out) {
  using Note = TabularRelease::Note;
  using Entry = TabularRelease::Entry;
  auto issue = [&](const Diagnosis& d, v1::ClaimIssueKind kind, const Entry& at, const Note& note,
                   absl::string_view label, std::string lead, bool advisory) {
    const storage::ReleaseRecord& source = d.tabular->release();
    v1::ClaimIssue* i = out->add_issues();
    i->set_field("diagnosis");
    i->set_code(d.given);
    i->set_kind(kind);
    i->set_message(absl::StrCat(lead, label, " at ", at.printed, ": \"", note.text, "\" (",
                                source.system, " ", source.version, ")"));
    i->set_advisory(advisory);
    ToRef(*d.release, i->mutable_release());
    v1::TabularNote* n = i->mutable_note();
    n->set_kind(note.kind);
    n->set_text(note.text);
    n->set_from(at.printed);
    for (const v1::CodeRange& r : note.references) *n->add_references() = r;
    ToRef(source, i->mutable_note_source());
  };
  auto covered = [&](const Note& note, const Diagnosis& other) {
    for (const v1::CodeRange& r : note.references) {
      if (Covers(r, other.code)) return true;
    }
    return false;
  };
  // The first note of `kind` in the chain (and where it stands) for which `pick` holds.
  auto find = [](const Diagnosis& d, absl::string_view kind, auto pick)
      -> std::pair<const Entry*, const Note*> {
    for (const Entry* e : d.chain.entries) {
      for (const Note& n : e->notes) {
        if (n.kind == kind && pick(*e, n)) return {e, &n};
      }
    }
    return {nullptr, nullptr};
  };
  for (const Diagnosis& d : dx) {
    // Excludes1: once per other diagnosis its notes name.
    for (const Diagnosis& other : dx) {
      if (&other == &d) continue;
      auto [at, note] = find(d, "excludes1",
                             [&](const Entry&, const Note& n) { return covered(n, other); });
      if (note == nullptr) continue;
      issue(d, v1::CLAIM_ISSUE_KIND_EXCLUDES1, *at, *note, "Excludes1",
            absl::StrCat(d.given, " and ", other.given, " are not reported together: "), false);
    }
    // Code first, when listed first: an error for a manifestation code, else an advisory.
    if (d.first) {
      auto [at, note] = find(d, "codeFirst", [](const Entry&, const Note&) { return true; });
      if (note != nullptr) {
        bool manifestation =
            absl::StrContains(absl::AsciiStrToLower(d.display), "classified elsewhere");
        if (manifestation) {
          issue(d, v1::CLAIM_ISSUE_KIND_CODE_FIRST, *at, *note, "Code first",
                absl::StrCat(d.given, " is a manifestation code and may not be listed first: "),
                false);
        } else {
          issue(d, v1::CLAIM_ISSUE_KIND_CODE_FIRST, *at, *note, "code first note",
                absl::StrCat(d.given, " is listed first; check its "), true);
        }
      }
    }
    // Use additional code, from the code's category and the levels below it (a block's or
    // chapter's such notes apply to hundreds of codes "if applicable"): its notes name codes
    // (often alternatives, one note each), none of which is on the line. Quotes the first.
    auto names_codes = [](const Entry& e, const Note& n) {
      return !absl::StrContains(e.key, '-') &&
             std::any_of(n.references.begin(), n.references.end(),
                         [](const v1::CodeRange& r) { return !r.qualified(); });
    };
    auto [at, first_named] = find(d, "useAdditionalCode", names_codes);
    if (first_named == nullptr) continue;
    const Note* present =
        find(d, "useAdditionalCode", [&](const Entry& e, const Note& n) {
          if (!names_codes(e, n)) return false;
          for (const Diagnosis& other : dx) {
            if (&other != &d && covered(n, other)) return true;
          }
          return false;
        }).second;
    if (present == nullptr) {
      issue(d, v1::CLAIM_ISSUE_KIND_USE_ADDITIONAL_CODE, *at, *first_named,
            "Use additional code",
            absl::StrCat(d.given, ": use additional code if applicable; "), true);
    }
  }
}

}  // namespace codebook::service
