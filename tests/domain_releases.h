// For the domain layer's unit tests: publishing a release straight through ReleaseAdminImpl,
// without a server. Test-only.
#ifndef CODEBOOK_TESTS_DOMAIN_RELEASES_H_
#define CODEBOOK_TESTS_DOMAIN_RELEASES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "service/release_admin_impl.h"

namespace codebook::testing {

// Creates release `version` of `system` effective `date`, uploads `concepts` in one stream and
// publishes it; the first error, if any.
inline absl::Status PublishRelease(service::ReleaseAdminImpl& admin, const std::string& system,
                                   const std::string& version, const std::string& date,
                                   const std::vector<v1::Concept>& concepts) {
  v1::CreateReleaseRequest create;
  create.set_system(system);
  create.set_version(version);
  create.set_effective_date(date);
  v1::CreateReleaseResponse created;
  if (auto s = admin.CreateRelease(create, &created); !s.ok()) return s;
  v1::UploadConceptsRequest m;
  m.set_system(system);
  m.set_version(version);
  for (const auto& c : concepts) *m.add_concepts() = c;
  v1::UploadConceptsResponse uploaded;
  auto upload = admin.StartUpload();
  if (auto s = upload->Add(&m); !s.ok()) return s;
  if (auto s = upload->Commit(&uploaded); !s.ok()) return s;
  v1::PublishReleaseRequest publish;
  publish.set_system(system);
  publish.set_version(version);
  v1::PublishReleaseResponse published;
  return admin.PublishRelease(publish, &published);
}

}  // namespace codebook::testing

#endif  // CODEBOOK_TESTS_DOMAIN_RELEASES_H_
