// FHIR errors: OperationOutcome resources, and the one conversion of the domain's absl::Status
// into an HTTP status with an OperationOutcome.
//
// An issue carries what the HL7 terminology test suite and the HL7 validator read: its
// severity, its FHIR issue code (http://hl7.org/fhir/issue-type), a code of the tx-issue-type
// code system in details.coding (http://hl7.org/fhir/tools/CodeSystem/tx-issue-type), the text,
// a message id in the operationoutcome-message-id extension, and the FHIRPath expression of
// the input it is about (in issue.expression only: R4 deprecates issue.location for it).
#ifndef CODEBOOK_FHIR_OUTCOME_H_
#define CODEBOOK_FHIR_OUTCOME_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace codebook::fhir {

using Json = nlohmann::ordered_json;

struct Issue {
  std::string severity = "error";  // fatal | error | warning | information
  std::string code;                // FHIR issue type: invalid, not-found, code-invalid, ...
  std::string tx_code;             // tx-issue-type: invalid-code, not-found, ... ("" none)
  std::string text;
  std::string message_id;  // "" none
  std::string expression;  // "" none
};

Json IssueJson(const Issue& issue);
Json OperationOutcome(const std::vector<Issue>& issues);

// An error answer: the HTTP status and the outcome's issue.
struct Error {
  int http_status = 400;
  Issue issue;
};

// `status` carrying the message id its issue should have (a payload of the status), for errors
// the FHIR layer words itself in the HL7 validator's terms.
absl::Status WithMessageId(absl::Status status, const std::string& message_id);
// The same with the issue's FHIR code and tx-issue-type code instead of the status's own, and
// the FHIRPath expression of what it is about ("" none).
absl::Status WithIssue(absl::Status status, const std::string& message_id, const std::string& code,
                       const std::string& tx_code, const std::string& expression = "");

// The domain's status as FHIR sees it: INVALID_ARGUMENT 400 invalid, NOT_FOUND 404 not-found,
// FAILED_PRECONDITION 422 business-rule, PERMISSION_DENIED 403 forbidden, UNAUTHENTICATED 401
// login, RESOURCE_EXHAUSTED 429 throttled, UNAVAILABLE 503 transient, others 500 exception.
// A message id set by WithMessageId becomes the issue's.
Error ErrorFromStatus(const absl::Status& status);

}  // namespace codebook::fhir

#endif  // CODEBOOK_FHIR_OUTCOME_H_
