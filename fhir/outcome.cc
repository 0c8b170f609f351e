#include "fhir/outcome.h"

#include <optional>

#include "absl/strings/cord.h"

namespace codebook::fhir {

Json IssueJson(const Issue& issue) {
  Json j = Json::object();
  if (!issue.message_id.empty()) {
    j["extension"] = Json::array(
        {{{"url", "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id"},
          {"valueString", issue.message_id}}});
  }
  j["severity"] = issue.severity;
  j["code"] = issue.code;
  Json details = Json::object();
  if (!issue.tx_code.empty()) {
    details["coding"] =
        Json::array({{{"system", "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type"},
                      {"code", issue.tx_code}}});
  }
  details["text"] = issue.text;
  j["details"] = std::move(details);
  if (!issue.expression.empty()) {
    j["expression"] = Json::array({issue.expression});
  }
  return j;
}

Json OperationOutcome(const std::vector<Issue>& issues) {
  Json j = {{"resourceType", "OperationOutcome"}};
  Json list = Json::array();
  for (const Issue& i : issues) list.push_back(IssueJson(i));
  j["issue"] = std::move(list);
  return j;
}

namespace {
constexpr char kMessageIdPayload[] = "type.codebook.dev/fhir.message-id";
constexpr char kCodePayload[] = "type.codebook.dev/fhir.issue-code";
constexpr char kTxCodePayload[] = "type.codebook.dev/fhir.tx-issue-type";
constexpr char kExpressionPayload[] = "type.codebook.dev/fhir.expression";
}  // namespace

absl::Status WithIssue(absl::Status status, const std::string& message_id, const std::string& code,
                       const std::string& tx_code, const std::string& expression) {
  status.SetPayload(kCodePayload, absl::Cord(code));
  status.SetPayload(kTxCodePayload, absl::Cord(tx_code));
  if (!expression.empty()) status.SetPayload(kExpressionPayload, absl::Cord(expression));
  return WithMessageId(std::move(status), message_id);
}

absl::Status WithMessageId(absl::Status status, const std::string& message_id) {
  status.SetPayload(kMessageIdPayload, absl::Cord(message_id));
  return status;
}

Error ErrorFromStatus(const absl::Status& status) {
  Error e;
  e.issue.text = std::string(status.message());
  if (auto id = status.GetPayload(kMessageIdPayload); id.has_value()) {
    e.issue.message_id = std::string(*id);
  }
  auto code = status.GetPayload(kCodePayload);
  auto tx_code = status.GetPayload(kTxCodePayload);
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      e.http_status = 400;
      e.issue.code = "invalid";
      e.issue.tx_code = "invalid-data";
      break;
    case absl::StatusCode::kNotFound:
      e.http_status = 404;
      e.issue.code = "not-found";
      e.issue.tx_code = "not-found";
      break;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
      e.http_status = 422;
      e.issue.code = "business-rule";
      break;
    case absl::StatusCode::kPermissionDenied:
      e.http_status = 403;
      e.issue.code = "forbidden";
      break;
    case absl::StatusCode::kUnauthenticated:
      e.http_status = 401;
      e.issue.code = "login";
      break;
    case absl::StatusCode::kResourceExhausted:
      e.http_status = 429;
      e.issue.code = "throttled";
      break;
    case absl::StatusCode::kUnavailable:
      e.http_status = 503;
      e.issue.code = "transient";
      break;
    default:
      e.http_status = 500;
      e.issue.code = "exception";
      break;
  }
  if (code.has_value()) e.issue.code = std::string(*code);
  if (tx_code.has_value()) e.issue.tx_code = std::string(*tx_code);
  if (auto expression = status.GetPayload(kExpressionPayload); expression.has_value()) {
    e.issue.expression = std::string(*expression);
  }
  return e;
}

}  // namespace codebook::fhir
