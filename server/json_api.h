// The gRPC API in JSON over HTTP, for callers that cannot speak gRPC (a web page): every method of
// the server's gRPC services, with its request and answer in protobuf's JSON mapping.
//
//   POST /api/v1/<package.Service>/<Method>   body: the request message as JSON ("{}" for an
//                                              empty one); Content-Type application/json
//
// Only application/json is taken (415 otherwise): another site's page can make a browser send a
// form or text/plain without the user's say, but JSON needs a CORS preflight, which this port
// never grants, so a server on loopback is not open to every page its user visits.
//
// A unary method answers 200 with its response message; a server-streaming one (DiffReleases,
// ExportRelease, ...) answers 200 with a JSON array of its messages. The call goes to the server's
// own gRPC services over an in-process channel, so what it may do and see is what the same call
// over gRPC may: the request's "Authorization" header is passed on as the call's bearer token
// (scopes, the CPT licence, access log and metrics as on the gRPC port), and the common name of
// the client certificate the HTTP port was shown, if any, as the call's certificate (see
// service::kForwardedCommonName): a tokens file's "cert:NAME" lines apply as on the gRPC port.
// The access log names the HTTP client's address as the call's peer ("http:127.0.0.1:52044").
//
// Errors are JSON {"code": N, "status": "NOT_FOUND", "message": "..."} (N the gRPC code) with
// the HTTP status grpc-gateway gives that code: 400 a body that is not the method's request
// (or INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE), 401 UNAUTHENTICATED, 403
// PERMISSION_DENIED, 404 an unknown method or NOT_FOUND, 405 a method other than POST, 409
// ALREADY_EXISTS or ABORTED, 415 a body that is not application/json, 429 RESOURCE_EXHAUSTED,
// 501 a client-streaming method or UNIMPLEMENTED, 503 UNAVAILABLE, 504 DEADLINE_EXCEEDED, 500
// the rest.
#ifndef CODEBOOK_SERVER_JSON_API_H_
#define CODEBOOK_SERVER_JSON_API_H_

#include <grpcpp/channel.h>
#include <httplib.h>

#include <memory>

namespace codebook::server {

// Serves /api/v1/... on `routes` through `channel` (the gRPC server's in-process channel, which
// must outlive the routes' use). Each call may take up to `deadline_seconds`.
void AddJsonApiRoutes(httplib::Server& routes, std::shared_ptr<grpc::Channel> channel,
                      int deadline_seconds = 60);

}  // namespace codebook::server

#endif  // CODEBOOK_SERVER_JSON_API_H_
