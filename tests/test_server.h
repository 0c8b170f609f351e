// TestServer: runs a real codebookd process on a fresh RocksDB folder in a temporary directory,
// on a free loopback port, for integration tests. Stops it (SIGTERM, then SIGKILL after 10 s)
// and removes the folder when destroyed.
#ifndef CODEBOOK_TESTS_TEST_SERVER_H_
#define CODEBOOK_TESTS_TEST_SERVER_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iterator>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/generic/generic_stub.h>

#include "client/client.h"
#include "importers/importers.h"

namespace codebook::testing {

// What the test binaries are built with (tests/CMakeLists.txt).
inline const std::string kSample = CODEBOOK_SAMPLE_DIR;  // the repo's sample releases
inline const std::string kCodebookd = CODEBOOKD_PATH;    // the server binary
inline const std::string kCli = CODEBOOK_CLI_PATH;       // the codebook CLI

class TestServer {
 public:
  // Starts a server on a new database. `dir` reuses an existing folder instead (restart tests).
  // `extra_args` are added to codebookd's command line (e.g. --follow=...); --plaintext is
  // added unless they include a --tls_* flag.
  explicit TestServer(std::string dir = "", std::vector<std::string> extra_args = {})
      : owns_dir_(dir.empty()), extra_args_(std::move(extra_args)) {
    if (owns_dir_) {
      char tmpl[] = "/tmp/codebook-it-XXXXXX";
      dir = mkdtemp(tmpl);
    }
    dir_ = dir;
    StartProcess();
  }
  ~TestServer() {
    Stop();
    if (owns_dir_) std::filesystem::remove_all(dir_);
  }

  // Restarts on the same database; the port may change.
  void Restart() {
    Stop();
    StartProcess();
  }

  // Sends SIGTERM and waits; returns the exit status (-1 if it had to be killed).
  int Stop() {
    if (pid_ <= 0) return exit_status_;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 1000; ++i) {
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return exit_status_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = 0;
    exit_status_ = -1;
    return exit_status_;
  }

  // SIGKILL, as a crash: no shutdown at all.
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }
  // Starts again after Stop() or Kill(), on the same database.
  void Start() { StartProcess(); }

  bool Alive() const { return pid_ > 0 && kill(pid_, 0) == 0; }
  pid_t pid() const { return pid_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // The HTTP metrics port, when started with --metrics_listen (else 0).
  int metrics_port() const { return metrics_port_; }
  // The plaintext health-only port, when started with --health_listen (else 0).
  int health_port() const { return health_port_; }
  // The FHIR port, when started with --fhir_listen (else 0).
  int fhir_port() const { return fhir_port_; }
  const std::string& dir() const { return dir_; }
  // Runs the codebook CLI against this server: its exit status in *rc, its output returned.
  std::string RunCli(const std::string& args, int* rc) const;
  std::unique_ptr<Client> NewClient(const std::string& bearer_token = "") const {
    ClientOptions o;
    o.target = address();
    o.bearer_token = bearer_token;
    return std::make_unique<Client>(o);
  }

 private:
  void StartProcess() {
    std::string port_file = dir_ + "/port";
    std::filesystem::remove(port_file);
    pid_ = fork();
    if (pid_ == 0) {
      std::string log = dir_ + "/server.log";
      freopen(log.c_str(), "a", stderr);
      std::vector<std::string> args = {CODEBOOKD_PATH, "--listen=127.0.0.1:0",
                                       "--db=" + dir_ + "/db", "--port_file=" + port_file};
      args.insert(args.end(), extra_args_.begin(), extra_args_.end());
      // Plaintext on loopback unless the test asks for TLS.
      if (std::none_of(extra_args_.begin(), extra_args_.end(),
                       [](const std::string& a) { return a.rfind("--tls_", 0) == 0; })) {
        args.push_back("--plaintext");
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    for (int i = 0; i < 3000; ++i) {
      std::ifstream in(port_file);
      if (in >> port_ >> metrics_port_ >> health_port_ >> fhir_port_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    port_ = 0;
    // Say why: what the server wrote.
    std::ifstream log(dir_ + "/server.log");
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "TestServer: no port file after 30 s; the server's log:\n%s\n",
                 text.c_str());
  }

  std::string dir_;
  bool owns_dir_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = 0;
  int port_ = 0;
  int metrics_port_ = 0;
  int health_port_ = 0;
  int fhir_port_ = 0;
  int exit_status_ = 0;
};

// grpc.health.v1.Health/Check for `service` ("" for the server as a whole): the status number
// (1 SERVING, 2 NOT_SERVING), or -1 when the call fails (e.g. NOT_FOUND for an unknown service).
inline int HealthStatus(const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  std::string req;  // HealthCheckRequest { string service = 1; }
  if (!service.empty()) {
    req.push_back(0x0a);
    req.push_back(static_cast<char>(service.size()));
    req += service;
  }
  grpc::Slice slice(req);
  grpc::ByteBuffer request(&slice, 1), response;
  grpc::CompletionQueue cq;
  grpc::Status status;
  auto call = stub.PrepareUnaryCall(&ctx, "/grpc.health.v1.Health/Check", request, &cq);
  call->StartCall();
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  if (!status.ok()) return -1;
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return -1;
  std::string bytes;
  for (auto& sl : slices) bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
  // HealthCheckResponse { ServingStatus status = 1; }: 0x08 <status>, or empty for 0.
  return bytes.size() == 2 && bytes[0] == 0x08 ? bytes[1] : 0;
}

// GET http://127.0.0.1:port/path: the status code in *status and the body returned ("" and
// status 0 when the server cannot be reached).
inline std::string HttpGet(int port, const std::string& path, int* status) {
  *status = 0;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  // Read to the end: the connection must close after the answer.
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  (void)!write(fd, req.data(), req.size());
  std::string resp;
  char buf[8192];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) resp.append(buf, static_cast<size_t>(n));
  close(fd);
  if (resp.rfind("HTTP/1.1 ", 0) != 0 || resp.size() < 12) return "";
  *status = std::atoi(resp.substr(9, 3).c_str());
  size_t body = resp.find("\r\n\r\n");
  return body == std::string::npos ? "" : resp.substr(body + 4);
}

// The value of the sample `series` (name with labels, exactly as exposed) in a metrics page;
// -1 when absent.
inline double MetricValue(const std::string& page, const std::string& series) {
  size_t at = 0;
  while ((at = page.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || page[at - 1] == '\n') {
      return std::atof(page.c_str() + at + series.size() + 1);
    }
    at += series.size();
  }
  return -1;
}

// One publisher file to import as a release (paths relative to a data folder).
struct ReleaseFile {
  std::string system, version, effective, format, path;
};

// Runs a shell command, returns its exit status and fills *out with its stdout and stderr.
inline int RunCommand(const std::string& cmd, std::string* out) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  out->clear();
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out->append(buf, n);
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline std::string TestServer::RunCli(const std::string& args, int* rc) const {
  std::string out;
  *rc = RunCommand(kCli + " --server=" + address() + " " + args, &out);
  return out;
}

// The synthetic CPT releases of the sample (0188T is deleted in 2025, 99215 added).
inline const std::vector<ReleaseFile> kSampleCpt = {
    {"CPT", "2024", "2024-01-01", "cpt", "/cpt/2024"},
    {"CPT", "2025", "2025-01-01", "cpt", "/cpt/2025"},
};

// Parses each file (paths relative to `dir`) and imports and publishes it through `client`, in
// the order given; the first failure, naming the file.
inline absl::Status ImportFiles(Client* client, const std::string& dir,
                                const std::vector<ReleaseFile>& files) {
  for (const ReleaseFile& f : files) {
    auto concepts = importers::ParseFile(f.format, dir + f.path);
    if (!concepts.ok()) return concepts.status();
    auto r = client->ImportRelease(f.system, f.version, f.effective, f.path, *concepts, true);
    if (!r.ok()) {
      return absl::Status(r.status().code(), f.path + ": " + std::string(r.status().message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace codebook::testing

#endif  // CODEBOOK_TESTS_TEST_SERVER_H_
