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
#include <vector>

#include "codebook/v1/terminology.pb.h"

namespace codebook::testing {

class ClaimLineGenerator {
 public:
  // Adds one published release (concepts as the importers give them). Add each system's
  // releases in any order; none may be retracted.
  void AddRelease(const std::string& system, const std::string& effective,
                  const std::vector<v1::Concept>& concepts);
  // `n` lines with dates of service between `from` and `to` ("YYYY-MM-DD"), each with its
  // date set and line_id "1", "2", ...
  std::vector<v1::ClaimLine> Generate(int n, uint32_t seed, const std::string& from,
                                      const std::string& to) const;
  // The issues `line` must get, in the server's order, as "field:code:KIND" (KIND without the
  // CLAIM_ISSUE_KIND_ prefix); empty for a valid line.
  std::vector<std::string> Expected(const v1::ClaimLine& line) const;
  // The same form for a server's result.
  static std::vector<std::string> Issues(const v1::ClaimLineResult& result);

 private:
  struct Entry {
    bool modifier = false;
    bool billable = false;
    bool header = false;
    std::string added, terminated;
  };
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
};

}  // namespace codebook::testing

#endif  // CODEBOOK_TESTS_CLAIM_LINES_H_
