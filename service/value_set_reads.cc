// TerminologyImpl's value-set reads: ListValueSets, ExpandValueSet and ValidateCode's value-set
// check. The meaning of definitions, expansion and membership is value_sets.h's.
#include <string>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "service/claims.h"
#include "service/conversions.h"
#include "service/search.h"
#include "service/terminology_impl.h"
#include "service/value_sets.h"
#include "storage/encoding.h"
#include "storage/terms.h"

namespace codebook::service {
namespace {

absl::StatusOr<const storage::ValueSetRecord*> FindValueSet(const storage::Catalog& catalog,
                                                            absl::string_view url,
                                                            absl::string_view version) {
  if (url.empty()) return absl::InvalidArgumentError("no value set url given");
  const storage::ValueSetRecord* vs = catalog.FindValueSet(url, version);
  if (vs == nullptr) {
    return absl::NotFoundError(version.empty()
                                   ? absl::StrCat("no value set ", url)
                                   : absl::StrCat("value set ", url, " has no version ", version));
  }
  return vs;
}

// The value set a request names: `definition` when given (checked as CreateValueSet checks
// one, kept in *given, not stored), else the stored version of url (newest for "").
absl::StatusOr<const storage::ValueSetRecord*> DefinitionOf(const storage::Catalog& catalog,
                                                            const v1::ValueSet* definition,
                                                            const std::string& url,
                                                            const std::string& version,
                                                            storage::ValueSetRecord* given) {
  if (definition == nullptr) return FindValueSet(catalog, url, version);
  *given = FromApi(*definition);
  if (given->version.empty()) given->version = "0";
  if (absl::Status s = CheckValueSet(catalog, given); !s.ok()) return s;
  return given;
}

constexpr int kDefaultExpansionPage = 100;
constexpr int kMaxExpansionPage = 1000;

// Does the concept match every word of the filter (search's word starts and abbreviations), or
// its code start with the filter?
class TextFilter {
 public:
  explicit TextFilter(absl::string_view filter)
      : code_prefix_(absl::AsciiStrToUpper(absl::StripAsciiWhitespace(filter))),
        words_(ParseQuery(filter)) {
    // Terms are lower-case; so must the words be that the text scan looks for.
    for (QueryWord& qw : words_) {
      for (std::vector<std::string>& alt : qw.alternatives) {
        for (std::string& w : alt) absl::AsciiStrToLower(&w);
      }
    }
  }

  bool Matches(const ExpandedConcept& c) {
    const std::string printed = PrintedCode(*c.system, c.code);
    if (absl::StartsWith(printed, code_prefix_) || absl::StartsWith(c.code, code_prefix_)) {
      return true;
    }
    if (words_.empty()) return false;
    // A term is a lower-cased word of the text, so a term starting with w means w occurs in the
    // lower-cased text: a scan of that text rejects most concepts before their terms are made.
    lower_.clear();
    auto append = [&](const std::string& text) {
      for (char ch : text) lower_.push_back(absl::ascii_tolower(static_cast<unsigned char>(ch)));
      lower_.push_back('\n');
    };
    append(c.record.display);
    for (const auto& [use, text] : c.record.designations) append(text);
    for (const QueryWord& qw : words_) {
      bool any = false;
      for (const std::vector<std::string>& alt : qw.alternatives) {
        any = any || std::all_of(alt.begin(), alt.end(), [&](const std::string& w) {
                return absl::StrContains(lower_, w);
              });
      }
      if (!any) return false;
    }
    terms_.Set(c.record);
    auto has_prefix = [&](const std::string& w) {
      auto it = std::lower_bound(terms_.terms().begin(), terms_.terms().end(), w);
      return it != terms_.terms().end() && absl::StartsWith(*it, w);
    };
    for (const QueryWord& qw : words_) {
      bool any = false;
      for (const std::vector<std::string>& alt : qw.alternatives) {
        any = any || std::all_of(alt.begin(), alt.end(), has_prefix);
      }
      if (!any) return false;
    }
    return true;
  }

 private:
  std::string code_prefix_;
  std::vector<QueryWord> words_;
  std::string lower_;        // the concept's text, lower-cased (reused)
  storage::TermList terms_;  // its index terms (reused)
};

void ChangeToApi(const ValueSetChange& c, v1::ValueSetChange* out) {
  static constexpr v1::ValueSetChangeCause kCauses[] = {
      v1::VALUE_SET_CHANGE_CAUSE_CODE_ADDED,         v1::VALUE_SET_CHANGE_CAUSE_CODE_DELETED,
      v1::VALUE_SET_CHANGE_CAUSE_PROPERTY_CHANGED,   v1::VALUE_SET_CHANGE_CAUSE_HIERARCHY_CHANGED,
      v1::VALUE_SET_CHANGE_CAUSE_DEFINITION_CHANGED, v1::VALUE_SET_CHANGE_CAUSE_IMPORT_CHANGED};
  out->set_system(c.system->id);
  out->set_code(PrintedCode(*c.system, c.code));
  out->set_entered(c.entered);
  for (ChangeCause cause : c.causes) out->add_causes(kCauses[static_cast<int>(cause)]);
  if (c.before.has_value()) ToApi(*c.system, c.code, *c.before, out->mutable_before());
  if (c.after.has_value()) ToApi(*c.system, c.code, *c.after, out->mutable_after());
}

}  // namespace

absl::Status TerminologyImpl::ListValueSets(const v1::ListValueSetsRequest& req,
                                            v1::ListValueSetsResponse* resp) const {
  std::shared_ptr<const storage::Catalog> catalog = store_->catalog();
  for (const auto& [url, versions] : catalog->value_sets()) {
    if (!req.url().empty() && url != req.url()) continue;
    for (const storage::ValueSetRecord& r : versions) ToApi(r, resp->add_value_sets());
  }
  if (!req.url().empty() && resp->value_sets_size() == 0) {
    return absl::NotFoundError(absl::StrCat("no value set ", req.url()));
  }
  return absl::OkStatus();
}

absl::Status TerminologyImpl::ExpandValueSet(const v1::ExpandValueSetRequest& req,
                                             v1::ExpandValueSetResponse* resp) const {
  const std::string date = req.date_of_service().empty() ? Today() : req.date_of_service();
  if (!IsValidDate(date)) {
    return absl::InvalidArgumentError(
        absl::StrCat("date of service '", date, "' is not a YYYY-MM-DD date"));
  }
  const int page_size = req.page_size() == 0 ? kDefaultExpansionPage : req.page_size();
  if (page_size < 0 || page_size > kMaxExpansionPage) {
    return absl::InvalidArgumentError(
        absl::StrCat("page size ", req.page_size(), " is outside 1..", kMaxExpansionPage));
  }
  if (req.filter().size() > kMaxQueryLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("the filter is longer than ", kMaxQueryLength, " characters"));
  }
  if (req.offset() < 0 || (req.offset() > 0 && !req.page_token().empty())) {
    return absl::InvalidArgumentError(
        "offset must not be negative, and cannot go with a page token (which holds its own)");
  }
  std::unique_ptr<storage::Reader> reader = store_->NewReader();
  storage::ValueSetRecord given;
  absl::StatusOr<const storage::ValueSetRecord*> vs =
      DefinitionOf(reader->catalog(), req.has_definition() ? &req.definition() : nullptr,
                   req.url(), req.version(), &given);
  if (!vs.ok()) return vs.status();
  absl::StatusOr<std::shared_ptr<const Expansion>> expansion = Expand(*reader, **vs, date);
  if (!expansion.ok()) return expansion.status();

  // The page token: "e1.<offset>.<fingerprint>", the fingerprint of what the pages share (the
  // version, date, filter and the releases used), so a publish between pages is noticed.
  size_t fingerprint =
      absl::HashOf((*vs)->url, (*vs)->version, date, req.filter(), req.active_only(),
                   req.has_definition() ? storage::EncodeValueSet(given) : std::string());
  for (const storage::ReleaseRecord& r : (*expansion)->releases) {
    fingerprint = absl::HashOf(fingerprint, r.system, r.sequence);
  }
  int offset = req.offset();
  if (!req.page_token().empty()) {
    std::vector<std::string> parts = absl::StrSplit(req.page_token(), '.');
    uint64_t fp = 0;
    if (parts.size() != 3 || parts[0] != "e1" || !absl::SimpleAtoi(parts[1], &offset) ||
        offset < 0 || !absl::SimpleHexAtoi(parts[2], &fp)) {
      return absl::InvalidArgumentError("the page token is not one an expansion returned");
    }
    if (fp != static_cast<uint64_t>(fingerprint)) {
      return absl::FailedPreconditionError(
          "the page token belongs to another expansion (other url, version, date or filter, "
          "or a release was published or retracted since the first page): start again");
    }
  }
  ToApi(**vs, resp->mutable_value_set());
  for (const storage::ReleaseRecord& r : (*expansion)->releases) ToRef(r, resp->add_releases());
  const std::vector<ExpandedConcept>& all = (*expansion)->concepts;
  int64_t total = 0;
  auto add = [&](const ExpandedConcept& c) {
    if (total >= offset && total < offset + page_size) {
      v1::ExpansionEntry* e = resp->add_concepts();
      e->set_system(c.system->id);
      ToApi(*c.system, c.code, c.record, e->mutable_concept());
    }
    ++total;
  };
  TextFilter filter(req.filter());
  for (const ExpandedConcept& c : all) {
    if (req.active_only() && !c.record.active) continue;
    if (req.filter().empty() || filter.Matches(c)) add(c);
  }
  resp->set_total(total);
  if (offset + page_size < total) {
    resp->set_next_page_token(absl::StrCat("e1.", offset + page_size, ".",
                                           absl::Hex(static_cast<uint64_t>(fingerprint))));
  }
  return absl::OkStatus();
}

absl::Status TerminologyImpl::DiffValueSet(const v1::DiffValueSetRequest& req,
                                           v1::DiffValueSetResponse* resp) const {
  const std::string from_date = req.from_date().empty() ? Today() : req.from_date();
  const std::string to_date = req.to_date().empty() ? Today() : req.to_date();
  for (const std::string* d : {&from_date, &to_date}) {
    if (!IsValidDate(*d)) {
      return absl::InvalidArgumentError(absl::StrCat("'", *d, "' is not a YYYY-MM-DD date"));
    }
  }
  std::unique_ptr<storage::Reader> reader = store_->NewReader();
  absl::StatusOr<const storage::ValueSetRecord*> from =
      FindValueSet(reader->catalog(), req.url(), req.from_version());
  if (!from.ok()) return from.status();
  absl::StatusOr<const storage::ValueSetRecord*> to =
      FindValueSet(reader->catalog(), req.url(), req.to_version());
  if (!to.ok()) return to.status();
  absl::StatusOr<ValueSetDiff> diff = DiffValueSets(*reader, **from, from_date, **to, to_date);
  if (!diff.ok()) return diff.status();
  resp->set_from_version((*from)->version);
  resp->set_to_version((*to)->version);
  for (const storage::ReleaseRecord& r : diff->from->releases) ToRef(r, resp->add_from_releases());
  for (const storage::ReleaseRecord& r : diff->to->releases) ToRef(r, resp->add_to_releases());
  resp->set_from_total(static_cast<int64_t>(diff->from->concepts.size()));
  resp->set_to_total(static_cast<int64_t>(diff->to->concepts.size()));
  for (const ValueSetChange& c : diff->changes) {
    ChangeToApi(c, resp->add_changes());
    if (c.entered) {
      resp->set_entered(resp->entered() + 1);
    } else {
      resp->set_left(resp->left() + 1);
    }
  }
  return absl::OkStatus();
}

absl::Status TerminologyImpl::ValueSetEvents(const std::string& value_set,
                                             std::map<std::string, int64_t>* cursors,
                                             bool first,
                                             std::vector<v1::ReleaseEvent>* out) const {
  out->clear();
  std::unique_ptr<storage::Reader> reader = store_->NewReader();
  auto [url, version] = SplitCanonical(value_set);
  absl::StatusOr<const storage::ValueSetRecord*> vs =
      FindValueSet(reader->catalog(), url, version);
  if (!vs.ok()) return vs.status();
  if (first) {
    for (const std::string& system : SystemsOf(reader->catalog(), **vs)) {
      (*cursors)[system] = static_cast<int64_t>(reader->catalog().LastEvent(system));
    }
  }
  for (auto& [system, cursor] : *cursors) {
    std::vector<v1::ReleaseEvent> events;
    if (absl::Status s = ReleaseEvents(system, cursor, 1000, &events); !s.ok()) return s;
    for (v1::ReleaseEvent& e : events) {
      cursor = e.sequence();
      const storage::ReleaseRecord* release =
          reader->catalog().Find(system, e.release().version());
      if (release == nullptr) continue;
      absl::StatusOr<ValueSetDiff> impact = EventImpact(
          *reader, **vs, *release, e.type() == v1::RELEASE_EVENT_TYPE_RETRACTED);
      if (!impact.ok()) return impact.status();
      if (impact->changes.empty()) continue;
      v1::ValueSetImpact* vi = e.mutable_value_set();
      vi->set_url((*vs)->url);
      vi->set_version((*vs)->version);
      for (const ValueSetChange& c : impact->changes) {
        v1::ValueSetChange* out_change = vi->add_changes();
        ChangeToApi(c, out_change);
        if (c.entered) {
          vi->set_entered(vi->entered() + 1);
        } else {
          vi->set_left(vi->left() + 1);
        }
      }
      out->push_back(std::move(e));
    }
  }
  return absl::OkStatus();
}

absl::Status TerminologyImpl::CheckInValueSet(const v1::ValidateCodeRequest& req,
                                              const CodeSystemInfo& system,
                                              absl::string_view date,
                                              v1::ValidateCodeResponse* resp) const {
  std::unique_ptr<storage::Reader> reader = store_->NewReader();
  auto [url, version] = SplitCanonical(req.value_set());
  storage::ValueSetRecord given;
  absl::StatusOr<const storage::ValueSetRecord*> vs = DefinitionOf(
      reader->catalog(), req.has_value_set_definition() ? &req.value_set_definition() : nullptr,
      url, version, &given);
  if (!vs.ok()) return vs.status();
  std::string code;
  std::vector<std::string> modifiers;
  SplitModifiers(system, req.code(), &code, &modifiers);
  absl::StatusOr<MembershipResult> m = CheckMembership(*reader, **vs, system.id, code, date);
  if (!m.ok()) return m.status();
  v1::ValueSetCheck* out = resp->mutable_value_set();
  out->set_url((*vs)->url);
  out->set_version((*vs)->version);
  out->set_member(m->outcome == Membership::kMember);
  static constexpr v1::MembershipOutcome kOutcomes[] = {
      v1::MEMBERSHIP_OUTCOME_MEMBER,           v1::MEMBERSHIP_OUTCOME_HEADER,
      v1::MEMBERSHIP_OUTCOME_NOT_IN_DEFINITION, v1::MEMBERSHIP_OUTCOME_DELETED,
      v1::MEMBERSHIP_OUTCOME_NOT_YET_EFFECTIVE, v1::MEMBERSHIP_OUTCOME_UNKNOWN_CODE};
  out->set_outcome(kOutcomes[static_cast<int>(m->outcome)]);
  if (!m->release.version.empty()) ToRef(m->release, out->mutable_release());
  out->set_message(m->message);
  return absl::OkStatus();
}

}  // namespace codebook::service
