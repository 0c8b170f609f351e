#include "server/json_api.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/client_context.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/client_callback.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/http_port.h"
#include "server/http_routes.h"
#include "service/grpc_services.h"

namespace codebook::server {
namespace {

using google::protobuf::Message;
using google::protobuf::MethodDescriptor;

// The largest answer gathered from a streaming method (its messages as JSON): a caller that wants
// more (a whole release's export) uses gRPC.
constexpr size_t kMaxAnswerBytes = size_t{64} << 20;

int HttpStatusOf(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::CANCELLED:
      return 499;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    default:
      return 500;
  }
}

void SendError(httplib::Response& res, grpc::StatusCode code, const std::string& message) {
  const int c = static_cast<int>(code);
  // gRPC's codes are absl's, number for number.
  nlohmann::json body = {{"code", c},
                         {"status", absl::StatusCodeToString(static_cast<absl::StatusCode>(c))},
                         {"message", message}};
  res.status = HttpStatusOf(code);
  res.set_content(body.dump(), "application/json");
}

// One call of a gRPC method through the generic stub: the request written as the only message,
// every answer message read until the server ends the call. Blocks in Await.
class Call : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  Call(grpc::GenericStub* stub, grpc::ClientContext* context, const std::string& method,
       const std::string& request)
      : context_(context) {
    grpc::Slice slice(request);
    request_ = grpc::ByteBuffer(&slice, 1);
    stub->PrepareBidiStreamingCall(context, method, grpc::StubOptions(), this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&response_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    std::vector<grpc::Slice> slices;
    std::string bytes;
    if (response_.Dump(&slices).ok()) {
      for (const grpc::Slice& s : slices) {
        bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
    }
    received_bytes_ += bytes.size();
    answers_.push_back(std::move(bytes));
    response_.Clear();
    if (received_bytes_ > kMaxAnswerBytes) {
      too_large_ = true;
      context_->TryCancel();
      return;
    }
    StartRead(&response_);
  }

  void OnDone(const grpc::Status& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = status;
    done_ = true;
    cv_.notify_all();
  }

  // The call's status once it has ended; its answers (serialized messages) in *answers.
  grpc::Status Await(std::vector<std::string>* answers) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done_; });
    if (too_large_) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          absl::StrCat("the answer is over ", kMaxAnswerBytes >> 20,
                                       " MiB: call this method over gRPC"));
    }
    *answers = std::move(answers_);
    return status_;
  }

 private:
  grpc::ClientContext* context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  std::vector<std::string> answers_;
  size_t received_bytes_ = 0;
  bool too_large_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  grpc::Status status_;
};

}  // namespace

void AddJsonApiRoutes(httplib::Server& routes, std::shared_ptr<grpc::Channel> channel,
                      int deadline_seconds) {
  auto stub = std::make_shared<grpc::GenericStub>(channel);
  auto handler = [stub, deadline_seconds](const httplib::Request& req, httplib::Response& res) {
    if (req.method != "POST") {
      res.set_header("Allow", "POST");
      SendError(res, grpc::StatusCode::UNIMPLEMENTED,
                "the JSON API takes POST, with the request message as a JSON body");
      res.status = 405;
      return;
    }
    // Only JSON: a page of another site can POST a form or text/plain here without asking,
    // but not application/json, which needs a CORS preflight this port never grants.
    if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
      SendError(res, grpc::StatusCode::INVALID_ARGUMENT,
                "send the request message with Content-Type: application/json");
      res.status = 415;
      return;
    }
    // "/api/v1/codebook.v1.Terminology/Search" -> service and method.
    const std::string full = req.matches[1];
    const size_t slash = full.find('/');
    const google::protobuf::ServiceDescriptor* service =
        slash == std::string::npos
            ? nullptr
            : google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
                  full.substr(0, slash));
    const MethodDescriptor* method =
        service == nullptr ? nullptr : service->FindMethodByName(full.substr(slash + 1));
    if (method == nullptr) {
      SendError(res, grpc::StatusCode::NOT_FOUND,
                absl::StrCat("no method ", full,
                             "; methods are named as in the protos, such as "
                             "/api/v1/codebook.v1.Terminology/Lookup"));
      return;
    }
    if (method->client_streaming()) {
      SendError(res, grpc::StatusCode::UNIMPLEMENTED,
                absl::StrCat(full, " takes a stream of requests: call it over gRPC"));
      return;
    }
    google::protobuf::MessageFactory* factory =
        google::protobuf::MessageFactory::generated_factory();
    std::unique_ptr<Message> request(factory->GetPrototype(method->input_type())->New());
    google::protobuf::util::JsonParseOptions parse;
    if (auto s = google::protobuf::util::JsonStringToMessage(req.body.empty() ? "{}" : req.body,
                                                             request.get(), parse);
        !s.ok()) {
      SendError(res, grpc::StatusCode::INVALID_ARGUMENT,
                absl::StrCat("the body is not a ", method->input_type()->full_name(),
                             " in JSON: ", s.message().as_string()));
      return;
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(deadline_seconds));
    if (std::string auth = req.get_header_value("Authorization"); !auth.empty()) {
      context.AddMetadata("authorization", auth);
    }
    context.AddMetadata(service::kForwardKey, service::InProcessForwardKey());
    context.AddMetadata(service::kForwardedFor,
                        absl::StrCat(req.remote_addr, ":", req.remote_port));
    if (std::string cn = HttpPort::ClientCommonName(req); !cn.empty()) {
      context.AddMetadata(service::kForwardedCommonName, cn);
    }
    Call call(stub.get(), &context,
              absl::StrCat("/", method->service()->full_name(), "/", method->name()),
              request->SerializeAsString());
    std::vector<std::string> answers;
    grpc::Status status = call.Await(&answers);
    if (!status.ok()) {
      SendError(res, status.error_code(), status.error_message());
      return;
    }
    if (!method->server_streaming() && answers.size() != 1) {
      SendError(res, grpc::StatusCode::INTERNAL, "the method gave no answer");
      return;
    }
    const Message* prototype = factory->GetPrototype(method->output_type());
    google::protobuf::util::JsonPrintOptions print;
    std::string body = method->server_streaming() ? "[" : "";
    for (size_t i = 0; i < answers.size(); ++i) {
      std::unique_ptr<Message> answer(prototype->New());
      std::string json;
      if (!answer->ParseFromString(answers[i]) ||
          !google::protobuf::util::MessageToJsonString(*answer, &json, print).ok()) {
        SendError(res, grpc::StatusCode::INTERNAL, "an answer could not be turned into JSON");
        return;
      }
      if (i > 0) body += ",";
      body += json;
    }
    if (method->server_streaming()) body += "]";
    res.status = 200;
    res.set_content(body, "application/json");
  };
  RouteEveryMethod(routes, R"(/api/v1/([^?]+))", handler);
}

}  // namespace codebook::server
