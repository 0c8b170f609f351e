#include "server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <algorithm>
#include <atomic>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "fhir/fhir_service.h"
#include "replica/follower.h"
#include "server/gauges.h"
#include "server/http_port.h"
#include "server/http_routes.h"
#include "server/json_api.h"
#include "service/code_systems.h"
#include "service/grpc_services.h"
#include "service/memory_releaser.h"
#include "service/metrics.h"
#include "service/observing.h"
#include "storage/store.h"

namespace codebook::server {
namespace {

// The transport security the options ask for: TLS (mutual when tls_client_ca is given) or, only
// when `plaintext` says so, none.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsOf(const Options& o) {
  const bool tls = !o.tls_cert.empty() || !o.tls_key.empty() || !o.tls_client_ca.empty();
  if (o.plaintext) {
    if (tls) return absl::InvalidArgumentError("--plaintext cannot go with --tls_* flags");
    return grpc::InsecureServerCredentials();
  }
  if (!tls) {
    return absl::InvalidArgumentError(
        "give --tls_cert and --tls_key to serve over TLS (and --tls_client_ca to require client "
        "certificates), or --plaintext to serve without encryption");
  }
  if (o.tls_cert.empty() || o.tls_key.empty()) {
    return absl::InvalidArgumentError("TLS needs both --tls_cert and --tls_key");
  }
  grpc::SslServerCredentialsOptions options(
      o.tls_client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                              : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  absl::StatusOr<std::string> cert_pem = ReadWholeFile(o.tls_cert);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem = ReadWholeFile(o.tls_key);
  if (!key_pem.ok()) return key_pem.status();
  options.pem_key_cert_pairs.push_back({*key_pem, *cert_pem});
  if (!o.tls_client_ca.empty()) {
    absl::StatusOr<std::string> ca_pem = ReadWholeFile(o.tls_client_ca);
    if (!ca_pem.ok()) return ca_pem.status();
    options.pem_root_certs = *ca_pem;
  }
  return grpc::SslServerCredentials(options);
}

// Every method the server serves, as "/package.Service/Method", for the call metrics.
std::vector<std::string> ServedMethods() {
  std::vector<std::string> methods;
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const char* service : {"codebook.v1.Terminology", "codebook.v1.ReleaseAdmin"}) {
    const google::protobuf::ServiceDescriptor* d = pool->FindServiceByName(service);
    for (int i = 0; d != nullptr && i < d->method_count(); ++i) {
      methods.push_back(absl::StrCat("/", service, "/", d->method(i)->name()));
    }
  }
  for (const char* m : {"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch",
                        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"}) {
    methods.push_back(m);
  }
  return methods;
}

std::string HostOf(const std::string& listen) { return listen.substr(0, listen.rfind(':')); }

}  // namespace

std::vector<std::string> CheckOptions(const Options& o) {
  std::vector<std::string> problems;
  for (const auto& [name, value] : {std::pair<const char*, std::string>{"--listen", o.listen},
                                    {"--metrics_listen", o.metrics_listen},
                                    {"--health_listen", o.health_listen},
                                    {"--fhir_listen", o.fhir_listen}}) {
    if (!value.empty() && !SplitHostPort(value).ok()) {
      problems.push_back(absl::StrCat(name, "=", value, " is not HOST:PORT"));
    }
  }
  if (o.listen.empty()) problems.push_back("--listen is empty");
  const bool tls = !o.tls_cert.empty() || !o.tls_key.empty();
  if (o.plaintext == tls) {
    problems.push_back(tls ? "--plaintext cannot go with --tls_* flags"
                           : "give --tls_cert and --tls_key, or --plaintext");
  }
  if (tls && (o.tls_cert.empty() || o.tls_key.empty())) {
    problems.push_back("TLS needs both --tls_cert and --tls_key");
  }
  if (o.reads_need_token && o.tokens_file.empty()) {
    problems.push_back("--reads_need_token needs --tokens");
  }
  if (o.follow.empty() &&
      (!o.follow_tls_ca.empty() || !o.follow_tls_cert.empty() || !o.follow_token.empty())) {
    problems.push_back("--follow_tls_* and --follow_token_file need --follow");
  }
  if (o.max_streams < 1) problems.push_back("--max_streams must be at least 1");
  if (o.max_message_bytes < (1 << 20)) problems.push_back("--max_message_mb must be at least 1");
  return problems;
}

// Everything a running server holds, in construction order (destroyed in reverse).
struct Server::Parts {
  Options options;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<service::Authorizer> auth;
  service::Clock clock = [] { return absl::Now(); };
  std::unique_ptr<service::TerminologyImpl> terminology;
  std::unique_ptr<service::ReleaseAdminImpl> admin;
  std::unique_ptr<service::ReleaseAdminImpl> follower_admin;  // outlives the follower
  std::unique_ptr<service::StreamLimit> streams;
  std::unique_ptr<service::TerminologyHandler> terminology_handler;
  std::unique_ptr<service::ReleaseAdminHandler> admin_handler;
  std::unique_ptr<service::CallMetrics> metrics;
  std::unique_ptr<service::AccessLog> access_log;
  std::unique_ptr<grpc::Server> grpc_server;
  std::unique_ptr<grpc::Server> health_server;
  std::unique_ptr<replica::Follower> follower;
  std::unique_ptr<service::MemoryReleaser> memory_releaser;
  std::unique_ptr<fhir::FhirService> fhir;
  std::unique_ptr<HttpPort> fhir_port;
  std::unique_ptr<HttpPort> metrics_port;
  std::atomic<bool> serving{false};
  Ports ports;
  bool stopped = false;

  absl::Status Build();
  absl::Status StartGrpc(const std::shared_ptr<grpc::ServerCredentials>& credentials);
  absl::Status StartHealthPort();
  void StartFollower(std::shared_ptr<grpc::ChannelCredentials> credentials);
  absl::Status StartHttpPorts();
  void SetHealth(const std::string& service, bool serving);
  void Stop();
};

absl::Status Server::Parts::Build() {
  const Options& o = options;
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials = ServerCredentialsOf(o);
  if (!credentials.ok()) return credentials.status();
  std::shared_ptr<grpc::ChannelCredentials> follow_credentials;
  if (!o.follow_tls_ca.empty() || !o.follow_tls_cert.empty()) {
    auto c = TlsChannelCredentials(o.follow_tls_ca, o.follow_tls_cert, o.follow_tls_key);
    if (!c.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--follow_tls_*: ", c.status().message()));
    }
    follow_credentials = *std::move(c);
  }
  if (!o.tokens_file.empty()) {
    auto loaded = service::Authorizer::Load(o.tokens_file, o.reads_need_token);
    if (!loaded.ok()) return loaded.status();
    auth = *std::move(loaded);
  } else if (o.reads_need_token) {
    return absl::InvalidArgumentError("--reads_need_token needs --tokens");
  }
  if (!o.access_log.empty()) {
    auto opened = service::AccessLog::Open(o.access_log);
    if (!opened.ok()) return opened.status();
    access_log = *std::move(opened);
  }
  storage::StoreOptions store_options;
  store_options.view_cache_bytes = o.view_cache_bytes;
  auto opened = storage::Store::Open(o.db_path, store_options);
  if (!opened.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot open database: ", opened.status().message()));
  }
  store = *std::move(opened);
  terminology = std::make_unique<service::TerminologyImpl>(store.get(), clock, o.server_version);
  admin = std::make_unique<service::ReleaseAdminImpl>(store.get(), clock);
  follower_admin = std::make_unique<service::ReleaseAdminImpl>(store.get(), clock);
  streams = std::make_unique<service::StreamLimit>(std::max(1, o.max_streams));
  terminology_handler =
      std::make_unique<service::TerminologyHandler>(terminology.get(), auth.get(), streams.get());
  if (!o.follow.empty()) {
    admin->SetReadOnly("this server is a read replica of " + o.follow +
                       "; send admin calls to the primary");
  }
  admin_handler =
      std::make_unique<service::ReleaseAdminHandler>(admin.get(), auth.get(), streams.get());
  // Publishes and retractions wake the open WatchReleases streams.
  service::TerminologyHandler* handler = terminology_handler.get();
  store->SetEventListener(
      [handler](const std::string& system) { handler->NotifyReleaseEvent(system); });
  metrics = std::make_unique<service::CallMetrics>(ServedMethods());
  if (absl::Status s = StartGrpc(*credentials); !s.ok()) return s;
  if (absl::Status s = StartHealthPort(); !s.ok()) return s;
  SetHealth("codebook.v1.Terminology", true);
  SetHealth("codebook.v1.ReleaseAdmin", true);
  StartFollower(std::move(follow_credentials));
  storage::Store* store_ptr = store.get();
  metrics->AddSource([store_ptr](std::string* out) { AppendStoreGauges(*store_ptr, out); });
  if (follower) {
    replica::Follower* f = follower.get();
    metrics->AddSource([f](std::string* out) { AppendReplicaGauges(*f, out); });
  }
  // Imports free hundreds of megabytes on many threads: hand them back once the work is over.
  memory_releaser = std::make_unique<service::MemoryReleaser>(
      [store_ptr] { return store_ptr->work_generation(); }, absl::Seconds(1));
  serving = true;
  return StartHttpPorts();
}

absl::Status Server::Parts::StartGrpc(const std::shared_ptr<grpc::ServerCredentials>& credentials) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, credentials, &ports.grpc);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  // Batch answers run to hundreds of KB: larger HTTP/2 frames and windows move them in fewer
  // pieces and without waiting for window updates.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_FRAME_SIZE, 1 << 20);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 4 << 20);
  builder.RegisterService(terminology_handler.get());
  builder.RegisterService(admin_handler.get());
  // Every call is counted and, with an access log, logged.
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> observers;
  const service::Authorizer* authorizer = auth.get();
  observers.push_back(std::make_unique<service::ObservingInterceptorFactory>(
      metrics.get(), access_log.get(), [authorizer](const grpc::ServerContextBase& ctx) {
        return service::CallerName(authorizer, ctx);
      }));
  builder.experimental().SetInterceptorCreators(std::move(observers));
  grpc_server = builder.BuildAndStart();
  if (grpc_server == nullptr || ports.grpc == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  return absl::OkStatus();
}

// With health_listen, a second gRPC server on a plaintext port with nothing but the health
// service; every status is set on both.
absl::Status Server::Parts::StartHealthPort() {
  if (options.health_listen.empty()) return absl::OkStatus();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.health_listen, grpc::InsecureServerCredentials(), &ports.health);
  health_server = builder.BuildAndStart();
  if (health_server == nullptr || ports.health == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on --health_listen=", options.health_listen));
  }
  std::cerr << "codebookd: health checks (plaintext) on port " << ports.health << std::endl;
  return absl::OkStatus();
}

void Server::Parts::SetHealth(const std::string& service, bool is_serving) {
  grpc_server->GetHealthCheckService()->SetServingStatus(service, is_serving);
  if (health_server) health_server->GetHealthCheckService()->SetServingStatus(service, is_serving);
}

void Server::Parts::StartFollower(std::shared_ptr<grpc::ChannelCredentials> credentials) {
  if (options.follow.empty()) return;
  SetHealth("codebook.v1.Replica", false);
  const std::string primary = options.follow;
  follower = std::make_unique<replica::Follower>(
      primary, terminology.get(), follower_admin.get(),
      [this, primary](bool in_sync) {
        SetHealth("codebook.v1.Replica", in_sync);
        std::cerr << "codebookd: replica of " << primary << " is "
                  << (in_sync ? "in sync" : "catching up") << std::endl;
      },
      std::move(credentials), options.follow_token);
  follower->Start();
}

absl::Status Server::Parts::StartHttpPorts() {
  if (!options.metrics_listen.empty()) {
    HttpPortOptions http;
    http.threads = 4;
    http.max_body_bytes = 8192;
    // A scrape endpoint, as before: each connection is closed after its answer, so that a
    // client that reads to the end of the stream is not held by keep-alive.
    http.keep_alive_max_requests = 1;
    http.only_get = true;
    absl::StatusOr<std::unique_ptr<HttpPort>> port = HttpPort::Create(http);
    if (!port.ok()) return port.status();
    metrics_port = *std::move(port);
    service::CallMetrics* m = metrics.get();
    AddMetricsRoutes(
        metrics_port->routes(), [m] { return m->Render(); }, [this] { return serving.load(); });
    absl::StatusOr<int> bound = metrics_port->Start(options.metrics_listen);
    if (!bound.ok()) {
      return absl::Status(bound.status().code(),
                          absl::StrCat("--metrics_listen: ", bound.status().message()));
    }
    ports.metrics = *bound;
    std::cerr << "codebookd: metrics on http://" << HostOf(options.metrics_listen) << ":"
              << ports.metrics << "/metrics" << std::endl;
  }
  if (!options.fhir_listen.empty()) {
    HttpPortOptions http;
    if (!options.plaintext) {
      http.tls_cert = options.tls_cert;
      http.tls_key = options.tls_key;
      http.tls_client_ca = options.tls_client_ca;
    }
    http.threads = options.fhir_threads;
    http.max_body_bytes = options.fhir_max_body_bytes;
    absl::StatusOr<std::unique_ptr<HttpPort>> port = HttpPort::Create(http);
    if (!port.ok()) return port.status();
    fhir_port = *std::move(port);
    fhir = std::make_unique<fhir::FhirService>(terminology.get(), auth.get());
    AddFhirRoutes(fhir_port->routes(), fhir.get(), options.fhir_max_body_bytes);
    // The gRPC API in JSON beside FHIR, through the gRPC services themselves (server/json_api.h).
    grpc::ChannelArguments in_process;
    in_process.SetMaxReceiveMessageSize(options.max_message_bytes);
    AddJsonApiRoutes(fhir_port->routes(), grpc_server->InProcessChannel(in_process));
    AddWebRoutes(fhir_port->routes());
    absl::StatusOr<int> bound = fhir_port->Start(options.fhir_listen);
    if (!bound.ok()) {
      return absl::Status(bound.status().code(),
                          absl::StrCat("--fhir_listen: ", bound.status().message()));
    }
    ports.fhir = *bound;
    std::cerr << "codebookd: FHIR R4 terminology on " << (options.plaintext ? "http" : "https")
              << "://" << HostOf(options.fhir_listen) << ":" << ports.fhir << "/fhir" << std::endl;
  }
  return absl::OkStatus();
}

void Server::Parts::Stop() {
  if (stopped) return;
  stopped = true;
  serving = false;
  if (follower) follower->Stop();
  if (fhir_port) fhir_port->Stop();
  if (grpc_server) {
    grpc_server->GetHealthCheckService()->Shutdown();
    if (health_server) health_server->GetHealthCheckService()->Shutdown();
    grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc_server->Wait();
  }
  if (health_server) {
    health_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    health_server->Wait();
  }
  if (metrics_port) metrics_port->Stop();
  if (store) store->SetEventListener(nullptr);
  memory_releaser.reset();
  follower.reset();
  fhir.reset();
  store.reset();
}

Server::Server(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Server::~Server() { Shutdown(); }

absl::StatusOr<std::unique_ptr<Server>> Server::BuildAndStart(const Options& options) {
  auto parts = std::make_unique<Parts>();
  parts->options = options;
  if (absl::Status s = parts->Build(); !s.ok()) {
    parts->Stop();
    return s;
  }
  return std::unique_ptr<Server>(new Server(std::move(parts)));
}

Server::Ports Server::ports() const { return parts_->ports; }
storage::Store* Server::store() const { return parts_->store.get(); }

int Server::release_count() const {
  int releases = 0;
  auto catalog = parts_->store->catalog();
  for (const service::CodeSystemInfo* s : service::AllSystems(*catalog)) {
    releases += static_cast<int>(catalog->Releases(s->id).size());
  }
  return releases;
}

absl::Status Server::ReloadTokens() {
  if (!parts_->auth) return absl::FailedPreconditionError("no tokens file to reload");
  return parts_->auth->Reload();
}

size_t Server::token_count() const { return parts_->auth ? parts_->auth->size() : 0; }

void Server::Shutdown() { parts_->Stop(); }

}  // namespace codebook::server
