#include "storage/staged_batch.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "storage/encoding.h"

namespace codebook::storage {

void StagedBatch::Add(absl::string_view code, const ConceptRecord& record) {
  Item it;
  it.offset = data_.size();
  it.code_size = static_cast<uint32_t>(code.size());
  data_.append(code.data(), code.size());
  EncodeConceptRecord(record, &data_);
  it.body_size = static_cast<uint32_t>(data_.size() - it.offset - code.size());
  items_.push_back(it);
}

absl::Status StagedBatch::Sort(absl::string_view what) {
  auto code_of = [this](const Item& it) {
    return absl::string_view(data_.data() + it.offset, it.code_size);
  };
  auto by_code = [&](const Item& a, const Item& b) { return code_of(a) < code_of(b); };
  // Uploads usually arrive in code order already.
  if (!std::is_sorted(items_.begin(), items_.end(), by_code)) {
    std::sort(items_.begin(), items_.end(), by_code);
  }
  for (size_t i = 1; i < items_.size(); ++i) {
    if (code_of(items_[i]) == code_of(items_[i - 1])) {
      return absl::InvalidArgumentError(
          absl::StrCat("code ", code_of(items_[i]), " is given twice for ", what));
    }
  }
  return absl::OkStatus();
}

}  // namespace codebook::storage
