// TerminologyImpl::DiffReleases: what differs between two published releases of a system, and
// TerminologyImpl::GetCodeHistory: one code's changes across all of them.
//
// The change index names every code written by each release, so the codes that may differ
// between releases A and B are those indexed by the releases after the earlier one up to the
// later one; each is read as of A and as of B and classified. Cost follows the number of
// changes between the two releases, not the size of the system. A system's supplements
// (supplements.h) are diffed alongside, between the releases that serve A and B, as counts.
#include <algorithm>
#include <functional>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "service/code_systems.h"
#include "service/conversions.h"
#include "service/supplements.h"
#include "service/terminology_impl.h"

namespace codebook::service {
namespace {

constexpr int kDefaultPageSize = 500;
constexpr int kMaxPageSize = 5000;

// Token: "d1:<from sequence>:<to sequence>:<last code, storage form>".
std::string ResumeToken(uint64_t from, uint64_t to, absl::string_view code) {
  return absl::StrCat("d1:", from, ":", to, ":", code);
}

absl::StatusOr<std::string> ResumeAfter(absl::string_view token, uint64_t from, uint64_t to) {
  if (token.empty()) return std::string();
  std::vector<std::string> parts = absl::StrSplit(token, absl::MaxSplits(':', 3));
  uint64_t f, t;
  if (parts.size() != 4 || parts[0] != "d1" || !absl::SimpleAtoi(parts[1], &f) ||
      !absl::SimpleAtoi(parts[2], &t)) {
    return absl::InvalidArgumentError("malformed resume token");
  }
  if (f != from || t != to) {
    return absl::InvalidArgumentError("the resume token belongs to a diff of other releases");
  }
  return parts[3];
}

void Count(const std::vector<v1::ChangeType>& types, v1::DiffSummary* s) {
  for (v1::ChangeType t : types) {
    switch (t) {
      case v1::CHANGE_TYPE_ADDED: s->set_added(s->added() + 1); break;
      case v1::CHANGE_TYPE_DELETED: s->set_deleted(s->deleted() + 1); break;
      case v1::CHANGE_TYPE_REACTIVATED: s->set_reactivated(s->reactivated() + 1); break;
      case v1::CHANGE_TYPE_DISPLAY_CHANGED: s->set_display_changed(s->display_changed() + 1); break;
      case v1::CHANGE_TYPE_DESIGNATION_CHANGED:
        s->set_designation_changed(s->designation_changed() + 1);
        break;
      case v1::CHANGE_TYPE_PROPERTY_CHANGED: s->set_property_changed(s->property_changed() + 1); break;
      case v1::CHANGE_TYPE_BILLABLE_CHANGED: s->set_billable_changed(s->billable_changed() + 1); break;
      default: break;
    }
  }
}

// How `after` differs from `before` (either may be absent); empty if they are the same.
// `forward`: the diff runs from an earlier release to a later one. Only then is a code that was
// deleted as of `before` and is present again "reactivated"; backwards it is simply added.
std::vector<v1::ChangeType> Classify(const storage::CodeState& before,
                                     const storage::CodeState& after, bool forward) {
  using Kind = storage::CodeState::Kind;
  bool b = before.kind == Kind::kPresent, a = after.kind == Kind::kPresent;
  if (!b && a) {
    return {forward && before.kind == Kind::kDeleted ? v1::CHANGE_TYPE_REACTIVATED
                                                     : v1::CHANGE_TYPE_ADDED};
  }
  if (b && !a) return {v1::CHANGE_TYPE_DELETED};
  std::vector<v1::ChangeType> types;
  if (!b && !a) return types;
  const storage::ConceptRecord& x = before.record;
  const storage::ConceptRecord& y = after.record;
  if (x.display != y.display) types.push_back(v1::CHANGE_TYPE_DISPLAY_CHANGED);
  if (x.designations != y.designations) types.push_back(v1::CHANGE_TYPE_DESIGNATION_CHANGED);
  if (x.active != y.active || x.kind != y.kind || x.parent != y.parent ||
      x.added_date != y.added_date || x.action_effective_date != y.action_effective_date ||
      x.termination_date != y.termination_date || x.action_code != y.action_code ||
      x.properties != y.properties) {
    types.push_back(v1::CHANGE_TYPE_PROPERTY_CHANGED);
  }
  if (x.billable != y.billable) types.push_back(v1::CHANGE_TYPE_BILLABLE_CHANGED);
  return types;
}

}  // namespace

namespace {

// Walks every code that differs between releases `from_seq` and `to_seq` of `system`, in code
// order: counts it in *summary and calls fn(code, types, before, after).
absl::Status WalkChanges(
    storage::Reader& reader, absl::string_view system, uint64_t from_seq, uint64_t to_seq,
    v1::DiffSummary* summary,
    const std::function<void(const std::string& code, const std::vector<v1::ChangeType>& types,
                             const storage::CodeState& before, const storage::CodeState& after)>&
        fn) {
  std::vector<std::string> codes;
  absl::Status s =
      reader.ChangedCodes(system, std::min(from_seq, to_seq), std::max(from_seq, to_seq), &codes);
  if (!s.ok()) return s;
  std::vector<storage::CodeState> before, after;
  if (s = reader.ReadMany(system, codes, from_seq, &before); !s.ok()) return s;
  if (s = reader.ReadMany(system, codes, to_seq, &after); !s.ok()) return s;
  using Kind = storage::CodeState::Kind;
  for (size_t i = 0; i < codes.size(); ++i) {
    std::vector<v1::ChangeType> types = Classify(before[i], after[i], from_seq < to_seq);
    if (types.empty()) continue;
    const storage::CodeState& b = before[i];
    const storage::CodeState& a = after[i];
    summary->set_changed_codes(summary->changed_codes() + 1);
    Count(types, summary);
    bool bp = b.kind == Kind::kPresent, ap = a.kind == Kind::kPresent;
    bool bb = bp && b.record.billable, ab = ap && a.record.billable;
    bool bh = bp && b.record.kind == storage::ConceptKind::kHeader;
    bool ah = ap && a.record.kind == storage::ConceptKind::kHeader;
    summary->set_billable_added(summary->billable_added() + (ab && !bb));
    summary->set_billable_removed(summary->billable_removed() + (bb && !ab));
    summary->set_headers_added(summary->headers_added() + (ah && !bh));
    summary->set_headers_removed(summary->headers_removed() + (bh && !ah));
    fn(codes[i], types, b, a);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status TerminologyImpl::DiffReleases(const v1::DiffReleasesRequest& req,
                                           std::vector<v1::DiffReleasesResponse>* out) const {
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(*store_, req.system());
  if (!system.ok()) return system.status();
  if (req.from_version().empty() || req.to_version().empty()) {
    return absl::InvalidArgumentError("a diff needs both a from and a to version");
  }
  int page_size = req.page_size() == 0 ? kDefaultPageSize : req.page_size();
  if (page_size < 0 || page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page size ", req.page_size(), " is outside 1..", kMaxPageSize));
  }
  std::unique_ptr<storage::Reader> reader = store_->NewReader();
  v1::ReleaseSelector from_sel, to_sel;
  from_sel.set_version(req.from_version());
  to_sel.set_version(req.to_version());
  absl::StatusOr<const storage::ReleaseRecord*> from =
      SelectRelease(reader->catalog(), **system, from_sel, Today());
  if (!from.ok()) return from.status();
  absl::StatusOr<const storage::ReleaseRecord*> to =
      SelectRelease(reader->catalog(), **system, to_sel, Today());
  if (!to.ok()) return to.status();
  const uint64_t from_seq = (*from)->sequence, to_seq = (*to)->sequence;
  absl::StatusOr<std::string> resume_after = ResumeAfter(req.resume_token(), from_seq, to_seq);
  if (!resume_after.ok()) return resume_after.status();

  v1::DiffSummary summary;
  auto new_message = [&]() {
    v1::DiffReleasesResponse& m = out->emplace_back();
    ToRef(**from, m.mutable_from());
    ToRef(**to, m.mutable_to());
    return &m;
  };
  out->clear();
  v1::DiffReleasesResponse* msg = new_message();
  std::string last_sent;  // storage form of the last change put in a message
  absl::Status s = WalkChanges(
      *reader, (*system)->id, from_seq, to_seq, &summary,
      [&](const std::string& code, const std::vector<v1::ChangeType>& types,
          const storage::CodeState& b, const storage::CodeState& a) {
        if (req.summary_only() || code <= *resume_after) return;
        if (msg->changes_size() == page_size) {
          // A full message resumes after its last change.
          msg->set_resume_token(ResumeToken(from_seq, to_seq, last_sent));
          msg = new_message();
        }
        last_sent = code;
        v1::ConceptChange* c = msg->add_changes();
        c->set_code(PrintedCode(**system, code));
        for (v1::ChangeType t : types) c->add_types(t);
        if (b.kind == storage::CodeState::Kind::kPresent) {
          ToApi(**system, code, b.record, c->mutable_before());
        }
        if (a.kind == storage::CodeState::Kind::kPresent) {
          ToApi(**system, code, a.record, c->mutable_after());
        }
      });
  if (!s.ok()) return s;
  *out->back().mutable_summary() = summary;
  // The supplements: how the releases serving `from` and `to` differ, in the same snapshot.
  for (const CodeSystemInfo& sup : KnownSystems()) {
    if (sup.supplements != (*system)->id) continue;
    const storage::ReleaseRecord* sf = SupplementFor(reader->catalog(), sup, **from);
    const storage::ReleaseRecord* st = SupplementFor(reader->catalog(), sup, **to);
    if (sf == nullptr && st == nullptr) continue;
    v1::SupplementDiff* d = out->back().add_supplements();
    d->set_system(sup.id);
    if (sf != nullptr) ToRef(*sf, d->mutable_from());
    if (st != nullptr) ToRef(*st, d->mutable_to());
    // A supplement missing on one side differs from the other by all its entries: diff against
    // sequence 0, where nothing is present.
    uint64_t a = sf != nullptr ? sf->sequence : 0, b = st != nullptr ? st->sequence : 0;
    if (a == b) {
      d->mutable_summary();
      continue;
    }
    s = WalkChanges(*reader, sup.id, a, b, d->mutable_summary(),
                    [](const std::string&, const std::vector<v1::ChangeType>&,
                       const storage::CodeState&, const storage::CodeState&) {});
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status TerminologyImpl::GetCodeHistory(const v1::GetCodeHistoryRequest& req,
                                             v1::GetCodeHistoryResponse* resp) const {
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(*store_, req.system());
  if (!system.ok()) return system.status();
  absl::StatusOr<std::string> code = NormalizeCode(**system, req.code());
  if (!code.ok()) return code.status();
  std::unique_ptr<storage::Reader> reader = store_->NewReader();
  std::vector<storage::CodeState> entries;
  absl::Status s = reader->History((*system)->id, *code, &entries);
  if (!s.ok()) return s;
  resp->set_code(PrintedCode(**system, *code));
  resp->clear_events();
  storage::CodeState previous;  // absent before the first entry
  for (const storage::CodeState& entry : entries) {
    const storage::ReleaseRecord* release =
        reader->catalog().FindBySequence((*system)->id, entry.entry_sequence);
    if (release == nullptr || release->state == storage::ReleaseState::kStaged) continue;
    std::vector<v1::ChangeType> types = Classify(previous, entry, /*forward=*/true);
    if (types.empty()) continue;
    v1::CodeHistoryEvent* e = resp->add_events();
    ToRef(*release, e->mutable_release());
    for (v1::ChangeType t : types) e->add_types(t);
    if (previous.kind == storage::CodeState::Kind::kPresent) {
      ToApi(**system, *code, previous.record, e->mutable_before());
    }
    if (entry.kind == storage::CodeState::Kind::kPresent) {
      ToApi(**system, *code, entry.record, e->mutable_after());
    }
    previous = entry;
  }
  std::vector<storage::CodeLinkRecord> predecessors, successors;
  if (s = reader->Links((*system)->id, *code, &predecessors, &successors); !s.ok()) return s;
  resp->clear_predecessors();
  resp->clear_successors();
  for (const auto* list : {&predecessors, &successors}) {
    for (const storage::CodeLinkRecord& l : *list) {
      v1::CodeLink* link = list == &predecessors ? resp->add_predecessors() : resp->add_successors();
      link->set_code(PrintedCode(**system, l.code));
      link->set_previous_code(PrintedCode(**system, l.previous));
      link->set_effective(l.effective);
      link->set_note(l.note);
    }
  }
  if (resp->events_size() == 0 && predecessors.empty() && successors.empty()) {
    return absl::NotFoundError(absl::StrCat("code ", resp->code(), " was never in ", (*system)->id));
  }
  return absl::OkStatus();
}

}  // namespace codebook::service
