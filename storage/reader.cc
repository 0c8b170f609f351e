#include "storage/reader.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "storage/encoding.h"
#include "storage/terms.h"

namespace codebook::storage {

Reader::Reader(const Database* db, ViewSource views, std::shared_ptr<const Catalog> catalog)
    : db_(db), views_(std::move(views)), catalog_(std::move(catalog)) {}

Reader::~Reader() {
  iter_.reset();
  terms_iter_.reset();
  if (snapshot_ != nullptr) db_->db()->ReleaseSnapshot(snapshot_);
}

const rocksdb::Snapshot* Reader::snapshot() {
  // Taken after the catalog: every release the catalog lists is fully in the snapshot.
  if (snapshot_ == nullptr) snapshot_ = db_->db()->GetSnapshot();
  return snapshot_;
}

rocksdb::Iterator* Reader::iterator() {
  if (!iter_) {
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot();
    iter_.reset(db_->db()->NewIterator(ro, db_->cf(ColumnFamilyId::kConcepts)));
  }
  return iter_.get();
}

absl::Status Reader::ChangedCodes(absl::string_view system, uint64_t after, uint64_t upto,
                                  std::vector<std::string>* codes) {
  codes->clear();
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot();
  std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(ro, db_->cf(ColumnFamilyId::kChanges)));
  for (uint64_t seq = after + 1; seq <= upto; ++seq) {
    std::string prefix = ChangePrefix(system, seq);
    for (it->Seek(prefix); it->Valid() && StartsWith(it->key(), prefix); it->Next()) {
      codes->emplace_back(KeyAfterPrefix(AsView(it->key()), prefix.size()));
    }
    if (!it->status().ok()) return FromRocks(it->status(), "reading the change index");
  }
  std::sort(codes->begin(), codes->end());
  codes->erase(std::unique(codes->begin(), codes->end()), codes->end());
  return absl::OkStatus();
}

absl::Status Reader::Read(absl::string_view system, absl::string_view code, uint64_t sequence,
                          CodeState* out) {
  if (!view_ || view_sequence_ != sequence || view_system_ != system) {
    view_ = views_(system, sequence);
    view_system_ = std::string(system);
    view_sequence_ = sequence;
  }
  if (view_) {
    if (const ReleaseView::Entry* e = view_->Find(code)) {
      out->kind = CodeState::Kind::kPresent;
      out->entry_sequence = e->sequence;
      absl::Status s = DecodeConceptRecord(e->body, &out->record);
      if (!s.ok()) return absl::DataLossError(absl::StrCat(s.message(), ": ", system, " ", code));
      return absl::OkStatus();
    }
  }
  // Not in the release (or no view yet): the entry found tells deleted from never present.
  return Seek(system, code, sequence, out);
}

absl::Status Reader::Seek(absl::string_view system, absl::string_view code, uint64_t sequence,
                          CodeState* out) {
  rocksdb::Iterator* it = iterator();
  it->Seek(ConceptKey(system, code, sequence));
  out->kind = CodeState::Kind::kAbsent;
  out->entry_sequence = 0;
  std::string prefix = ConceptCodePrefix(system, code);
  if (!it->Valid() || !StartsWith(it->key(), prefix)) {
    return FromRocks(it->status(), "reading concepts");
  }
  absl::string_view found_code;
  uint64_t entry_seq;
  if (!DecodeConceptKey(AsView(it->key()), system.size() + 1, &found_code, &entry_seq)) {
    return absl::DataLossError(absl::StrCat("corrupt concept key for ", system, " ", code));
  }
  bool deleted = false;
  absl::Status s = DecodeConceptEntry(AsView(it->value()), &deleted, &out->record);
  if (!s.ok()) return absl::DataLossError(absl::StrCat(s.message(), ": ", system, " ", code));
  out->kind = deleted ? CodeState::Kind::kDeleted : CodeState::Kind::kPresent;
  out->entry_sequence = entry_seq;
  return absl::OkStatus();
}

absl::Status Reader::ReadMany(absl::string_view system, const std::vector<std::string>& codes,
                              uint64_t sequence, std::vector<CodeState>* out) {
  // Existing elements are reused: their buffers spare allocations when *out is a scratch vector.
  out->resize(codes.size());
  if (views_(system, sequence) != nullptr) {
    for (size_t i = 0; i < codes.size(); ++i) {
      absl::Status s = Read(system, codes[i], sequence, &(*out)[i]);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
  // Seeking in key order keeps the iterator's blocks warm.
  std::vector<size_t> order(codes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return codes[a] < codes[b]; });
  for (size_t k = 0; k < order.size(); ++k) {
    size_t i = order[k];
    if (k > 0 && codes[order[k - 1]] == codes[i]) {
      (*out)[i] = (*out)[order[k - 1]];
      continue;
    }
    absl::Status s = Read(system, codes[i], sequence, &(*out)[i]);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Reader::ForEachConcept(
    absl::string_view system, uint64_t sequence,
    const std::function<bool(absl::string_view code, const ConceptRecord& record)>& fn) {
  return ForEachConceptInRange(system, sequence, "", "", fn);
}

std::shared_ptr<const ReleaseView> Reader::ViewOf(absl::string_view system,
                                                 uint64_t sequence) const {
  return views_(system, sequence);
}

absl::Status Reader::ForEachConceptInRange(
    absl::string_view system, uint64_t sequence, absl::string_view begin, absl::string_view end,
    const std::function<bool(absl::string_view code, const ConceptRecord& record)>& fn) {
  ConceptRecord record;
  if (std::shared_ptr<const ReleaseView> view = views_(system, sequence)) {
    const std::vector<absl::string_view>& codes = view->sorted_codes();
    for (auto c = std::lower_bound(codes.begin(), codes.end(), begin);
         c != codes.end() && (end.empty() || *c < end); ++c) {
      absl::Status s = DecodeConceptRecord(view->Find(*c)->body, &record);
      if (!s.ok()) return absl::DataLossError(absl::StrCat(s.message(), ": ", system, " ", *c));
      if (!fn(*c, record)) break;
    }
    return absl::OkStatus();
  }
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot();
  ro.fill_cache = false;  // a walk over a range must not push the hot blocks out
  std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(ro, db_->cf(ColumnFamilyId::kConcepts)));
  absl::Status decode;
  absl::Status s = ForEachEntryAsOf(
      it.get(), system, sequence,
      [&](absl::string_view code, uint64_t, absl::string_view entry) {
        bool deleted = false;
        decode = DecodeConceptEntry(entry, &deleted, &record);
        if (!decode.ok()) {
          decode = absl::DataLossError(absl::StrCat(decode.message(), ": ", system, " ", code));
          return false;
        }
        return deleted || fn(code, record);
      },
      begin, end);
  return s.ok() ? decode : s;
}

absl::Status Reader::ForEachPosting(
    absl::string_view system, uint64_t sequence, absl::string_view term_prefix,
    const std::function<bool(absl::string_view term, absl::string_view code)>& fn) {
  if (!terms_iter_) {
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot();
    terms_iter_.reset(db_->db()->NewIterator(ro, db_->cf(ColumnFamilyId::kTerms)));
  }
  rocksdb::Iterator* it = terms_iter_.get();
  std::string prefix = absl::StrCat(SystemPrefix(system), term_prefix);
  const size_t system_len = system.size() + 1;
  // One term at a time: its entries up to `sequence` (stored newest first), replayed oldest
  // first, say which codes have it.
  std::string term;
  std::vector<std::string> entries;
  absl::flat_hash_map<std::string, bool> state;
  std::vector<absl::string_view> codes;
  bool stop = false;
  auto finish_term = [&]() -> absl::Status {
    state.clear();
    for (auto e = entries.rbegin(); e != entries.rend(); ++e) {
      absl::Status s = DecodeTermEntry(*e, [&](absl::string_view code, bool gains) {
        state[code] = gains;
      });
      if (!s.ok()) return absl::DataLossError(absl::StrCat(s.message(), ": ", system, " ", term));
    }
    entries.clear();
    codes.clear();
    for (const auto& [code, present] : state) {
      if (present) codes.push_back(code);
    }
    std::sort(codes.begin(), codes.end());
    for (absl::string_view code : codes) {
      if (!fn(term, code)) {
        stop = true;
        break;
      }
    }
    return absl::OkStatus();
  };
  for (it->Seek(prefix); it->Valid() && StartsWith(it->key(), prefix); it->Next()) {
    absl::string_view t;
    uint64_t seq;
    if (!DecodeTermKey(AsView(it->key()), system_len, &t, &seq)) {
      return absl::DataLossError(absl::StrCat("corrupt search index key in ", system));
    }
    if (t != term) {
      absl::Status s = finish_term();
      if (!s.ok()) return s;
      if (stop) return absl::OkStatus();
      term.assign(t.data(), t.size());
    }
    if (seq <= sequence) entries.emplace_back(AsView(it->value()));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the search index");
  return finish_term();
}

absl::Status Reader::Events(absl::string_view system, uint64_t after, size_t limit,
                            std::vector<EventRecord>* events) {
  events->clear();
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot();
  std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(ro, db_->cf(ColumnFamilyId::kEvents)));
  std::string prefix = SystemPrefix(system);
  for (it->Seek(EventKey(system, after + 1));
       it->Valid() && StartsWith(it->key(), prefix) && events->size() < limit; it->Next()) {
    EventRecord e;
    absl::string_view key_system;
    if (!DecodeEventKey(AsView(it->key()), &key_system, &e.sequence)) {
      return absl::DataLossError("corrupt event key");
    }
    absl::Status s = DecodeEvent(AsView(it->value()), &e);
    if (!s.ok()) return s;
    events->push_back(std::move(e));
  }
  return FromRocks(it->status(), "reading events");
}

absl::Status Reader::Links(absl::string_view system, absl::string_view code,
                           std::vector<CodeLinkRecord>* predecessors,
                           std::vector<CodeLinkRecord>* successors) {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot();
  std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(ro, db_->cf(ColumnFamilyId::kLinks)));
  for (LinkKind kind : {LinkKind::kPredecessors, LinkKind::kSuccessors}) {
    const bool by_new_code = kind == LinkKind::kPredecessors;
    std::vector<CodeLinkRecord>* out = by_new_code ? predecessors : successors;
    out->clear();
    std::string prefix = LinkPrefix(system, code, kind);
    for (it->Seek(prefix); it->Valid() && StartsWith(it->key(), prefix); it->Next()) {
      CodeLinkRecord link;
      std::string other(KeyAfterPrefix(AsView(it->key()), prefix.size()));
      link.code = by_new_code ? std::string(code) : other;
      link.previous = by_new_code ? other : std::string(code);
      absl::Status s = DecodeLink(AsView(it->value()), &link);
      if (!s.ok()) return s;
      out->push_back(std::move(link));
    }
    if (!it->status().ok()) return FromRocks(it->status(), "reading code links");
  }
  return absl::OkStatus();
}

absl::Status Reader::History(absl::string_view system, absl::string_view code,
                             std::vector<CodeState>* entries) {
  entries->clear();
  rocksdb::Iterator* it = iterator();
  std::string prefix = ConceptCodePrefix(system, code);
  for (it->Seek(prefix); it->Valid() && StartsWith(it->key(), prefix); it->Next()) {
    CodeState& st = entries->emplace_back();
    absl::string_view c;
    bool deleted = false;
    if (!DecodeConceptKey(AsView(it->key()), system.size() + 1, &c, &st.entry_sequence)) {
      return absl::DataLossError(absl::StrCat("corrupt concept key for ", system, " ", code));
    }
    absl::Status s = DecodeConceptEntry(AsView(it->value()), &deleted, &st.record);
    if (!s.ok()) return absl::DataLossError(absl::StrCat(s.message(), ": ", system, " ", code));
    st.kind = deleted ? CodeState::Kind::kDeleted : CodeState::Kind::kPresent;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading concepts");
  std::reverse(entries->begin(), entries->end());  // stored newest first
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Reader::NextPresentSequence(absl::string_view system,
                                                     absl::string_view code, uint64_t sequence) {
  rocksdb::Iterator* it = iterator();
  std::string prefix = ConceptCodePrefix(system, code);
  uint64_t best = 0;
  // Entries run newest first; the last present one above `sequence` is the earliest.
  for (it->Seek(prefix); it->Valid() && StartsWith(it->key(), prefix); it->Next()) {
    absl::string_view c;
    uint64_t seq;
    if (!DecodeConceptKey(AsView(it->key()), system.size() + 1, &c, &seq)) {
      return absl::DataLossError(absl::StrCat("corrupt concept key for ", system, " ", code));
    }
    if (seq <= sequence) break;
    bool deleted = false;
    absl::Status s = DecodeConceptEntry(AsView(it->value()), &deleted, nullptr);
    if (!s.ok()) return s;
    if (!deleted) best = seq;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading concepts");
  return best;
}

}  // namespace codebook::storage
