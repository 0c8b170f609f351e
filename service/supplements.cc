#include "service/supplements.h"

#include "absl/strings/str_cat.h"
#include "service/conversions.h"

namespace codebook::service {

const CodeSystemInfo* SupplementOf(absl::string_view base, CodeFormat format) {
  for (const CodeSystemInfo& s : KnownSystems()) {
    if (s.supplements == base && s.format == format) return &s;
  }
  return nullptr;
}

absl::Status CheckSupplementCreate(const storage::Catalog& catalog,
                                   const CodeSystemInfo& supplement, absl::string_view version,
                                   absl::string_view effective_date) {
  if (supplement.supplements.empty()) return absl::OkStatus();
  const storage::ReleaseRecord* base = catalog.Find(supplement.supplements, version);
  if (base == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        supplement.id, " supplements ", supplement.supplements, ": its release ", version,
        " needs ", supplement.supplements, " ", version, ", which this server does not have"));
  }
  if (base->effective_date != effective_date) {
    return absl::FailedPreconditionError(absl::StrCat(
        supplement.id, " ", version, " must take effect when ", Describe(*base), " does, not on ",
        effective_date));
  }
  return absl::OkStatus();
}

absl::Status CheckSupplementPublish(const storage::Catalog& catalog,
                                    const CodeSystemInfo& supplement, absl::string_view version) {
  if (supplement.supplements.empty()) return absl::OkStatus();
  const storage::ReleaseRecord* base = catalog.Find(supplement.supplements, version);
  if (base == nullptr || base->state != storage::ReleaseState::kPublished) {
    return absl::FailedPreconditionError(
        absl::StrCat(supplement.id, " ", version, " can be published once ",
                     supplement.supplements, " ", version, " is published"));
  }
  return absl::OkStatus();
}

const storage::ReleaseRecord* SupplementFor(const storage::Catalog& catalog,
                                            const CodeSystemInfo& supplement,
                                            const storage::ReleaseRecord& base) {
  const storage::ReleaseRecord* best = nullptr;
  for (const storage::ReleaseRecord& r : catalog.Releases(supplement.id)) {
    if (r.state != storage::ReleaseState::kPublished || r.effective_date > base.effective_date) {
      continue;
    }
    if (best == nullptr || r.sequence > best->sequence) best = &r;
  }
  return best;
}

}  // namespace codebook::service
