#include "tests/claim_lines.h"

#include <algorithm>
#include <random>
#include <regex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"

namespace codebook::testing {
namespace {

std::string Sibling(const std::string& system) {
  return system == "CPT" ? "HCPCS" : system == "HCPCS" ? "CPT" : "";
}

// The code ranges a Tabular note names (the rule of service/tabular.h, written again here with
// a regular expression): codes in parentheses, and elsewhere codes with a dot, a trailing "-"
// or a range. Each as (first, last), without dots.
std::vector<std::pair<std::string, std::string>> NoteRanges(const std::string& text) {
  static const std::regex kRef(
      R"(([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?)(\.-|-([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?)(?:\.-)?|-)?)");
  auto alnum = [](char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)); };
  auto undotted = [](std::string c) {
    c.erase(std::remove(c.begin(), c.end(), '.'), c.end());
    return c;
  };
  std::vector<std::pair<std::string, std::string>> out;
  size_t pos = 0;
  std::smatch m;
  while (pos < text.size()) {
    std::string rest = text.substr(pos);
    if (!std::regex_search(rest, m, kRef)) break;
    size_t at = pos + m.position(0);
    size_t code_end = at + m.length(1);
    bool bounded = (at == 0 || !alnum(text[at - 1])) &&
                   (code_end >= text.size() || !alnum(text[code_end]));
    if (m[3].matched) {
      size_t last_end = pos + m.position(3) + m.length(3);
      bounded &= last_end >= text.size() || !alnum(text[last_end]);
    }
    if (!bounded) {
      pos = at + 1;
      continue;
    }
    int depth = 0;
    for (size_t i = 0; i < at; ++i) {
      if (text[i] == '(') ++depth;
      if (text[i] == ')' && depth > 0) --depth;
    }
    std::string first = m[1].str();
    std::string last = m[3].matched ? m[3].str() : first;
    // A reference narrowed in words ("E08-E13 with .42") names only some codes: not applied.
    bool qualified = text.compare(at + m.length(0), 6, " with ") == 0;
    if ((depth > 0 || absl::StrContains(first, '.') || m[2].matched) && !qualified) {
      out.emplace_back(undotted(first), undotted(last));
    }
    pos = at + m.length(0);
  }
  return out;
}

bool Covered(const std::vector<std::pair<std::string, std::string>>& ranges,
             const std::string& code) {
  for (const auto& [first, last] : ranges) {
    if (code.substr(0, first.size()) >= first && code.substr(0, last.size()) <= last) return true;
  }
  return false;
}

}  // namespace

void ClaimLineGenerator::AddTabular(const std::string& effective,
                                    const std::vector<v1::Concept>& concepts) {
  TabularRelease t;
  t.effective = effective;
  for (const v1::Concept& c : concepts) {
    TabularEntry& e = t.entries[c.code()];
    e.parent = c.parent();
    e.group = absl::StrContains(c.code(), '-');
    e.leaf = c.kind() == v1::CONCEPT_KIND_CODE;
    for (const auto& [name, value] : c.properties()) {
      if (absl::StartsWith(name, "7th:")) e.defines_seventh = true;
      if (name == "excludes1" || name == "codeFirst" || name == "useAdditionalCode") {
        for (absl::string_view text : absl::StrSplit(value, '\n')) {
          e.notes.emplace_back(name, std::string(text));
        }
      }
    }
  }
  tabulars_.push_back(std::move(t));
  std::sort(tabulars_.begin(), tabulars_.end(),
            [](const TabularRelease& a, const TabularRelease& b) { return a.effective < b.effective; });
}

std::vector<const ClaimLineGenerator::TabularEntry*> ClaimLineGenerator::TabularChain(
    const std::string& code, const std::string& date, bool* exact) const {
  std::vector<const TabularEntry*> chain;
  const Release* rel = InForce("ICD10CM", date);
  const TabularRelease* tab = nullptr;
  for (const TabularRelease& t : tabulars_) {
    if (rel != nullptr && t.effective <= rel->effective) tab = &t;
  }
  if (tab == nullptr) return chain;
  std::string key = code;
  while (key.size() >= 3 && !tab->entries.count(key)) key.pop_back();
  if (key.size() < 3) return chain;
  *exact = code.find_first_not_of('X', key.size()) == std::string::npos;
  while (chain.size() < 16) {
    auto it = tab->entries.find(key);
    if (it == tab->entries.end()) break;
    chain.push_back(&it->second);
    if (it->second.parent.empty()) break;
    key = it->second.parent;
  }
  return chain;
}

void ClaimLineGenerator::AddRelease(const std::string& system, const std::string& effective,
                                    const std::vector<v1::Concept>& concepts) {
  Release r;
  r.effective = effective;
  for (const v1::Concept& c : concepts) {
    Entry e;
    e.modifier = c.kind() == v1::CONCEPT_KIND_MODIFIER;
    e.header = c.kind() == v1::CONCEPT_KIND_HEADER;
    e.billable = c.billable();
    e.manifestation = absl::StrContains(absl::AsciiStrToLower(c.display()), "classified elsewhere");
    e.added = c.added_date();
    e.terminated = c.termination_date();
    r.codes[c.code()] = e;
    (e.modifier ? r.modifiers : r.list).push_back(c.code());
  }
  auto& list = systems_[system];
  list.push_back(std::move(r));
  std::sort(list.begin(), list.end(),
            [](const Release& a, const Release& b) { return a.effective < b.effective; });
}

const ClaimLineGenerator::Release* ClaimLineGenerator::InForce(const std::string& system,
                                                               const std::string& date) const {
  auto it = systems_.find(system);
  if (it == systems_.end()) return nullptr;
  const Release* best = nullptr;
  for (const Release& r : it->second) {
    if (r.effective <= date) best = &r;
  }
  return best;
}

std::string ClaimLineGenerator::Check(const std::string& system, const std::string& code,
                                      const std::string& date, bool procedure) const {
  const Release* rel = InForce(system, date);
  if (rel == nullptr) return "NO_RELEASE";
  auto c = rel->codes.find(code);
  if (c == rel->codes.end()) {
    bool earlier = false, later = false;
    for (const Release& r : systems_.at(system)) {
      if (!r.codes.count(code)) continue;
      earlier |= r.effective < rel->effective;
      later |= r.effective > rel->effective;
    }
    return earlier ? "DELETED" : later ? "NOT_YET_EFFECTIVE" : "UNKNOWN_CODE";
  }
  const Entry& e = c->second;
  if (procedure && e.modifier) return "WRONG_KIND";
  if (!e.terminated.empty() && date > e.terminated) return "TERMINATED";
  if (!e.added.empty() && date < e.added) return "NOT_YET_EFFECTIVE";
  if (e.header || (!e.modifier && !e.billable)) return "NOT_BILLABLE";
  return "";
}

bool ClaimLineGenerator::ModifierValid(const std::string& system, const std::string& modifier,
                                       const std::string& date) const {
  for (const std::string& s : {system, Sibling(system)}) {
    const Release* rel = InForce(s, date);
    if (rel == nullptr) continue;
    auto c = rel->codes.find(modifier);
    if (c == rel->codes.end() || !c->second.modifier) continue;
    if (!c->second.terminated.empty() && date > c->second.terminated) continue;
    if (!c->second.added.empty() && date < c->second.added) continue;
    return true;
  }
  return false;
}

std::vector<std::string> ClaimLineGenerator::Expected(const v1::ClaimLine& line) const {
  std::vector<std::string> out;
  const std::string& date = line.date_of_service();
  const std::string& code = line.procedure_code();
  std::string system = line.procedure_system();
  if (system.empty()) system = (code[0] >= '0' && code[0] <= '9') ? "CPT" : "HCPCS";
  std::string p = Check(system, code, date, /*procedure=*/true);
  if (!p.empty()) out.push_back(absl::StrCat("procedure:", code, ":", p));
  for (const std::string& m : line.modifiers()) {
    if (!ModifierValid(system, m, date)) out.push_back(absl::StrCat("modifier:", m, ":UNKNOWN_MODIFIER"));
  }
  if (line.units() < 0 || line.units() > 9999) out.push_back("units::INVALID_UNITS");
  if (line.diagnosis_codes().empty()) out.push_back("diagnosis::MISSING_DIAGNOSIS");
  // Diagnoses: each one's own answer, then the Tabular's notes across them.
  struct Dx {
    const std::string* given;
    bool first, manifestation;
    std::vector<const TabularEntry*> chain;
  };
  std::vector<Dx> dxs;
  for (int k = 0; k < line.diagnosis_codes_size(); ++k) {
    const std::string& dx = line.diagnosis_codes(k);
    std::string d = Check("ICD10CM", dx, date, /*procedure=*/false);
    bool present = d.empty() || d == "NOT_BILLABLE";  // ICD-10-CM codes have no dates
    bool exact = false;
    std::vector<const TabularEntry*> chain;
    if (present) chain = TabularChain(dx, date, &exact);
    if (d == "NOT_BILLABLE" && !chain.empty() && exact && chain[0]->leaf && dx.size() < 7 &&
        std::any_of(chain.begin(), chain.end(),
                    [](const TabularEntry* e) { return e->defines_seventh; })) {
      d = "MISSING_SEVENTH_CHARACTER";
    }
    if (!d.empty()) out.push_back(absl::StrCat("diagnosis:", dx, ":", d));
    if (!chain.empty()) {
      const Release* rel = InForce("ICD10CM", date);
      dxs.push_back({&dx, k == 0, rel->codes.at(dx).manifestation, std::move(chain)});
    }
  }
  auto notes = [](const Dx& d, const char* kind, bool codes_only = false) {
    std::vector<std::string> texts;
    for (const TabularEntry* e : d.chain) {
      if (codes_only && e->group) continue;
      for (const auto& [k, text] : e->notes) {
        if (k == kind) texts.push_back(text);
      }
    }
    return texts;
  };
  for (const Dx& d : dxs) {
    for (const Dx& other : dxs) {
      if (&other == &d) continue;
      for (const std::string& text : notes(d, "excludes1")) {
        if (Covered(NoteRanges(text), *other.given)) {
          out.push_back(absl::StrCat("diagnosis:", *d.given, ":EXCLUDES1"));
          break;
        }
      }
    }
    if (d.first && !notes(d, "codeFirst").empty()) {
      out.push_back(absl::StrCat("diagnosis:", *d.given, ":CODE_FIRST",
                                 d.manifestation ? "" : "(advisory)"));
    }
    std::vector<std::pair<std::string, std::string>> additional;
    for (const std::string& text : notes(d, "useAdditionalCode", /*codes_only=*/true)) {
      for (const auto& r : NoteRanges(text)) additional.push_back(r);
    }
    bool present = false;
    for (const Dx& other : dxs) present |= &other != &d && Covered(additional, *other.given);
    if (!additional.empty() && !present) {
      out.push_back(absl::StrCat("diagnosis:", *d.given, ":USE_ADDITIONAL_CODE(advisory)"));
    }
  }
  return out;
}

bool ClaimLineGenerator::Valid(const std::vector<std::string>& issues) {
  return std::all_of(issues.begin(), issues.end(), [](const std::string& i) {
    return absl::EndsWith(i, "(advisory)");
  });
}


std::vector<std::string> ClaimLineGenerator::Issues(const v1::ClaimLineResult& result) {
  std::vector<std::string> out;
  for (const v1::ClaimIssue& i : result.issues()) {
    std::string kind = v1::ClaimIssueKind_Name(i.kind());
    out.push_back(absl::StrCat(i.field(), ":", i.code(), ":",
                               kind.substr(std::string("CLAIM_ISSUE_KIND_").size()),
                               i.advisory() ? "(advisory)" : ""));
  }
  return out;
}

std::vector<v1::ClaimLine> ClaimLineGenerator::Generate(int n, uint32_t seed,
                                                        const std::string& from,
                                                        const std::string& to) const {
  std::mt19937 rng(seed);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto chance = [&](int percent) { return uniform(1, 100) <= percent; };
  absl::CivilDay first, last;
  absl::ParseCivilTime(from, &first);
  absl::ParseCivilTime(to, &last);
  const int days = static_cast<int>(last - first);
  // Every code any release of a system ever had: drawing from them gives deleted and
  // not-yet-effective codes as well as current ones.
  auto any_code = [&](const std::string& system, bool modifiers) -> std::string {
    const auto& releases = systems_.at(system);
    const Release& r = releases[uniform(0, static_cast<int>(releases.size()) - 1)];
    const auto& pool = modifiers ? r.modifiers : r.list;
    return pool.empty() ? "ZZ" : pool[uniform(0, static_cast<int>(pool.size()) - 1)];
  };
  auto current_code = [&](const std::string& system, const std::string& date) -> std::string {
    const Release* r = InForce(system, date);
    if (r == nullptr || r->list.empty()) return any_code(system, false);
    return r->list[uniform(0, static_cast<int>(r->list.size()) - 1)];
  };
  // Codes missing from at least one release: added, deleted or both at some point.
  std::map<std::string, std::vector<std::string>> churn;
  for (const auto& [system, releases] : systems_) {
    std::map<std::string, size_t> count;
    for (const Release& r : releases) {
      for (const std::string& c : r.list) ++count[c];
    }
    for (const auto& [code, k] : count) {
      if (k < releases.size()) churn[system].push_back(code);
    }
  }
  auto churned = [&](const std::string& system) -> std::string {
    const auto& pool = churn[system];
    return pool.empty() ? any_code(system, false) : pool[uniform(0, static_cast<int>(pool.size()) - 1)];
  };
  std::vector<v1::ClaimLine> lines;
  lines.reserve(n);
  for (int i = 0; i < n; ++i) {
    v1::ClaimLine& l = lines.emplace_back();
    l.set_line_id(absl::StrCat(i + 1));
    std::string date = absl::FormatCivilTime(first + uniform(0, days));
    l.set_date_of_service(date);
    std::string system = systems_.count("CPT") && chance(30) ? "CPT" : "HCPCS";
    int kind = uniform(1, 100);
    if (kind <= 60) {
      l.set_procedure_code(current_code(system, date));
    } else if (kind <= 75) {
      l.set_procedure_code(any_code(system, false));
    } else if (kind <= 90) {
      l.set_procedure_code(churned(system));
    } else if (kind <= 95) {
      l.set_procedure_code(any_code(system, true));  // a modifier where a code belongs
    } else {
      l.set_procedure_code(system == "CPT" ? "99999" : "Z9999");  // never a code
    }
    int modifiers = chance(60) ? 0 : chance(75) ? 1 : 2;
    for (int m = 0; m < modifiers; ++m) {
      l.add_modifiers(chance(10) ? "ZZ" : any_code(chance(80) ? system : Sibling(system), true));
    }
    int units = uniform(1, 4);
    if (chance(2)) units = 0;
    if (chance(2)) units = 10000;
    l.set_units(units);
    if (!chance(3)) {
      int dx = uniform(1, 3);
      for (int d = 0; d < dx; ++d) {
        int k = uniform(1, 100);
        l.add_diagnosis_codes(k <= 70   ? current_code("ICD10CM", date)
                              : k <= 80 ? any_code("ICD10CM", false)
                              : k <= 97 ? churned("ICD10CM")
                                        : "A00Z");  // never a code
      }
    }
  }
  return lines;
}

}  // namespace codebook::testing
