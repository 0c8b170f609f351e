// The routes of the server's HTTP ports: what the metrics port answers, and how the FHIR port
// hands requests to the FHIR layer.
#ifndef CODEBOOK_SERVER_HTTP_ROUTES_H_
#define CODEBOOK_SERVER_HTTP_ROUTES_H_

#include <httplib.h>

#include <functional>
#include <string>

#include "fhir/fhir_service.h"

namespace codebook::server {

// Routes GET, POST, PUT, DELETE and PATCH of `pattern` to `handler` (which answers each method
// itself, a 405 for those it does not take).
void RouteEveryMethod(httplib::Server& routes, const char* pattern,
                      const httplib::Server::Handler& handler);

// GET /metrics answers `metrics()` as "text/plain; version=0.0.4"; GET /healthz answers 200
// "ok" while `healthy()`, else 503; other paths 404. (Other methods: HttpPortOptions::only_get.)
void AddMetricsRoutes(httplib::Server& routes, std::function<std::string()> metrics,
                      std::function<bool()> healthy);

// Every request under /fhir/ (any method) goes to `fhir`, with its query, body and credentials
// (the "authorization" header, the client certificate's common name). Anything else is a 404
// OperationOutcome; a body over `max_body_bytes` a 413 one.
void AddFhirRoutes(httplib::Server& routes, const fhir::FhirService* fhir, size_t max_body_bytes);

// The web page (server/web_assets.h): GET / answers index.html, GET /ui/FILE the file, with its
// content type, an ETag (304 to a matching If-None-Match), Cache-Control no-cache and a
// Content-Security-Policy that lets the page load only from this server.
void AddWebRoutes(httplib::Server& routes);

}  // namespace codebook::server

#endif  // CODEBOOK_SERVER_HTTP_ROUTES_H_
