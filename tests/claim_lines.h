// Claim lines for tests and the benchmark: generated from parsed releases, each with the answer
// it must get, computed here from the release contents alone (an oracle independent of the
// server's storage and domain code).
//
// Lines mix valid and invalid procedure codes (CPT or HCPCS), modifiers, units and ICD-10-CM
// diagnoses over a range of dates of service: codes in force, deleted, not yet effective,
// terminated, unknown, headers, modifiers used as procedures, unknown modifiers, dates before a
// system's first release. Deterministic for a seed.
#ifndef CODEBOOK_TESTS_CLAIM_LINES_H_
#define CODEBOOK_TESTS_CLAIM_LINES_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "codebook/v1/terminology.pb.h"

namespace codebook::testing {

class ClaimLineGenerator {
 public:
  // Adds one published release (concepts as the importers give them). Add each system's
  // releases in any order; none may be retracted.
  void AddRelease(const std::string& system, const std::string& effective,
                  const std::vector<v1::Concept>& concepts);
  // Adds one ICD-10-CM Tabular List (the ICD10CM-TABULAR concepts the importer gives), effective
  // with the ICD10CM release it is bound to: diagnoses are then also checked against its notes
  // (Excludes1, code first, use additional code, 7th characters), as the server does.
  void AddTabular(const std::string& effective, const std::vector<v1::Concept>& concepts);
  // `n` lines with dates of service between `from` and `to` ("YYYY-MM-DD"), each with its
  // date set and line_id "1", "2", ...
  std::vector<v1::ClaimLine> Generate(int n, uint32_t seed, const std::string& from,
                                      const std::string& to) const;
  // The issues `line` must get, in the server's order, as "field:code:KIND" (KIND without the
  // CLAIM_ISSUE_KIND_ prefix), "field:code:KIND(advisory)" for an advisory.
  std::vector<std::string> Expected(const v1::ClaimLine& line) const;
  // The same form for a server's result.
  static std::vector<std::string> Issues(const v1::ClaimLineResult& result);
  // True when every issue is an advisory: the line is valid.
  static bool Valid(const std::vector<std::string>& issues);

 private:
  struct Entry {
    bool modifier = false;
    bool billable = false;
    bool header = false;
    bool manifestation = false;  // "classified elsewhere" in the display
    std::string added, terminated;
  };
  // One entry of a Tabular: the notes the checks read, by element name, one text each.
  struct TabularEntry {
    std::string parent;
    bool group = false;  // a chapter or block
    bool leaf = false;
    bool defines_seventh = false;
    std::vector<std::pair<std::string, std::string>> notes;
  };
  struct TabularRelease {
    std::string effective;
    std::map<std::string, TabularEntry> entries;
  };
  // The Tabular entries that apply to `code` in the ICD-10-CM release in force on `date` (its
  // own entry or the nearest its code starts with, then each one above it); *exact when the
  // first is the code itself but for placeholder Xs.
  std::vector<const TabularEntry*> TabularChain(const std::string& code, const std::string& date,
                                                bool* exact) const;
  struct Release {
    std::string effective;
    std::map<std::string, Entry> codes;
    std::vector<std::string> list, modifiers;
  };
  const Release* InForce(const std::string& system, const std::string& date) const;
  // "" when valid, else the KIND name.
  std::string Check(const std::string& system, const std::string& code, const std::string& date,
                    bool procedure) const;
  bool ModifierValid(const std::string& system, const std::string& modifier,
                     const std::string& date) const;
  std::map<std::string, std::vector<Release>> systems_;  // by effective date once generated
  std::vector<TabularRelease> tabulars_;                 // by effective date
};

}  // namespace codebook::testing

#endif  // CODEBOOK_TESTS_CLAIM_LINES_H_
