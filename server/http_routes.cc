#include "server/http_routes.h"

#include <algorithm>
#include <functional>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/http_port.h"
#include "server/web_assets.h"

namespace codebook::server {

void AddMetricsRoutes(httplib::Server& routes, std::function<std::string()> metrics,
                      std::function<bool()> healthy) {
  routes.Get("/metrics", [metrics](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
  routes.Get("/healthz", [healthy](const httplib::Request&, httplib::Response& res) {
    if (healthy()) {
      res.set_content("ok\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content("not serving\n", "text/plain");
    }
  });
  routes.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    res.set_content(res.status == 404 ? "try /metrics or /healthz\n" : "bad request\n",
                    "text/plain");
  });
}

namespace {

fhir::Request ToFhirRequest(const httplib::Request& req, bool tls) {
  fhir::Request out;
  out.method = req.method;
  out.path = req.path.substr(5);  // below "/fhir"
  if (out.path.empty()) out.path = "/";
  for (const auto& [name, value] : req.params) out.query.emplace_back(name, value);
  out.body = req.body;
  out.content_type = req.get_header_value("Content-Type");
  out.accept_language = req.get_header_value("Accept-Language");
  out.authorization = req.get_header_value("Authorization");
  out.client_common_name = HttpPort::ClientCommonName(req);
  std::string host = req.get_header_value("Host");
  if (host.empty()) host = absl::StrCat(req.local_addr, ":", req.local_port);
  out.base_url = absl::StrCat(tls ? "https://" : "http://", host, "/fhir");
  return out;
}

void Send(const fhir::Response& r, httplib::Response& res) {
  res.status = r.status;
  for (const auto& [name, value] : r.headers) res.set_header(name, value);
  res.set_content(r.body, r.content_type);
}

}  // namespace

void RouteEveryMethod(httplib::Server& routes, const char* pattern,
                      const httplib::Server::Handler& handler) {
  routes.Get(pattern, handler);
  routes.Post(pattern, handler);
  routes.Put(pattern, handler);
  routes.Delete(pattern, handler);
  routes.Patch(pattern, handler);
}

void AddWebRoutes(httplib::Server& routes) {
  auto serve = [](const WebAsset& asset, const httplib::Request& req, httplib::Response& res) {
    static constexpr std::pair<std::string_view, const char*> kTypes[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"}};
    const char* type = "application/octet-stream";
    for (const auto& [ending, content_type] : kTypes) {
      if (asset.path.size() >= ending.size() &&
          asset.path.substr(asset.path.size() - ending.size()) == ending) {
        type = content_type;
      }
    }
    const std::string etag = absl::StrCat(
        "\"", absl::Hex(std::hash<std::string_view>()({asset.data, asset.size})), "\"");
    res.set_header("ETag", etag);
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; frame-ancestors 'none'; base-uri 'none'");
    if (req.get_header_value("If-None-Match") == etag) {
      res.status = 304;
      return;
    }
    res.set_content(asset.data, asset.size, type);
  };
  auto find = [](std::string_view path) -> const WebAsset* {
    for (const WebAsset& a : WebAssets()) {
      if (a.path == path) return &a;
    }
    return nullptr;
  };
  routes.Get("/", [serve, find](const httplib::Request& req, httplib::Response& res) {
    if (const WebAsset* index = find("index.html")) serve(*index, req, res);
  });
  routes.Get(R"(/ui/([A-Za-z0-9._-]+))",
             [serve, find](const httplib::Request& req, httplib::Response& res) {
               if (const WebAsset* asset = find(req.matches[1].str())) {
                 serve(*asset, req, res);
               } else {
                 res.status = 404;
               }
             });
}

void AddFhirRoutes(httplib::Server& routes, const fhir::FhirService* fhir, size_t max_body_bytes) {
  auto handler = [fhir](const httplib::Request& req, httplib::Response& res) {
    Send(fhir->Handle(ToFhirRequest(req, req.ssl != nullptr)), res);
  };
  RouteEveryMethod(routes, R"(/fhir(/.*)?)", handler);
  routes.set_error_handler([max_body_bytes](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string text;
    std::string code = "invalid";
    switch (res.status) {
      case 404:
        text = absl::StrCat("nothing is served at ", req.path, "; the FHIR base is /fhir");
        code = "not-found";
        break;
      case 413:
        text = absl::StrCat("the request body is over the limit of ", max_body_bytes, " bytes");
        code = "too-costly";
        break;
      default:
        text = absl::StrCat("the request could not be read (HTTP ", res.status, ")");
        // cpp-httplib 0.11 refuses a request line whose query holds a second '?', which FHIR
        // clients encode and curl does not: say how to send it.
        if (res.status == 400 && std::count(req.target.begin(), req.target.end(), '?') > 1) {
          text =
              "the URL has a second '?' (an implicit value set such as url=...?fhir_vs=isa/X): "
              "encode it as %3F (and '=' as %3D), as FHIR clients do";
        }
        break;
    }
    fhir::Issue issue;
    issue.code = code;
    issue.text = text;
    res.set_content(fhir::OperationOutcome({issue}).dump(), "application/fhir+json");
  });
}

}  // namespace codebook::server
