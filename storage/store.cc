#include "storage/store.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "storage/encoding.h"
#include "storage/publish_merge.h"
#include "storage/staged_batch.h"
#include "storage/terms.h"

namespace codebook::storage {
namespace {

using Cf = ColumnFamilyId;

std::string StateName(ReleaseState s) {
  switch (s) {
    case ReleaseState::kStaged: return "staged";
    case ReleaseState::kPublished: return "published";
    case ReleaseState::kRetracted: return "retracted";
  }
  return "unknown";
}

}  // namespace

// ---------------------------------------------------------------- Store

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path,
                                                   const StoreOptions& options) {
  auto store = std::unique_ptr<Store>(new Store());
  store->path_ = path;
  store->sync_writes_ = options.sync_writes;

  absl::StatusOr<std::unique_ptr<Database>> database =
      Database::Open(path, options.block_cache_bytes);
  if (!database.ok()) return database.status();
  store->database_ = *std::move(database);
  Store* raw_store = store.get();
  store->settler_ = std::make_unique<Settler>(
      *store->database_,
      // A round frees memtables and rewrites files: bulk work too.
      [raw_store] { raw_store->work_generation_.fetch_add(1, std::memory_order_relaxed); }, path);
  rocksdb::DB* raw = store->db();
  rocksdb::Status s;

  std::string version;
  s = raw->Get(rocksdb::ReadOptions(), std::string(kSchemaVersionKey), &version);
  if (s.IsNotFound()) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = raw->Put(wo, std::string(kSchemaVersionKey), std::to_string(kSchemaVersion));
    if (!s.ok()) return FromRocks(s, "writing schema version");
  } else if (!s.ok()) {
    return FromRocks(s, "reading schema version");
  } else if (version == "1") {
    // Version 1 had no search index: build it, then record the upgrade (a crash before that
    // just rebuilds again).
    absl::Status rebuilt = store->RebuildSearchIndex();
    if (!rebuilt.ok()) return rebuilt;
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = raw->Put(wo, std::string(kSchemaVersionKey), std::to_string(kSchemaVersion));
    if (!s.ok()) return FromRocks(s, "writing schema version");
  } else if (version != std::to_string(kSchemaVersion)) {
    return absl::FailedPreconditionError(
        absl::StrCat("database ", path, " has schema version ", version,
                     "; this server reads schema version ", kSchemaVersion));
  }
  absl::Status loaded = store->LoadCatalog();
  if (!loaded.ok()) return loaded;
  store->views_ = std::make_unique<ViewCache>(
      options.view_cache_bytes,
      [raw_store](const ViewCache::Key& key) {
        return raw_store->LoadPublishedView(key.first, key.second);
      },
      // A build allocates tens of megabytes and frees the view it replaced: bulk work too.
      [raw_store] { raw_store->work_generation_.fetch_add(1, std::memory_order_relaxed); },
      path);
  if (store->views_->enabled()) {
    // Warm up the release each system serves by default.
    auto catalog = store->catalog();
    for (const std::string& system : catalog->Systems()) {
      if (const ReleaseRecord* r = catalog->LatestPublished(system)) {
        (void)store->View(system, r->sequence);
      }
    }
  }
  return store;
}

Store::~Store() {
  views_.reset();  // its builder reads the database, which database_ then closes
  settler_.reset();  // after its queued rounds: the next open finds no log to replay
}

absl::Status Store::LoadCatalog() {
  Catalog::Builder catalog;
  std::unique_ptr<rocksdb::Iterator> it(db()->NewIterator(rocksdb::ReadOptions(), cf(Cf::kReleases)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ReleaseRecord r;
    absl::Status s = DecodeRelease(AsView(it->value()), &r);
    if (!s.ok()) return s;
    catalog.Add(std::move(r));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading releases");
  // The newest event of each system: the last key of its prefix.
  std::unique_ptr<rocksdb::Iterator> ev(db()->NewIterator(rocksdb::ReadOptions(), cf(Cf::kEvents)));
  for (ev->SeekToFirst(); ev->Valid(); ev->Next()) {
    absl::string_view system;
    uint64_t seq;
    if (!DecodeEventKey(AsView(ev->key()), &system, &seq)) {
      return absl::DataLossError("corrupt event key");
    }
    catalog.SeeEvent(system, seq);
  }
  if (!ev->status().ok()) return FromRocks(ev->status(), "reading events");
  std::unique_ptr<rocksdb::Iterator> sys(
      db()->NewIterator(rocksdb::ReadOptions(), cf(Cf::kSystems)));
  for (sys->SeekToFirst(); sys->Valid(); sys->Next()) {
    CodeSystemRecord r;
    absl::Status s = DecodeSystem(AsView(sys->value()), &r);
    if (!s.ok()) return s;
    r.id = std::string(AsView(sys->key()));
    catalog.AddSystem(std::move(r));
  }
  if (!sys->status().ok()) return FromRocks(sys->status(), "reading the code system registry");
  std::unique_ptr<rocksdb::Iterator> vs(
      db()->NewIterator(rocksdb::ReadOptions(), cf(Cf::kValueSets)));
  for (vs->SeekToFirst(); vs->Valid(); vs->Next()) {
    ValueSetRecord r;
    if (!DecodeValueSetKey(AsView(vs->key()), &r.url, &r.version)) {
      return absl::DataLossError("corrupt value set key");
    }
    absl::Status s = DecodeValueSet(AsView(vs->value()), &r);
    if (!s.ok()) return s;
    catalog.AddValueSet(std::move(r));
  }
  if (!vs->status().ok()) return FromRocks(vs->status(), "reading the value sets");
  std::shared_ptr<const Catalog> loaded = catalog.Finish();
  absl::MutexLock l(&catalog_mu_);
  catalog_ = std::move(loaded);
  return absl::OkStatus();
}

std::shared_ptr<const Catalog> Store::catalog() const {
  absl::MutexLock l(&catalog_mu_);
  return catalog_;
}

std::unique_ptr<Reader> Store::NewReader() const {
  return std::make_unique<Reader>(
      database_.get(),
      [this](absl::string_view system, uint64_t sequence) { return View(system, sequence); },
      catalog());
}

std::shared_ptr<const ReleaseView> Store::View(absl::string_view system,
                                               uint64_t sequence) const {
  if (!views_->enabled()) return nullptr;
  // Only published releases have views: data at an unpublished sequence may still change.
  // The record lives in this catalog: hold it while reading (a publish may replace it).
  std::shared_ptr<const Catalog> snapshot = catalog();
  const ReleaseRecord* r = snapshot->FindBySequence(system, sequence);
  if (r == nullptr || r->state == ReleaseState::kStaged) return nullptr;
  return views_->Get({std::string(system), sequence});
}

std::pair<size_t, size_t> Store::ViewCounts() const { return views_->Counts(); }

void Store::DropUnreadView(absl::string_view system, uint64_t sequence) const {
  views_->DropUnread({std::string(system), sequence});
}

absl::StatusOr<std::shared_ptr<ReleaseView>> Store::LoadPublishedView(absl::string_view system,
                                                                      uint64_t sequence) const {
  std::shared_ptr<const Catalog> snapshot = catalog();  // keeps *r alive
  const ReleaseRecord* r = snapshot->FindBySequence(system, sequence);
  if (r == nullptr || r->state == ReleaseState::kStaged) {
    return absl::FailedPreconditionError(
        absl::StrCat(system, " has no published release with sequence ", sequence));
  }
  return LoadView(system, sequence);
}

absl::Status Store::BuildView(absl::string_view system, uint64_t sequence) const {
  absl::StatusOr<std::shared_ptr<ReleaseView>> view = LoadPublishedView(system, sequence);
  if (!view.ok()) return view.status();
  views_->Insert({std::string(system), sequence}, *std::move(view));
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<ReleaseView>> Store::LoadView(absl::string_view system,
                                                             uint64_t sequence) const {
  ReleaseView::Entries entries;
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db()->NewIterator(ro, cf(Cf::kConcepts)));
  absl::Status s = ForEachEntryAsOf(
      it.get(), system, sequence,
      [&](absl::string_view code, uint64_t seq, absl::string_view entry) {
        if (absl::string_view body; PresentBody(entry, &body)) {
          entries.emplace(std::string(code), ReleaseView::Entry{seq, std::string(body)});
        }
        return true;
      });
  if (!s.ok()) return s;
  return ReleaseView::Build(system, std::move(entries));
}

void Store::SetEventListener(std::function<void(const std::string& system)> listener) {
  absl::MutexLock l(&write_mu_);
  event_listener_ = std::move(listener);
}

uint64_t Store::AddEvent(rocksdb::WriteBatch* batch, absl::string_view system, EventKind kind,
                         absl::string_view version, int64_t now_micros) {
  EventRecord e;
  e.sequence = catalog()->LastEvent(system) + 1;
  e.kind = kind;
  e.version = std::string(version);
  e.time_micros = now_micros;
  batch->Put(cf(Cf::kEvents), EventKey(system, e.sequence), EncodeEvent(e));
  return e.sequence;
}

void Store::ReplaceRelease(const ReleaseRecord& r, bool erase, uint64_t last_event) {
  std::shared_ptr<const Catalog> next = catalog()->With(r, erase, last_event);
  absl::MutexLock l(&catalog_mu_);
  catalog_ = std::move(next);
}

void Store::Settle(DeadRange dead) const { settler_->Add(std::move(dead)); }

absl::StatusOr<ReleaseRecord> Store::StagedRelease(absl::string_view system,
                                                   absl::string_view version) {
  std::shared_ptr<const Catalog> snapshot = catalog();  // keeps *r alive
  const ReleaseRecord* r = snapshot->Find(system, version);
  if (r == nullptr) {
    return absl::NotFoundError(absl::StrCat(system, " has no release ", version));
  }
  if (r->state != ReleaseState::kStaged) {
    return absl::FailedPreconditionError(absl::StrCat(system, " release ", version, " is ",
                                                      StateName(r->state), ", not staged"));
  }
  return *r;
}

absl::StatusOr<CodeSystemRecord> Store::RegisterSystem(CodeSystemRecord r, int64_t now_micros,
                                                       bool* created) {
  if (created != nullptr) *created = false;
  if (r.id.empty() || r.uri.empty()) {
    return absl::InvalidArgumentError("a code system needs an id and a URI");
  }
  if (r.id.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("a code system id cannot hold a 0x00 byte");
  }
  absl::MutexLock l(&write_mu_);
  std::shared_ptr<const Catalog> snapshot = catalog();  // keeps *existing alive
  if (const CodeSystemRecord* existing = snapshot->FindRegistered(r.id)) {
    if (existing->SameDefinition(r)) return *existing;  // *created stays false
    return absl::AlreadyExistsError(absl::StrCat("code system ", r.id,
                                                 " is registered with another definition (URI ",
                                                 existing->uri, ")"));
  }
  if (const CodeSystemRecord* same_uri = snapshot->FindRegisteredByUri(r.uri)) {
    return absl::AlreadyExistsError(
        absl::StrCat("code system ", same_uri->id, " is registered with URI ", r.uri));
  }
  r.create_time_micros = now_micros;
  rocksdb::WriteOptions wo;
  wo.sync = sync_writes_;
  rocksdb::Status s = db()->Put(wo, cf(Cf::kSystems), SystemKey(r.id), EncodeSystem(r));
  if (!s.ok()) return FromRocks(s, "registering code system");
  std::shared_ptr<const Catalog> next = snapshot->WithSystem(r);
  {
    absl::MutexLock cl(&catalog_mu_);
    catalog_ = std::move(next);
  }
  if (created != nullptr) *created = true;
  return r;
}

absl::StatusOr<ValueSetRecord> Store::CreateValueSet(ValueSetRecord r, int64_t now_micros,
                                                     bool* created) {
  if (created != nullptr) *created = false;
  if (r.url.empty() || r.version.empty()) {
    return absl::InvalidArgumentError("a value set needs a url and a version");
  }
  if (r.url.find('\0') != std::string::npos || r.version.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("a value set's url or version cannot hold a 0x00 byte");
  }
  absl::MutexLock l(&write_mu_);
  std::shared_ptr<const Catalog> snapshot = catalog();
  if (const ValueSetRecord* existing = snapshot->FindValueSet(r.url, r.version)) {
    if (existing->SameRules(r)) return *existing;
    return absl::AlreadyExistsError(
        absl::StrCat("value set ", r.url, " version ", r.version,
                     " exists with other rules; a version never changes: give the new "
                     "definition a new version"));
  }
  r.create_time_micros = now_micros;
  rocksdb::WriteOptions wo;
  wo.sync = sync_writes_;
  rocksdb::Status s =
      db()->Put(wo, cf(Cf::kValueSets), ValueSetKey(r.url, r.version), EncodeValueSet(r));
  if (!s.ok()) return FromRocks(s, "storing a value set");
  std::shared_ptr<const Catalog> next = snapshot->WithValueSet(r);
  {
    absl::MutexLock cl(&catalog_mu_);
    catalog_ = std::move(next);
  }
  if (created != nullptr) *created = true;
  return r;
}

absl::StatusOr<ReleaseRecord> Store::CreateRelease(absl::string_view system,
                                                   absl::string_view version,
                                                   absl::string_view effective_date,
                                                   absl::string_view description,
                                                   int64_t now_micros,
                                                   absl::string_view resource_json) {
  absl::MutexLock l(&write_mu_);
  std::shared_ptr<const Catalog> snapshot = catalog();  // keeps *existing alive
  if (const ReleaseRecord* existing = snapshot->Find(system, version)) {
    return absl::AlreadyExistsError(absl::StrCat(system, " already has a release ", version, " (",
                                                 StateName(existing->state), ")"));
  }
  ReleaseRecord r;
  r.system = std::string(system);
  r.version = std::string(version);
  r.effective_date = std::string(effective_date);
  r.state = ReleaseState::kStaged;
  r.description = std::string(description);
  r.create_time_micros = now_micros;
  r.resource_json = std::string(resource_json);
  rocksdb::WriteOptions wo;
  wo.sync = sync_writes_;
  rocksdb::Status s = db()->Put(wo, cf(Cf::kReleases), ReleaseKey(system, version), EncodeRelease(r));
  if (!s.ok()) return FromRocks(s, "creating release");
  ReplaceRelease(r, /*erase=*/false);
  return r;
}

absl::StatusOr<ReleaseRecord> Store::AddStagedConcepts(absl::string_view system,
                                                       absl::string_view version,
                                                       const std::vector<StagedConcept>& concepts) {
  StagedBatch batch;
  for (const StagedConcept& c : concepts) batch.Add(c.code, c.record);
  return AddStagedConcepts(system, version, std::move(batch));
}

absl::StatusOr<ReleaseRecord> Store::AddStagedConcepts(absl::string_view system,
                                                       absl::string_view version,
                                                       StagedBatch concepts) {
  absl::MutexLock l(&write_mu_);
  absl::StatusOr<ReleaseRecord> release = StagedRelease(system, version);
  if (!release.ok()) return release.status();
  return StageLocked(*std::move(release), &concepts);
}

absl::StatusOr<ReleaseRecord> Store::StageLocked(ReleaseRecord release, StagedBatch* concepts) {
  const std::string& system = release.system;
  const std::string& version = release.version;
  if (absl::Status s = concepts->Sort(absl::StrCat(system, " ", version)); !s.ok()) return s;
  // Reserving the batch up front saves copying tens of MB as it grows (untouched reserved pages
  // cost nothing).
  size_t estimate = 1024;
  for (size_t i = 0; i < concepts->size(); ++i) {
    estimate += 32 + 2 * concepts->code(i).size() + version.size() + system.size() +
                concepts->body(i).size();
  }
  rocksdb::WriteBatch batch(estimate);
  std::string key;
  for (size_t i = 0; i < concepts->size(); ++i) {
    key = StagingKey(system, version, concepts->code(i));
    if (release.staged_concepts > 0) {
      std::string existing;
      rocksdb::Status g = db()->Get(rocksdb::ReadOptions(), cf(Cf::kStaging), key, &existing);
      if (g.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("code ", concepts->code(i),
                                                       " was already uploaded to ", system, " ",
                                                       version));
      }
      if (!g.IsNotFound()) return FromRocks(g, "reading staged concepts");
    }
    absl::string_view body = concepts->body(i);
    batch.Put(cf(Cf::kStaging), key, rocksdb::Slice(body.data(), body.size()));
  }
  release.staged_concepts += static_cast<int64_t>(concepts->size());
  batch.Put(cf(Cf::kReleases), ReleaseKey(system, version), EncodeRelease(release));
  // Not synced: the concepts and the release record share one batch, so a crash keeps or loses
  // this upload whole, and the synced publish write makes everything before it durable.
  rocksdb::Status s = db()->Write(rocksdb::WriteOptions(), &batch);
  if (!s.ok()) return FromRocks(s, "staging concepts");
  ReplaceRelease(release, /*erase=*/false);
  work_generation_.fetch_add(1, std::memory_order_relaxed);
  return release;
}

absl::StatusOr<ReleaseRecord> Store::Publish(absl::string_view system, absl::string_view version,
                                             int64_t now_micros) {
  absl::MutexLock l(&write_mu_);
  return PublishLocked(system, version, nullptr, now_micros);
}

absl::StatusOr<ReleaseRecord> Store::PublishUpload(absl::string_view system,
                                                   absl::string_view version,
                                                   StagedBatch concepts, int64_t now_micros) {
  absl::MutexLock l(&write_mu_);
  absl::StatusOr<ReleaseRecord> release = StagedRelease(system, version);
  if (!release.ok()) return release.status();
  if (release->staged_concepts > 0) {
    // Concepts staged before: stage these with them, then publish them all.
    absl::StatusOr<ReleaseRecord> staged = StageLocked(*std::move(release), &concepts);
    if (!staged.ok()) return staged.status();
    return PublishLocked(system, version, nullptr, now_micros);
  }
  if (absl::Status s = concepts.Sort(absl::StrCat(system, " ", version)); !s.ok()) return s;
  return PublishLocked(system, version, &concepts, now_micros);
}

absl::StatusOr<ReleaseRecord> Store::PublishLocked(absl::string_view system,
                                                   absl::string_view version,
                                                   const StagedBatch* uploaded,
                                                   int64_t now_micros) {
  absl::StatusOr<ReleaseRecord> release = StagedRelease(system, version);
  if (!release.ok()) return release.status();
  if (uploaded != nullptr) release->staged_concepts = static_cast<int64_t>(uploaded->size());
  if (release->staged_concepts == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(system, " release ", version, " has no concepts; upload some first"));
  }
  std::shared_ptr<const Catalog> catalog = this->catalog();
  const ReleaseRecord* latest = catalog->LatestPublished(system);
  // Several releases may take effect on one day (FHIR code systems often publish versions on
  // the same date): the one published last is then the one in force from that day.
  if (latest != nullptr && release->effective_date < latest->effective_date) {
    return absl::FailedPreconditionError(absl::StrCat(
        system, " ", version, " (effective ", release->effective_date,
        ") cannot be published after ", latest->version, " (effective ", latest->effective_date,
        "): releases of a system are published in effective-date order"));
  }
  uint64_t sequence = 1;
  for (const ReleaseRecord& r : catalog->Releases(system)) {
    sequence = std::max(sequence, r.sequence + 1);
  }

  // The delta against the stored concepts, the change rows, the index entries and the
  // checksum, into one batch with the release record, its event and the staging cleanup.
  // A generous reservation (see AddStagedConcepts): entries plus change rows.
  rocksdb::WriteBatch batch(static_cast<size_t>(release->staged_concepts) * 1024);
  absl::StatusOr<PublishMerge::Result> merged =
      PublishMerge(*database_, system, version, sequence,
                   latest != nullptr ? latest->sequence : 0, uploaded)
          .Run(&batch);
  if (!merged.ok()) return merged.status();
  if (merged->counts.total != release->staged_concepts) {
    return absl::DataLossError(absl::StrCat("staged concept count mismatch for ", system, " ",
                                            version, ": ", merged->counts.total, " read, ",
                                            release->staged_concepts, " recorded"));
  }
  const std::string staged_prefix = StagingPrefix(system, version);
  release->state = ReleaseState::kPublished;
  release->sequence = sequence;
  release->counts = merged->counts;
  release->checksum = merged->checksum;
  release->publish_time_micros = now_micros;
  batch.Put(cf(Cf::kReleases), ReleaseKey(system, version), EncodeRelease(*release));
  if (uploaded == nullptr) {
    batch.DeleteRange(cf(Cf::kStaging), staged_prefix, PrefixEnd(staged_prefix));
  }
  uint64_t event = AddEvent(&batch, system, EventKind::kPublished, version, now_micros);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = db()->Write(wo, &batch);
  if (!s.ok()) return FromRocks(s, "publishing release");
  ReplaceRelease(*release, /*erase=*/false, event);
  if (latest != nullptr) DropUnreadView(system, latest->sequence);
  (void)View(system, sequence);  // queue its view: a new release is usually read next
  if (event_listener_) event_listener_(std::string(system));
  Settle(uploaded == nullptr ? DeadRange{cf(Cf::kStaging), staged_prefix, PrefixEnd(staged_prefix)}
                             : DeadRange{});
  return release;
}

absl::Status Store::Discard(absl::string_view system, absl::string_view version) {
  absl::MutexLock l(&write_mu_);
  absl::StatusOr<ReleaseRecord> release = StagedRelease(system, version);
  if (!release.ok()) return release.status();
  rocksdb::WriteBatch batch;
  std::string prefix = StagingPrefix(system, version);
  batch.DeleteRange(cf(Cf::kStaging), prefix, PrefixEnd(prefix));
  batch.Delete(cf(Cf::kReleases), ReleaseKey(system, version));
  rocksdb::WriteOptions wo;
  wo.sync = sync_writes_;
  rocksdb::Status s = db()->Write(wo, &batch);
  if (!s.ok()) return FromRocks(s, "discarding release");
  ReplaceRelease(*release, /*erase=*/true);
  Settle({cf(Cf::kStaging), prefix, PrefixEnd(prefix)});
  return absl::OkStatus();
}

absl::StatusOr<ReleaseRecord> Store::Retract(absl::string_view system, absl::string_view version,
                                             absl::string_view reason, int64_t now_micros) {
  absl::MutexLock l(&write_mu_);
  std::shared_ptr<const Catalog> snapshot = catalog();  // keeps *found alive
  const ReleaseRecord* found = snapshot->Find(system, version);
  if (found == nullptr) {
    return absl::NotFoundError(absl::StrCat(system, " has no release ", version));
  }
  if (found->state != ReleaseState::kPublished) {
    return absl::FailedPreconditionError(absl::StrCat(
        system, " release ", version, " is ", StateName(found->state), ", not published"));
  }
  ReleaseRecord r = *found;
  r.state = ReleaseState::kRetracted;
  r.retract_reason = std::string(reason);
  r.retract_time_micros = now_micros;
  rocksdb::WriteBatch batch;
  batch.Put(cf(Cf::kReleases), ReleaseKey(system, version), EncodeRelease(r));
  uint64_t event = AddEvent(&batch, system, EventKind::kRetracted, version, now_micros);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = db()->Write(wo, &batch);
  if (!s.ok()) return FromRocks(s, "retracting release");
  ReplaceRelease(r, /*erase=*/false, event);
  // A retracted release is read only by explicit version: its warm-up view goes, and the
  // system's newest published release, the default again, is warmed in its place.
  DropUnreadView(system, r.sequence);
  std::shared_ptr<const Catalog> now = catalog();  // keeps *latest alive
  if (const ReleaseRecord* latest = now->LatestPublished(system)) {
    (void)View(system, latest->sequence);
  }
  if (event_listener_) event_listener_(std::string(system));
  Settle();
  return r;
}

absl::Status Store::AddLinks(absl::string_view system,
                             const std::vector<CodeLinkRecord>& links) {
  absl::MutexLock l(&write_mu_);
  rocksdb::WriteBatch batch;
  for (const CodeLinkRecord& link : links) {
    std::string value = EncodeLink(link);
    batch.Put(cf(Cf::kLinks), LinkKey(system, link.code, LinkKind::kPredecessors, link.previous),
              value);
    batch.Put(cf(Cf::kLinks), LinkKey(system, link.previous, LinkKind::kSuccessors, link.code),
              value);
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = db()->Write(wo, &batch);
  if (!s.ok()) return FromRocks(s, "storing code links");
  Settle();
  return absl::OkStatus();
}

absl::Status Store::RebuildSearchIndex() {
  absl::MutexLock l(&write_mu_);
  rocksdb::WriteOptions wo;
  rocksdb::Status rs = db()->DeleteRange(wo, cf(Cf::kTerms), "", "\xff");
  if (!rs.ok()) return FromRocks(rs, "clearing the search index");
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db()->NewIterator(ro, cf(Cf::kConcepts)));
  // The changes of each release of the system being read; written when the next system starts.
  std::string system, code;
  std::map<uint64_t, TermChanges> releases;
  std::vector<std::pair<uint64_t, std::string>> entries;  // one code's, newest first as stored
  auto flush_code = [&]() -> absl::Status {
    std::string previous;  // body as of the entry before; empty: not present
    for (auto e = entries.rbegin(); e != entries.rend(); ++e) {
      absl::string_view body;
      if (!PresentBody(e->second, &body)) body = absl::string_view();
      absl::Status s = releases[e->first].Add(code, previous, body);
      if (!s.ok()) return s;
      previous.assign(body.data(), body.size());
    }
    entries.clear();
    return absl::OkStatus();
  };
  auto flush_system = [&]() -> absl::Status {
    for (auto& [seq, changes] : releases) {
      rocksdb::WriteBatch batch;
      changes.Write(*database_, &batch, system, seq);
      rocksdb::Status w = db()->Write(wo, &batch);
      if (!w.ok()) return FromRocks(w, "writing the search index");
    }
    releases.clear();
    return absl::OkStatus();
  };
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    absl::string_view sys, c;
    uint64_t seq;
    if (!SplitConceptKey(AsView(it->key()), &sys, &c, &seq) || it->value().empty()) {
      return absl::DataLossError("corrupt concept entry while rebuilding the search index");
    }
    if (!entries.empty() && (sys != system || c != code)) {
      absl::Status s = flush_code();
      if (s.ok() && sys != system) s = flush_system();
      if (!s.ok()) return s;
    }
    system.assign(sys.data(), sys.size());
    code.assign(c.data(), c.size());
    entries.emplace_back(seq, std::string(AsView(it->value())));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading concepts");
  absl::Status s = entries.empty() ? absl::OkStatus() : flush_code();
  if (s.ok()) s = flush_system();
  if (!s.ok()) return s;
  rocksdb::Status synced = db()->FlushWAL(/*sync=*/true);
  if (!synced.ok()) return FromRocks(synced, "syncing the search index");
  Settle({cf(Cf::kTerms), "", "\xff"});  // the old index, deleted above
  return absl::OkStatus();
}

absl::Status Store::Checkpoint(const std::string& dir) {
  return storage::Checkpoint(*database_, dir);
}

absl::StatusOr<std::vector<ReleaseRecord>> Store::VerifyChecksums() const {
  return storage::VerifyChecksums(*database_, *catalog());
}

absl::Status Store::CompactAll() { return storage::CompactAll(*database_); }

absl::StatusOr<std::map<std::string, uint64_t>> Store::SizeByColumnFamily() const {
  return storage::SizeByColumnFamily(*database_);
}

absl::StatusOr<StoreFootprint> Store::Footprint() const {
  absl::StatusOr<StoreFootprint> f = storage::Footprint(*database_);
  if (f.ok()) f->background_jobs += settler_->pending();
  return f;
}

absl::StatusOr<uint64_t> Store::SizeOnDisk() const { return storage::SizeOnDisk(*database_); }

}  // namespace codebook::storage
