#include "tests/claim_lines.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"

namespace codebook::testing {
namespace {

std::string Sibling(const std::string& system) {
  return system == "CPT" ? "HCPCS" : system == "HCPCS" ? "CPT" : "";
}

}  // namespace

void ClaimLineGenerator::AddRelease(const std::string& system, const std::string& effective,
                                    const std::vector<v1::Concept>& concepts) {
  Release r;
  r.effective = effective;
  for (const v1::Concept& c : concepts) {
    Entry e;
    e.modifier = c.kind() == v1::CONCEPT_KIND_MODIFIER;
    e.header = c.kind() == v1::CONCEPT_KIND_HEADER;
    e.billable = c.billable();
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
  for (const std::string& dx : line.diagnosis_codes()) {
    std::string d = Check("ICD10CM", dx, date, /*procedure=*/false);
    if (!d.empty()) out.push_back(absl::StrCat("diagnosis:", dx, ":", d));
  }
  return out;
}

std::vector<std::string> ClaimLineGenerator::Issues(const v1::ClaimLineResult& result) {
  std::vector<std::string> out;
  for (const v1::ClaimIssue& i : result.issues()) {
    std::string kind = v1::ClaimIssueKind_Name(i.kind());
    out.push_back(absl::StrCat(i.field(), ":", i.code(), ":",
                               kind.substr(std::string("CLAIM_ISSUE_KIND_").size())));
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
