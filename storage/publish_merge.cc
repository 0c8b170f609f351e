#include "storage/publish_merge.h"

#include <openssl/evp.h>

#include <deque>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/encoding.h"
#include "storage/terms.h"

namespace codebook::storage {
namespace {

// The body of a stored entry; empty for a deleted one.
absl::string_view BodyOf(absl::string_view entry) {
  absl::string_view body;
  return PresentBody(entry, &body) ? body : absl::string_view();
}

}  // namespace

ReleaseDigest::ReleaseDigest() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr);
}

ReleaseDigest::~ReleaseDigest() { EVP_MD_CTX_free(ctx_); }

void ReleaseDigest::Add(absl::string_view code, absl::string_view body) {
  buf_.clear();
  PutLengthPrefixed(&buf_, code);
  PutVarint64(&buf_, body.size());
  EVP_DigestUpdate(ctx_, buf_.data(), buf_.size());
  EVP_DigestUpdate(ctx_, body.data(), body.size());
}

std::string ReleaseDigest::Finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, md, &len);
  std::string hex = "sha256:";
  for (unsigned int i = 0; i < len; ++i) absl::StrAppendFormat(&hex, "%02x", md[i]);
  return hex;
}

absl::Status TermChanges::Add(absl::string_view code, absl::string_view old_body,
                              absl::string_view new_body) {
  absl::Status s = TermsOf(old_body, &old_terms_);
  if (s.ok()) s = TermsOf(new_body, &new_terms_);
  if (!s.ok()) return absl::DataLossError(absl::StrCat(s.message(), ": ", code));
  uint32_t ordinal = static_cast<uint32_t>(codes_.size());
  bool used = false;
  const std::vector<absl::string_view>& old_terms = old_terms_.terms();
  const std::vector<absl::string_view>& new_terms = new_terms_.terms();
  auto o = old_terms.begin(), n = new_terms.begin();
  while (o != old_terms.end() || n != new_terms.end()) {
    if (n == new_terms.end() || (o != old_terms.end() && *o < *n)) {
      changes_[*o++].push_back(ordinal << 1);
      used = true;
    } else if (o == old_terms.end() || *n < *o) {
      changes_[*n++].push_back(ordinal << 1 | 1);
      used = true;
    } else {
      ++o, ++n;
    }
  }
  if (used) codes_.emplace_back(code);
  return absl::OkStatus();
}

void TermChanges::Write(const Database& db, rocksdb::WriteBatch* batch, absl::string_view system,
                        uint64_t sequence) const {
  std::vector<std::pair<absl::string_view, bool>> list;
  std::string value;
  for (const auto& [term, entries] : changes_) {
    list.clear();
    for (uint32_t e : entries) list.emplace_back(codes_[e >> 1], e & 1);
    value.clear();
    EncodeTermEntry(list, &value);
    batch->Put(db.cf(ColumnFamilyId::kTerms), TermKey(system, term, sequence), value);
  }
}

absl::Status TermChanges::TermsOf(absl::string_view body, TermList* terms) {
  terms->Clear();
  if (body.empty()) return absl::OkStatus();
  absl::Status s = DecodeConceptRecord(body, &record_);
  if (!s.ok()) return s;
  terms->Set(record_);
  return absl::OkStatus();
}

// Feeds TermChanges on a thread of its own, in the order the merge adds codes. The items own
// what may change under them (codes, stored bodies, bodies read from the staging iterator);
// bodies of a StagedBatch are stable for the whole publish and are only viewed.
class PublishMerge::TermQueue {
 public:
  // `new_bodies_stable`: the new bodies stay where they are until Finish (a StagedBatch's).
  TermQueue(TermChanges* terms, bool new_bodies_stable)
      : terms_(terms), new_bodies_stable_(new_bodies_stable), thread_([this] { Loop(); }) {}
  ~TermQueue() { (void)Finish(); }

  void Add(absl::string_view code, absl::string_view old_body, absl::string_view new_body) {
    Item& it = chunk_.emplace_back();
    it.code.assign(code.data(), code.size());
    it.old_body.assign(old_body.data(), old_body.size());
    if (new_bodies_stable_) {
      it.new_body = new_body;
    } else {
      it.new_copy.assign(new_body.data(), new_body.size());  // viewed from where it ends up
    }
    if (chunk_.size() == kChunk) Hand();
  }

  // Waits for every queued item; the first error of TermChanges::Add, if any.
  absl::Status Finish() {
    if (thread_.joinable()) {
      Hand();
      {
        absl::MutexLock l(&mu_);
        done_ = true;
      }
      thread_.join();
    }
    return status_;
  }

 private:
  struct Item {
    std::string code, old_body, new_copy;
    absl::string_view new_body;  // when the new bodies are stable; else new_copy holds it
  };
  static constexpr size_t kChunk = 1024;

  void Hand() {
    if (chunk_.empty()) return;
    absl::MutexLock l(&mu_);
    queue_.push_back(std::move(chunk_));
    chunk_.clear();
    chunk_.reserve(kChunk);
  }

  void Loop() {
    for (;;) {
      std::vector<Item> chunk;
      {
        absl::MutexLock l(&mu_);
        auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return done_ || !queue_.empty();
        };
        mu_.Await(absl::Condition(&ready));
        if (queue_.empty()) return;
        chunk = std::move(queue_.front());
        queue_.pop_front();
      }
      if (!status_.ok()) continue;  // drain after an error
      for (Item& it : chunk) {
        absl::string_view new_body = new_bodies_stable_ ? it.new_body : it.new_copy;
        status_ = terms_->Add(it.code, it.old_body, new_body);
        if (!status_.ok()) break;
      }
    }
  }

  TermChanges* terms_;
  const bool new_bodies_stable_;
  std::vector<Item> chunk_;  // the merge's side, handed over when full
  absl::Mutex mu_;
  std::deque<std::vector<Item>> queue_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_;  // the worker's; read after the join
  std::thread thread_;
};

PublishMerge::PublishMerge(const Database& db, absl::string_view system,
                           absl::string_view version, uint64_t sequence, uint64_t predecessor,
                           const StagedBatch* uploaded)
    : db_(db),
      system_(system),
      sequence_(sequence),
      predecessor_(predecessor),
      staged_prefix_(StagingPrefix(system, version)),
      system_prefix_(SystemPrefix(system)),
      snapshot_(db.db()->GetSnapshot()),
      uploaded_(uploaded),
      term_queue_(
          std::make_unique<TermQueue>(&terms_, /*new_bodies_stable=*/uploaded != nullptr)) {
  rocksdb::ReadOptions ro;
  // Two whole-range walks, once: their blocks must not push the hot ones out of the cache
  // (nor hold its memory; issue 10 measured them there).
  ro.fill_cache = false;
  ro.snapshot = snapshot_;
  if (uploaded_ == nullptr) {
    staged_.reset(db.db()->NewIterator(ro, db.cf(ColumnFamilyId::kStaging)));
  }
  current_.reset(db.db()->NewIterator(ro, db.cf(ColumnFamilyId::kConcepts)));
}

PublishMerge::~PublishMerge() {
  term_queue_.reset();
  staged_.reset();
  current_.reset();
  db_.db()->ReleaseSnapshot(snapshot_);
}

bool PublishMerge::StagedValid() const {
  if (uploaded_ != nullptr) return uploaded_pos_ < uploaded_->size();
  return staged_->Valid() && StartsWith(staged_->key(), staged_prefix_);
}

absl::string_view PublishMerge::StagedCode() const {
  if (uploaded_ != nullptr) return uploaded_->code(uploaded_pos_);
  return KeyAfterPrefix(AsView(staged_->key()), staged_prefix_.size());
}

absl::string_view PublishMerge::StagedBody() const {
  if (uploaded_ != nullptr) return uploaded_->body(uploaded_pos_);
  return AsView(staged_->value());
}

void PublishMerge::NextStaged() {
  if (uploaded_ != nullptr) {
    ++uploaded_pos_;
  } else {
    staged_->Next();
  }
}

absl::StatusOr<PublishMerge::Result> PublishMerge::Run(rocksdb::WriteBatch* batch) {
  if (staged_ != nullptr) staged_->Seek(staged_prefix_);
  current_->Seek(system_prefix_);
  absl::Status st = NextStored();
  while (st.ok()) {
    const bool staged_valid = StagedValid();
    if (!staged_valid && !stored_.valid) break;
    // The next code of either walk; both when they meet.
    absl::string_view new_code = staged_valid ? StagedCode() : absl::string_view();
    const int cmp = !staged_valid ? 1 : !stored_.valid ? -1 : new_code.compare(stored_.code);
    absl::string_view code = cmp <= 0 ? new_code : absl::string_view(stored_.code);
    absl::string_view new_body = cmp <= 0 ? StagedBody() : absl::string_view();
    st = Merge(code, new_body, /*stored=*/cmp >= 0, batch);
    if (!st.ok()) break;
    if (cmp <= 0) NextStaged();
    if (cmp >= 0) st = NextStored();
  }
  if (st.ok() && staged_ != nullptr) st = FromRocks(staged_->status(), "reading staged concepts");
  if (!st.ok()) return st;
  if (absl::Status s = term_queue_->Finish(); !s.ok()) return s;
  terms_.Write(db_, batch, system_, sequence_);
  result_.checksum = digest_.Finish();
  return std::move(result_);
}

absl::Status PublishMerge::NextStored() {
  bool have_newest = false;
  stored_.has_predecessor = stored_.predecessor_is_newest = false;
  while (current_->Valid() && StartsWith(current_->key(), system_prefix_)) {
    absl::string_view code;
    uint64_t seq;
    if (!DecodeConceptKey(AsView(current_->key()), system_prefix_.size(), &code, &seq)) {
      return absl::DataLossError(absl::StrCat("corrupt concept key in ", system_));
    }
    if (have_newest && code != stored_.code) break;  // the next code starts here
    if (AsView(current_->value()).empty()) return absl::DataLossError("empty concept entry");
    if (!have_newest) {
      have_newest = true;
      stored_.code.assign(code.data(), code.size());
      stored_.newest.assign(current_->value().data(), current_->value().size());
      if (seq <= predecessor_) stored_.has_predecessor = stored_.predecessor_is_newest = true;
    } else if (!stored_.has_predecessor && seq <= predecessor_) {
      stored_.has_predecessor = true;
      stored_.at_predecessor.assign(current_->value().data(), current_->value().size());
    }
    current_->Next();
  }
  stored_.valid = have_newest;
  return FromRocks(current_->status(), "reading concepts");
}

absl::Status PublishMerge::Merge(absl::string_view code, absl::string_view new_body, bool stored,
                                 rocksdb::WriteBatch* batch) {
  // Storage baseline (newest entry) and counting baseline (as of the predecessor).
  absl::string_view newest_body, pred_body;
  bool newest_deleted = false;
  if (stored) {
    newest_body = BodyOf(stored_.newest);
    newest_deleted = newest_body.empty();
    if (stored_.has_predecessor) {
      pred_body = stored_.predecessor_is_newest ? newest_body : BodyOf(stored_.at_predecessor);
    }
  }
  const RecordFlags newest = FlagsOf(newest_body), n = FlagsOf(new_body);
  if (n.present) {
    result_.counts.total++;
    if (n.active) result_.counts.total_active++;
    digest_.Add(code, new_body);
  }
  auto put_entry = [&](const std::string& entry, ChangeKind kind) {
    batch->Put(db_.cf(ColumnFamilyId::kConcepts), ConceptKey(system_, code, sequence_), entry);
    batch->Put(db_.cf(ColumnFamilyId::kChanges), ChangeKey(system_, sequence_, code),
               EncodeChange(kind));
  };
  if (n.present && !newest.present) {
    EncodePresentEntryFromBody(new_body, &entry_);
    put_entry(entry_, newest_deleted ? ChangeKind::kReactivated : ChangeKind::kAdded);
    term_queue_->Add(code, absl::string_view(), new_body);
  } else if (n.present && new_body != newest_body) {
    EncodePresentEntryFromBody(new_body, &entry_);
    put_entry(entry_, ChangeKind::kChanged);
    term_queue_->Add(code, newest_body, new_body);
  } else if (!n.present && newest.present) {
    put_entry(EncodeDeletedEntry(), ChangeKind::kDeleted);
    term_queue_->Add(code, newest_body, absl::string_view());
  }
  Count(new_body, pred_body);
  return absl::OkStatus();
}

void PublishMerge::Count(absl::string_view new_body, absl::string_view pred_body) {
  const RecordFlags o = FlagsOf(pred_body), n = FlagsOf(new_body);
  ReleaseCounts& c = result_.counts;
  c.added += n.present && !o.present;
  c.changed += n.present && o.present && new_body != pred_body;
  c.deleted += o.present && !n.present;
  const bool nb = n.present && n.billable, ob = o.present && o.billable;
  const bool nh = n.present && n.header, oh = o.present && o.header;
  c.billable_added += nb && !ob;
  c.billable_removed += ob && !nb;
  c.headers_added += nh && !oh;
  c.headers_removed += oh && !nh;
}

}  // namespace codebook::storage
