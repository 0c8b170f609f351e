#include "storage/staged_batch.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "storage/encoding.h"

namespace codebook::storage {

void StagedBatch::Add(absl::string_view code, const ConceptRecord& record) {
  scratch_.clear();
  EncodeConceptRecord(record, &scratch_);
  const size_t need = code.size() + scratch_.size();
  if (blocks_.empty() || blocks_.back().capacity() - blocks_.back().size() < need) {
    blocks_.emplace_back();
    blocks_.back().reserve(std::max(kBlockBytes, need));
  }
  std::string& block = blocks_.back();
  Item it;
  it.block = static_cast<uint32_t>(blocks_.size() - 1);
  it.offset = static_cast<uint32_t>(block.size());
  it.code_size = static_cast<uint32_t>(code.size());
  it.body_size = static_cast<uint32_t>(scratch_.size());
  block.append(code.data(), code.size());
  block.append(scratch_);
  items_.push_back(it);
}

absl::Status StagedBatch::Sort(absl::string_view what) {
  auto code_of = [this](const Item& it) { return CodeOf(it); };
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
