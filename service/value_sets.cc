#include "service/value_sets.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "re2/re2.h"
#include "service/conversions.h"
#include "service/hierarchy.h"
#include "service/supplements.h"
#include "service/tabular.h"
#include "storage/encoding.h"

namespace codebook::service {
namespace {

using storage::ConceptRecord;
using storage::ReleaseRecord;
using storage::ValueSetFilterRecord;
using storage::ValueSetRecord;
using storage::ValueSetRuleRecord;

constexpr size_t kMaxImportDepth = 16;
constexpr size_t kCachedExpansions = 256;

bool HierarchyProperty(absl::string_view p) { return p == "concept" || p == "code"; }

bool Printable(absl::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}


bool BooleanValue(absl::string_view v) { return v == "true" || v == "false"; }

// The storage form of a hierarchy filter's value: a code of the system, or (CPT, HCPCS) the id
// of one of its groups ("E", "SURGERY"), upper-cased.
absl::StatusOr<std::string> HierarchyValue(const CodeSystemInfo& system, absl::string_view v) {
  absl::StatusOr<std::string> code = NormalizeCode(system, v);
  if (code.ok()) return code;
  if (system.format == CodeFormat::kIcd10Cm) {
    // A Tabular block ("E08-E13") or chapter ("CHAPTER-4").
    std::string section = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(v));
    if (RE2::FullMatch(section, "[A-Z][0-9][0-9A-Z]-[A-Z][0-9][0-9A-Z]|CHAPTER-[0-9]{1,2}")) {
      return section;
    }
  }
  if (system.format == CodeFormat::kCpt || system.format == CodeFormat::kHcpcs) {
    std::string group = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(v));
    if (!group.empty() && Printable(group)) return group;
  }
  return code.status();
}

// `system` null: a system not known here, whose values cannot be checked.
absl::Status CheckFilter(const CodeSystemInfo* system, ValueSetFilterRecord* f,
                         const std::string& where) {
  auto invalid = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": filter ", f->property, " ", f->op,
                                                   " '", f->value, "': ", what));
  };
  static const char* const kOps[] = {"is-a", "descendent-of", "child-of", "=", "in",
                                     "not-in", "regex", "exists"};
  if (std::find(std::begin(kOps), std::end(kOps), f->op) == std::end(kOps)) {
    return invalid("the operator is not one of is-a, descendent-of, child-of, =, in, not-in, "
                   "regex, exists");
  }
  if (f->property.empty()) return invalid("no property");
  const bool hierarchy_op =
      f->op == "is-a" || f->op == "descendent-of" || f->op == "child-of";
  if (hierarchy_op && !HierarchyProperty(f->property)) {
    return invalid("is-a, descendent-of and child-of apply to the property 'concept'");
  }
  if (f->op == "exists") {
    if (!BooleanValue(f->value)) return invalid("exists takes true or false");
    if (HierarchyProperty(f->property)) return invalid("every concept has a code");
    return absl::OkStatus();
  }
  if (f->op == "regex") {
    RE2::Options options;
    options.set_log_errors(false);
    RE2 re(f->value, options);
    if (!re.ok()) return invalid(absl::StrCat("not a regular expression: ", re.error()));
    return absl::OkStatus();
  }
  // No value (FHIR allows a definition to say why, as an extension): kept, and expanding
  // it is an error.
  if (system == nullptr || f->value.empty()) return absl::OkStatus();
  if (HierarchyProperty(f->property) || f->property == "parent") {
    std::vector<std::string> values;
    for (absl::string_view v : absl::StrSplit(f->value, ',')) {
      absl::StatusOr<std::string> code = HierarchyValue(*system, v);
      if (!code.ok()) return invalid(code.status().message());
      values.push_back(*std::move(code));
    }
    if ((f->op != "in" && f->op != "not-in") && values.size() != 1) {
      return invalid("one code");
    }
    f->value = absl::StrJoin(values, ",");
    return absl::OkStatus();
  }
  // A registered system's concepts may have properties of these names (FHIR's "status"):
  // their values are the publisher's.
  if (system->format == CodeFormat::kPattern) return absl::OkStatus();
  if (f->property == "billable" && !BooleanValue(f->value)) return invalid("true or false");
  if (f->property == "kind" && f->op == "=" && f->value != "code" && f->value != "header" &&
      f->value != "modifier") {
    return invalid("code, header or modifier");
  }
  if (f->property == "status" && f->op == "=" && f->value != "active" &&
      f->value != "inactive") {
    return invalid("active or inactive");
  }
  return absl::OkStatus();
}

absl::Status CheckRule(const storage::Catalog& catalog, const std::string& own_url,
                       ValueSetRuleRecord* rule, const std::string& where) {
  if (rule->system.empty() && rule->value_sets.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": names neither a code system nor a value set"));
  }
  if (rule->system.empty() && (!rule->codes.empty() || !rule->filters.empty() ||
                               !rule->version.empty())) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": codes, filters and a version need a code system"));
  }
  absl::StatusOr<const CodeSystemInfo*> system =
      rule->system.empty() ? nullptr : FindSystemByIdOrUri(catalog, rule->system);
  if (!system.ok() && system.status().code() != absl::StatusCode::kNotFound) {
    return system.status();
  }
  if (!system.ok()) {
    // A system not known here (yet): kept as written, like FHIR's value sets, which may be
    // loaded before their code systems; expanding it says so. Its filters' operators are still
    // checked.
    for (ValueSetFilterRecord& f : rule->filters) {
      if (absl::Status s = CheckFilter(nullptr, &f, where); !s.ok()) return s;
    }
  } else if (*system != nullptr) {
    rule->system = (*system)->id;
    for (std::string& code : rule->codes) {
      absl::StatusOr<std::string> normal = NormalizeCode(**system, code);
      if (!normal.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": ", normal.status().message()));
      }
      code = *std::move(normal);
    }
    for (ValueSetFilterRecord& f : rule->filters) {
      if (absl::Status s = CheckFilter(*system, &f, where); !s.ok()) return s;
    }
  }
  std::sort(rule->codes.begin(), rule->codes.end());
  rule->codes.erase(std::unique(rule->codes.begin(), rule->codes.end()), rule->codes.end());
  for (const std::string& canonical : rule->value_sets) {
    auto [url, version] = SplitCanonical(canonical);
    if (url.empty()) return absl::InvalidArgumentError(absl::StrCat(where, ": an empty import"));
    if (url == own_url) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": a value set cannot import itself"));
    }
  }
  return absl::OkStatus();
}

// ---- expansion ----

std::string MemberKey(absl::string_view system, absl::string_view code) {
  return absl::StrCat(system, absl::string_view("\0", 1), code);
}

using Members = std::map<std::string, ExpandedConcept>;  // MemberKey -> concept

// Every concept of one release, for filters that look at all of them.
struct LoadedRelease {
  std::vector<std::pair<std::string, ConceptRecord>> concepts;  // code order
  absl::flat_hash_map<std::string, size_t> index;               // code -> position
};

class Expander {
 public:
  Expander(storage::Reader& reader, std::string date, const ReleasePins* pins)
      : reader_(reader), date_(std::move(date)), pins_(pins) {}

  // The cache key of `vs` on this date: its definition and those it imports, with the release
  // (by checksum, so that no two stores' releases share a key) each rule reads.
  absl::Status Key(const ValueSetRecord& vs, std::string* key, size_t depth = 0) {
    if (depth > kMaxImportDepth) return Cycle(vs);
    absl::StrAppend(key, vs.url, "|", vs.version, "|", storage::EncodeValueSet(vs), "|");
    for (const auto* rules : {&vs.includes, &vs.excludes}) {
      for (const ValueSetRuleRecord& rule : *rules) {
        if (!rule.system.empty()) {
          absl::StatusOr<const ReleaseRecord*> r = ReleaseFor(rule);
          if (!r.ok()) return r.status();
          absl::StrAppend(key, rule.system, ":", (*r)->checksum, "|");
        }
        for (const std::string& canonical : rule.value_sets) {
          absl::StatusOr<const ValueSetRecord*> inner = Imported(canonical);
          if (!inner.ok()) return inner.status();
          if (absl::Status s = Key(**inner, key, depth + 1); !s.ok()) return s;
        }
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Members> Run(const ValueSetRecord& vs, size_t depth = 0) {
    if (depth > kMaxImportDepth) return Cycle(vs);
    Members in;
    for (const ValueSetRuleRecord& rule : vs.includes) {
      absl::StatusOr<Members> got = Rule(rule, depth);
      if (!got.ok()) return got.status();
      in.merge(*got);
    }
    for (const ValueSetRuleRecord& rule : vs.excludes) {
      absl::StatusOr<Members> got = Rule(rule, depth);
      if (!got.ok()) return got.status();
      for (const auto& [key, c] : *got) in.erase(key);
    }
    return in;
  }

  std::vector<ReleaseRecord> used() const {
    std::vector<ReleaseRecord> out;
    for (const auto& [key, r] : used_) out.push_back(r);
    return out;
  }

 private:
  absl::Status Cycle(const ValueSetRecord& vs) {
    return absl::FailedPreconditionError(
        absl::StrCat("value set ", vs.url, " imports value sets ", kMaxImportDepth,
                     " deep or in a cycle"));
  }

  absl::StatusOr<const ValueSetRecord*> Imported(const std::string& canonical) {
    auto [url, version] = SplitCanonical(canonical);
    const ValueSetRecord* r = reader_.catalog().FindValueSet(url, version);
    if (r == nullptr) return absl::NotFoundError(absl::StrCat("no value set ", canonical));
    return r;
  }

  // The Tabular serving ICD-10-CM `release` (SupplementFor), read once per expansion; null
  // when the server holds none for it.
  absl::StatusOr<const TabularRelease*> TabularFor(const ReleaseRecord& release) {
    auto it = tabulars_.find(release.sequence);
    if (it != tabulars_.end()) return it->second.get();
    std::shared_ptr<const TabularRelease> tabular;
    absl::StatusOr<const CodeSystemInfo*> supplement = FindBuiltInSystem("ICD10CM-TABULAR");
    if (!supplement.ok()) return supplement.status();
    if (const ReleaseRecord* r = SupplementFor(reader_.catalog(), **supplement, release)) {
      absl::StatusOr<std::shared_ptr<const TabularRelease>> loaded =
          TabularRelease::Load(reader_, *r);
      if (!loaded.ok()) return loaded.status();
      tabular = *std::move(loaded);
    }
    return (tabulars_[release.sequence] = std::move(tabular)).get();
  }

  // Whether `filters` need the Tabular: a chapter or block filter, or a hierarchy filter whose
  // value is a block or chapter.
  static bool UsesTabular(const std::vector<ValueSetFilterRecord>& filters) {
    for (const ValueSetFilterRecord& f : filters) {
      if (f.property == "chapter" || f.property == "block") return true;
      if (HierarchyProperty(f.property) && f.op != "regex" &&
          f.value.find('-') != std::string::npos) {
        return true;
      }
    }
    return false;
  }

  const ReleaseRecord* Pinned(const std::string& system) const {
    if (pins_ == nullptr) return nullptr;
    auto it = pins_->find(system);
    return it == pins_->end() ? nullptr : &it->second;
  }

  // The rule's system: by id, or (one not known when the value set was stored) by URI.
  absl::StatusOr<const CodeSystemInfo*> SystemOf(const ValueSetRuleRecord& rule) {
    absl::StatusOr<const CodeSystemInfo*> system =
        FindSystemByIdOrUri(reader_.catalog(), rule.system);
    if (!system.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the value set needs code system ", rule.system,
                       ", which is not known here"));
    }
    return system;
  }

  absl::StatusOr<const ReleaseRecord*> ReleaseFor(const ValueSetRuleRecord& rule) {
    const storage::Catalog& catalog = reader_.catalog();
    absl::StatusOr<const CodeSystemInfo*> system = SystemOf(rule);
    if (!system.ok()) return system.status();
    const std::string& id = (*system)->id;
    const ReleaseRecord* r = nullptr;
    if (!rule.version.empty()) {
      r = catalog.Find(id, rule.version);
      if (r == nullptr || r->state != storage::ReleaseState::kPublished) {
        return absl::FailedPreconditionError(absl::StrCat(
            id, " release ", rule.version, ", which the value set names, is not published"));
      }
    } else if (const ReleaseRecord* pinned = Pinned(id)) {
      r = pinned;
    } else {
      r = ReleaseInForce(catalog, id, date_);
      if (r == nullptr) {
        return absl::FailedPreconditionError(
            absl::StrCat(id, " has no published release in effect on ", date_));
      }
    }
    used_.emplace(absl::StrCat(r->system, "|", r->version), *r);
    return r;
  }

  absl::StatusOr<const LoadedRelease*> Load(const ReleaseRecord& r) {
    std::string key = absl::StrCat(r.system, "|", r.sequence);
    auto it = loaded_.find(key);
    if (it != loaded_.end()) return it->second.get();
    auto loaded = std::make_unique<LoadedRelease>();
    absl::Status s = reader_.ForEachConcept(
        r.system, r.sequence, [&](absl::string_view code, const ConceptRecord& record) {
          loaded->index.emplace(std::string(code), loaded->concepts.size());
          loaded->concepts.emplace_back(std::string(code), record);
          return true;
        });
    if (!s.ok()) return s;
    return (loaded_[key] = std::move(loaded)).get();
  }

  absl::StatusOr<Members> Rule(const ValueSetRuleRecord& rule, size_t depth) {
    Members out;
    if (!rule.system.empty()) {
      absl::StatusOr<const CodeSystemInfo*> system = SystemOf(rule);
      if (!system.ok()) return system.status();
      absl::StatusOr<const ReleaseRecord*> release = ReleaseFor(rule);
      if (!release.ok()) return release.status();
      const LoadedRelease* all = nullptr;
      if (!rule.filters.empty() || rule.codes.empty()) {
        absl::StatusOr<const LoadedRelease*> loaded = Load(**release);
        if (!loaded.ok()) return loaded.status();
        all = *loaded;
      }
      // The filters with their values in storage form (see the codes below), regexes compiled.
      std::vector<ValueSetFilterRecord> filters = rule.filters;
      std::vector<std::unique_ptr<RE2>> compiled;
      for (ValueSetFilterRecord& f : filters) {
        if (f.value.empty() && f.op != "exists") {
          return absl::FailedPreconditionError(
              absl::StrCat("the value set's filter ", f.property, " ", f.op, " on ", rule.system,
                           " has no value"));
        }
        if (f.op != "regex" && f.op != "exists" &&
            (HierarchyProperty(f.property) || f.property == "parent")) {
          std::vector<std::string> values;
          for (absl::string_view v : absl::StrSplit(f.value, ',')) {
            absl::StatusOr<std::string> normal = HierarchyValue(**system, v);
            values.push_back(normal.ok() ? *std::move(normal) : std::string(v));
          }
          f.value = absl::StrJoin(values, ",");
        }
        compiled.push_back(f.op == "regex" ? std::make_unique<RE2>(f.value) : nullptr);
      }
      const TabularRelease* tabular = nullptr;
      if ((*system)->format == CodeFormat::kIcd10Cm && UsesTabular(filters)) {
        absl::StatusOr<const TabularRelease*> t = TabularFor(**release);
        if (!t.ok()) return t.status();
        tabular = *t;
      }
      auto take = [&](const std::string& code, const ConceptRecord& record) {
        for (size_t i = 0; i < filters.size(); ++i) {
          if (!Passes(**system, *all, tabular, code, record, filters[i], compiled[i].get())) {
            return;
          }
        }
        out.emplace(MemberKey((*system)->id, code), ExpandedConcept{*system, code, record});
      };
      // Codes in their storage form (stored so for a system known when the value set was
      // stored; one registered since may need it); a code of the wrong shape is in no release.
      std::vector<std::string> codes;
      for (const std::string& c : rule.codes) {
        absl::StatusOr<std::string> normal = NormalizeCode(**system, c);
        if (normal.ok()) codes.push_back(*std::move(normal));
      }
      if (rule.codes.empty()) {
        for (const auto& [code, record] : all->concepts) take(code, record);
      } else if (all != nullptr) {
        for (const std::string& code : codes) {
          auto it = all->index.find(code);
          if (it != all->index.end()) take(code, all->concepts[it->second].second);
        }
      } else {
        std::vector<storage::CodeState> states;
        if (absl::Status s = reader_.ReadMany((*system)->id, codes, (*release)->sequence,
                                              &states);
            !s.ok()) {
          return s;
        }
        for (size_t i = 0; i < codes.size(); ++i) {
          if (states[i].kind == storage::CodeState::Kind::kPresent) {
            take(codes[i], states[i].record);
          }
        }
      }
    }
    for (size_t i = 0; i < rule.value_sets.size(); ++i) {
      absl::StatusOr<const ValueSetRecord*> inner = Imported(rule.value_sets[i]);
      if (!inner.ok()) return inner.status();
      absl::StatusOr<Members> members = Run(**inner, depth + 1);
      if (!members.ok()) return members.status();
      if (i == 0 && rule.system.empty()) {
        out = *std::move(members);
        continue;
      }
      for (auto it = out.begin(); it != out.end();) {
        it = members->count(it->first) ? std::next(it) : out.erase(it);
      }
    }
    return out;
  }

  enum class Relation { kIsA, kDescendent, kChild };

  // Does `code` stand in `relation` to `ancestor`? Its ancestors are its parents up to the top,
  // then (CPT, HCPCS) the group the topmost belongs to.
  static bool Related(const CodeSystemInfo& system, const LoadedRelease& all,
                      const TabularRelease* tabular, const std::string& code,
                      const ConceptRecord& record, absl::string_view ancestor,
                      Relation relation) {
    if (relation == Relation::kIsA && code == ancestor) return true;
    const ConceptRecord* at = &record;
    absl::string_view at_code = code;
    for (int level = 0; level < 64; ++level) {
      absl::string_view up = at->parent;
      if (up.empty()) {
        // ICD-10-CM: above a category, its Tabular block, then its chapter.
        if (tabular != nullptr) {
          int k = 0;
          for (const TabularRelease::Entry* e : tabular->ChainOf(at_code).entries) {
            if (e->key.find('-') == std::string::npos) continue;
            if (e->key == ancestor) return relation != Relation::kChild || (level == 0 && k == 0);
            ++k;
          }
        }
        std::string group = GroupOfCode(system, at_code, *at);
        return group == ancestor && (relation != Relation::kChild || level == 0);
      }
      if (up == ancestor) return true;
      if (relation == Relation::kChild) return false;
      auto it = all.index.find(up);
      if (it == all.index.end()) return false;
      at_code = all.concepts[it->second].first;
      at = &all.concepts[it->second].second;
    }
    return false;
  }

  // `re` is f.value compiled, for a regex filter.
  static bool Passes(const CodeSystemInfo& system, const LoadedRelease& all,
                     const TabularRelease* tabular, const std::string& code,
                     const ConceptRecord& record, const ValueSetFilterRecord& f, const RE2* re) {
    if (HierarchyProperty(f.property)) {
      if (f.op == "is-a") {
        return Related(system, all, tabular, code, record, f.value, Relation::kIsA);
      }
      if (f.op == "descendent-of") {
        return Related(system, all, tabular, code, record, f.value, Relation::kDescendent);
      }
      if (f.op == "child-of") {
        return Related(system, all, tabular, code, record, f.value, Relation::kChild);
      }
      if (f.op == "regex") return RE2::FullMatch(PrintedCode(system, code), *re);
      return Matches({code}, f);
    }
    // A property of the concept's own (a FHIR code system's "status") comes first; the names
    // Codebook gives meaning to apply where the concept has none of that name.
    std::vector<std::string> values = OwnProperty(record, f.property);
    if (!values.empty()) {
      // the concept's own
    } else if (f.property == "display") {
      values = {record.display};
    } else if (f.property == "billable") {
      values = {record.billable ? "true" : "false"};
    } else if (f.property == "kind") {
      values = {record.kind == storage::ConceptKind::kHeader     ? "header"
                : record.kind == storage::ConceptKind::kModifier ? "modifier"
                                                                 : "code"};
    } else if (f.property == "status") {
      values = {record.active ? "active" : "inactive"};
    } else if (f.property == "parent" && !record.parent.empty()) {
      values = {record.parent};
    } else if ((f.property == "chapter" || f.property == "block") && tabular != nullptr) {
      // ICD-10-CM: the chapter's number ("4") or the block's range ("E08-E13"), from the Tabular.
      for (const TabularRelease::Entry* e : tabular->ChainOf(code).entries) {
        if (e->key.find('-') == std::string::npos || !values.empty()) continue;
        const bool chapter = absl::StartsWith(e->key, "CHAPTER-");
        if (chapter == (f.property == "chapter")) {
          values = {chapter ? e->key.substr(8) : e->key};
        }
      }
    }
    if (f.op == "exists") return values.empty() == (f.value == "false");
    if (f.op == "regex") {
      return std::any_of(values.begin(), values.end(),
                         [&](const std::string& v) { return RE2::FullMatch(v, *re); });
    }
    return Matches(values, f);
  }

  // The values of the concept's property `name` (several joined by a newline); none if absent.
  static std::vector<std::string> OwnProperty(const ConceptRecord& record, absl::string_view name) {
    for (const auto& [n, value] : record.properties) {
      if (n == name) return absl::StrSplit(value, '\n');
    }
    return {};
  }

  static bool Matches(const std::vector<std::string>& values, const ValueSetFilterRecord& f) {
    std::vector<absl::string_view> wanted = absl::StrSplit(f.value, ',');
    if (f.op == "=") wanted = {f.value};
    bool any = false;
    for (const std::string& v : values) {
      any = any || std::find(wanted.begin(), wanted.end(), v) != wanted.end();
    }
    return f.op == "not-in" ? !any : any;
  }

  storage::Reader& reader_;
  std::string date_;
  const ReleasePins* pins_;
  std::map<std::string, ReleaseRecord> used_;
  absl::flat_hash_map<uint64_t, std::shared_ptr<const TabularRelease>> tabulars_;
  absl::flat_hash_map<std::string, std::unique_ptr<LoadedRelease>> loaded_;
};

class ExpansionCache {
 public:
  std::shared_ptr<const Expansion> Get(const std::string& key) {
    absl::MutexLock l(&mu_);
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : it->second;
  }
  void Put(const std::string& key, std::shared_ptr<const Expansion> e) {
    absl::MutexLock l(&mu_);
    if (!map_.emplace(key, std::move(e)).second) return;
    order_.push_back(key);
    if (order_.size() > kCachedExpansions) {
      map_.erase(order_.front());
      order_.pop_front();
    }
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const Expansion>> map_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> order_ ABSL_GUARDED_BY(mu_);
};

ExpansionCache& Cache() {
  static auto* cache = new ExpansionCache();
  return *cache;
}

const char* OutcomeWords(Membership m) {
  switch (m) {
    case Membership::kMember: return "is in";
    case Membership::kHeader: return "is a header in";
    case Membership::kNotInDefinition: return "is not in";
    case Membership::kDeleted: return "was deleted from";
    case Membership::kNotYetEffective: return "is not yet in";
    case Membership::kUnknownCode: return "is unknown to";
  }
  return "";
}

}  // namespace

std::pair<std::string, std::string> SplitCanonical(absl::string_view canonical) {
  size_t bar = canonical.rfind('|');
  if (bar == absl::string_view::npos) return {std::string(canonical), ""};
  return {std::string(canonical.substr(0, bar)), std::string(canonical.substr(bar + 1))};
}

absl::StatusOr<const CodeSystemInfo*> FindSystemByIdOrUri(const storage::Catalog& catalog,
                                                          absl::string_view id_or_uri) {
  absl::StatusOr<const CodeSystemInfo*> by_id = FindSystem(catalog, id_or_uri);
  if (by_id.ok() || by_id.status().code() != absl::StatusCode::kNotFound) return by_id;
  for (const CodeSystemInfo* s : AllSystems(catalog)) {
    if (s->uri == id_or_uri) return s;
  }
  return absl::NotFoundError(absl::StrCat("no code system has the id or URI '", id_or_uri, "'"));
}

absl::Status CheckValueSet(const storage::Catalog& catalog, ValueSetRecord* r) {
  auto invalid = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("value set ", r->url, ": ", what));
  };
  if (r->url.empty() || r->url.size() > 1000 || r->url.find(':') == std::string::npos ||
      r->url.find(' ') != std::string::npos || r->url.find('|') != std::string::npos ||
      !Printable(r->url)) {
    return invalid("the url must be an absolute URI (scheme:rest) without spaces or '|'");
  }
  if (r->version.empty() || r->version.size() > 64 || !Printable(r->version) ||
      r->version.find('|') != std::string::npos) {
    return invalid("the version must be 1 to 64 characters without control characters or '|'");
  }
  if (r->title.size() > 500 || !Printable(r->title)) {
    return invalid("the title must be at most 500 characters without control characters");
  }
  if (r->includes.empty()) return invalid("it includes nothing");
  for (size_t i = 0; i < r->includes.size(); ++i) {
    if (absl::Status s = CheckRule(catalog, r->url, &r->includes[i],
                                   absl::StrCat("value set ", r->url, " include[", i, "]"));
        !s.ok()) {
      return s;
    }
  }
  for (size_t i = 0; i < r->excludes.size(); ++i) {
    if (absl::Status s = CheckRule(catalog, r->url, &r->excludes[i],
                                   absl::StrCat("value set ", r->url, " exclude[", i, "]"));
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

const ExpandedConcept* Expansion::Find(absl::string_view system, absl::string_view code) const {
  auto it = std::lower_bound(concepts.begin(), concepts.end(), std::make_pair(system, code),
                             [](const ExpandedConcept& c, const auto& key) {
                               return std::make_pair(absl::string_view(c.system->id),
                                                     absl::string_view(c.code)) < key;
                             });
  if (it == concepts.end() || it->system->id != system || it->code != code) return nullptr;
  return &*it;
}

absl::StatusOr<std::shared_ptr<const Expansion>> Expand(storage::Reader& reader,
                                                        const ValueSetRecord& vs,
                                                        absl::string_view date, bool* cached,
                                                        const ReleasePins* pins) {
  if (cached != nullptr) *cached = false;
  if (!IsValidDate(date)) {
    return absl::InvalidArgumentError(absl::StrCat("'", date, "' is not a YYYY-MM-DD date"));
  }
  std::string key;
  {
    Expander keyer(reader, std::string(date), pins);
    if (absl::Status s = keyer.Key(vs, &key); !s.ok()) return s;
  }
  if (std::shared_ptr<const Expansion> hit = Cache().Get(key)) {
    if (cached != nullptr) *cached = true;
    return hit;
  }
  Expander expander(reader, std::string(date), pins);
  absl::StatusOr<Members> members = expander.Run(vs);
  if (!members.ok()) return members.status();
  auto expansion = std::make_shared<Expansion>();
  expansion->releases = expander.used();
  expansion->concepts.reserve(members->size());
  for (auto& [k, c] : *members) expansion->concepts.push_back(std::move(c));
  Cache().Put(key, expansion);
  return std::shared_ptr<const Expansion>(std::move(expansion));
}

absl::StatusOr<MembershipResult> CheckMembership(storage::Reader& reader,
                                                 const ValueSetRecord& vs,
                                                 absl::string_view system_name,
                                                 absl::string_view input,
                                                 absl::string_view date) {
  absl::StatusOr<const CodeSystemInfo*> system =
      FindSystemByIdOrUri(reader.catalog(), system_name);
  if (!system.ok()) return system.status();
  absl::StatusOr<std::string> code = NormalizeCode(**system, input);
  if (!code.ok()) return code.status();
  MembershipResult out;
  absl::StatusOr<std::shared_ptr<const Expansion>> expansion = Expand(reader, vs, date);
  if (!expansion.ok()) return expansion.status();
  out.expansion = *expansion;
  const ReleaseRecord* used = nullptr;
  for (const ReleaseRecord& r : out.expansion->releases) {
    if (r.system == (*system)->id && used == nullptr) used = &r;
  }
  if (used == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("value set ", vs.url, " version ", vs.version,
                                                   " takes no codes of ", (*system)->id));
  }
  out.release = *used;
  const std::string printed = PrintedCode(**system, *code);
  auto finish = [&](Membership m, const ReleaseRecord& r) {
    out.outcome = m;
    out.release = r;
    out.message = absl::StrCat((*system)->id, " ", printed, " ", OutcomeWords(m), " ", vs.url,
                               "|", vs.version, " on ", date, " (", r.system, " ", r.version,
                               ", effective ", r.effective_date, ")");
    return out;
  };
  if (const ExpandedConcept* c = out.expansion->Find((*system)->id, *code)) {
    return finish(c->record.kind == storage::ConceptKind::kHeader ? Membership::kHeader
                                                                  : Membership::kMember,
                  *used);
  }
  storage::CodeState state;
  if (absl::Status s = reader.Read((*system)->id, *code, used->sequence, &state); !s.ok()) {
    return s;
  }
  if (state.kind == storage::CodeState::Kind::kPresent) {
    return finish(Membership::kNotInDefinition, *used);
  }
  // Not in this release: would the definition take it in a release that has it? The newest
  // earlier one first (deleted), then the oldest later one (not yet effective).
  const std::vector<ReleaseRecord>& releases = reader.catalog().Releases((*system)->id);
  bool ever = false;
  auto taken_in = [&](const ReleaseRecord& r, bool* taken) -> absl::Status {
    *taken = false;
    storage::CodeState st;
    if (absl::Status s = reader.Read(r.system, *code, r.sequence, &st); !s.ok()) return s;
    if (st.kind != storage::CodeState::Kind::kPresent) return absl::OkStatus();
    ever = true;
    absl::StatusOr<std::shared_ptr<const Expansion>> then = Expand(reader, vs, r.effective_date);
    if (!then.ok()) return absl::OkStatus();  // the value set cannot expand then: not taken
    *taken = (*then)->Find(r.system, *code) != nullptr;
    return absl::OkStatus();
  };
  for (auto it = releases.rbegin(); it != releases.rend(); ++it) {
    if (it->state != storage::ReleaseState::kPublished || it->sequence >= used->sequence) continue;
    bool taken;
    if (absl::Status s = taken_in(*it, &taken); !s.ok()) return s;
    if (taken) return finish(Membership::kDeleted, *it);
    if (ever) break;  // the last release that had it did not take it
  }
  for (const ReleaseRecord& r : releases) {
    if (r.state != storage::ReleaseState::kPublished || r.effective_date <= date) continue;
    bool taken;
    if (absl::Status s = taken_in(r, &taken); !s.ok()) return s;
    if (taken) return finish(Membership::kNotYetEffective, r);
  }
  return finish(ever || state.kind == storage::CodeState::Kind::kDeleted
                    ? Membership::kNotInDefinition
                    : Membership::kUnknownCode,
                *used);
}

}  // namespace codebook::service

namespace codebook::service {
namespace {

// The release `e` used for `system`, or nullptr.
const storage::ReleaseRecord* ReleaseOf(const Expansion& e, absl::string_view system) {
  for (const storage::ReleaseRecord& r : e.releases) {
    if (r.system == system) return &r;
  }
  return nullptr;
}

// The code's record in `release` (nullopt when absent or deleted there, or no release).
absl::StatusOr<std::optional<ConceptRecord>> RecordIn(storage::Reader& reader,
                                                       const storage::ReleaseRecord* release,
                                                       absl::string_view code) {
  if (release == nullptr) return std::optional<ConceptRecord>();
  storage::CodeState st;
  if (absl::Status s = reader.Read(release->system, code, release->sequence, &st); !s.ok()) {
    return s;
  }
  if (st.kind != storage::CodeState::Kind::kPresent) return std::optional<ConceptRecord>();
  return std::optional<ConceptRecord>(std::move(st.record));
}

// The parents of `record` up to the top in `release`, nearest first.
absl::StatusOr<std::vector<std::string>> Ancestors(storage::Reader& reader,
                                                   const storage::ReleaseRecord* release,
                                                   const ConceptRecord& record) {
  std::vector<std::string> out;
  std::string up = record.parent;
  while (!up.empty() && out.size() < 64) {
    out.push_back(up);
    absl::StatusOr<std::optional<ConceptRecord>> parent = RecordIn(reader, release, up);
    if (!parent.ok()) return parent.status();
    up = parent->has_value() ? (*parent)->parent : "";
  }
  return out;
}

// The codes in only one of diff->from and diff->to, with their causes.
absl::Status CompareExpansions(storage::Reader& reader, bool rules_differ, ValueSetDiff* diff) {
  // Both lists are sorted by (system id, code): one merge finds the codes in only one.
  auto key = [](const ExpandedConcept& c) {
    return std::make_pair(absl::string_view(c.system->id), absl::string_view(c.code));
  };
  const std::vector<ExpandedConcept>& a = diff->from->concepts;
  const std::vector<ExpandedConcept>& b = diff->to->concepts;
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    const ExpandedConcept* c;
    bool entered;
    if (j == b.size() || (i < a.size() && key(a[i]) < key(b[j]))) {
      c = &a[i++];
      entered = false;
    } else if (i == a.size() || key(b[j]) < key(a[i])) {
      c = &b[j++];
      entered = true;
    } else {
      ++i, ++j;
      continue;
    }
    ValueSetChange change{c->system, c->code, entered, {}, std::nullopt, std::nullopt};
    const storage::ReleaseRecord* before_release = ReleaseOf(*diff->from, c->system->id);
    const storage::ReleaseRecord* after_release = ReleaseOf(*diff->to, c->system->id);
    absl::StatusOr<std::optional<ConceptRecord>> before =
        RecordIn(reader, before_release, c->code);
    if (!before.ok()) return before.status();
    absl::StatusOr<std::optional<ConceptRecord>> after = RecordIn(reader, after_release, c->code);
    if (!after.ok()) return after.status();
    change.before = *std::move(before);
    change.after = *std::move(after);
    if (entered && !change.before.has_value()) change.causes.push_back(ChangeCause::kCodeAdded);
    if (!entered && !change.after.has_value()) change.causes.push_back(ChangeCause::kCodeDeleted);
    if (change.before.has_value() && change.after.has_value()) {
      ConceptRecord x = *change.before, y = *change.after;
      bool hierarchy = x.parent != y.parent;
      if (!hierarchy) {
        absl::StatusOr<std::vector<std::string>> up_x = Ancestors(reader, before_release, x);
        if (!up_x.ok()) return up_x.status();
        absl::StatusOr<std::vector<std::string>> up_y = Ancestors(reader, after_release, y);
        if (!up_y.ok()) return up_y.status();
        hierarchy = *up_x != *up_y;
      }
      x.parent = y.parent;
      if (hierarchy) change.causes.push_back(ChangeCause::kHierarchyChanged);
      if (x != y) change.causes.push_back(ChangeCause::kPropertyChanged);
    }
    if (rules_differ) change.causes.push_back(ChangeCause::kDefinitionChanged);
    if (change.causes.empty()) change.causes.push_back(ChangeCause::kImportChanged);
    diff->changes.push_back(std::move(change));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ValueSetDiff> DiffValueSets(storage::Reader& reader,
                                           const ValueSetRecord& from_vs,
                                           absl::string_view from_date,
                                           const ValueSetRecord& to_vs,
                                           absl::string_view to_date) {
  ValueSetDiff diff;
  absl::StatusOr<std::shared_ptr<const Expansion>> from = Expand(reader, from_vs, from_date);
  if (!from.ok()) return from.status();
  absl::StatusOr<std::shared_ptr<const Expansion>> to = Expand(reader, to_vs, to_date);
  if (!to.ok()) return to.status();
  diff.from = *from;
  diff.to = *to;
  const bool rules_differ =
      from_vs.includes != to_vs.includes || from_vs.excludes != to_vs.excludes;
  if (absl::Status s = CompareExpansions(reader, rules_differ, &diff); !s.ok()) return s;
  return diff;
}

absl::StatusOr<ValueSetDiff> EventImpact(storage::Reader& reader, const ValueSetRecord& vs,
                                         const ReleaseRecord& release, bool retracted) {
  const std::string& date = release.effective_date;
  // The release in force that day before the event: the retracted one itself, or for a publish
  // the one in force then without the new one.
  ReleasePins before_pins;
  if (retracted) {
    before_pins[release.system] = release;
    before_pins[release.system].state = storage::ReleaseState::kPublished;
  } else {
    const ReleaseRecord* best = nullptr;
    for (const ReleaseRecord& r : reader.catalog().Releases(release.system)) {
      if (r.state != storage::ReleaseState::kPublished || r.sequence == release.sequence ||
          r.effective_date > date) {
        continue;
      }
      if (best == nullptr || r.effective_date > best->effective_date ||
          (r.effective_date == best->effective_date && r.sequence > best->sequence)) {
        best = &r;
      }
    }
    if (best != nullptr) before_pins[release.system] = *best;
  }
  auto expand = [&](const ReleasePins* pins) -> absl::StatusOr<std::shared_ptr<const Expansion>> {
    absl::StatusOr<std::shared_ptr<const Expansion>> e = Expand(reader, vs, date, nullptr, pins);
    if (e.ok() || e.status().code() != absl::StatusCode::kFailedPrecondition) return e;
    return std::make_shared<const Expansion>();  // nothing in force then: empty
  };
  const bool none_before = !retracted && before_pins.empty();
  ValueSetDiff diff;
  absl::StatusOr<std::shared_ptr<const Expansion>> from =
      none_before ? std::make_shared<const Expansion>() : expand(&before_pins);
  if (!from.ok()) return from.status();
  absl::StatusOr<std::shared_ptr<const Expansion>> to = expand(nullptr);
  if (!to.ok()) return to.status();
  diff.from = *from;
  diff.to = *to;
  if (absl::Status s = CompareExpansions(reader, false, &diff); !s.ok()) return s;
  return diff;
}

std::vector<std::string> SystemsOf(const storage::Catalog& catalog, const ValueSetRecord& vs) {
  std::set<std::string> out;
  std::vector<const ValueSetRecord*> todo = {&vs};
  std::set<std::string> seen;
  while (!todo.empty()) {
    const ValueSetRecord* v = todo.back();
    todo.pop_back();
    if (!seen.insert(absl::StrCat(v->url, "|", v->version)).second) continue;
    for (const auto* rules : {&v->includes, &v->excludes}) {
      for (const ValueSetRuleRecord& rule : *rules) {
        if (!rule.system.empty()) {
          absl::StatusOr<const CodeSystemInfo*> s = FindSystemByIdOrUri(catalog, rule.system);
          if (s.ok()) out.insert((*s)->id);
        }
        for (const std::string& canonical : rule.value_sets) {
          auto [url, version] = SplitCanonical(canonical);
          if (const ValueSetRecord* inner = catalog.FindValueSet(url, version)) {
            todo.push_back(inner);
          }
        }
      }
    }
  }
  return std::vector<std::string>(out.begin(), out.end());
}

absl::Status RefuseLicensedTextMatch(
    const v1::ExpandValueSetRequest& req, v1::ExpandValueSetResponse* resp,
    const std::function<std::string(const std::string&)>& missing_scope) {
  for (const v1::ReleaseRef& r : resp->releases()) {
    const std::string scope = missing_scope(r.system());
    if (scope.empty()) continue;
    bool matches_text = !req.filter().empty();
    for (const auto* rules : {&resp->value_set().includes(), &resp->value_set().excludes()}) {
      for (const v1::ValueSetRule& rule : *rules) {
        for (const v1::ValueSetFilter& f : rule.filters()) {
          matches_text = matches_text || (rule.system() == r.system() && f.property() == "display");
        }
      }
    }
    if (matches_text) {
      const std::string system = r.system();
      resp->Clear();
      return absl::PermissionDeniedError(
          absl::StrCat("the expansion matches the text of ", system, ", which needs the scope ",
                       scope, "; expand without a filter to get its codes"));
    }
  }
  return absl::OkStatus();
}

}  // namespace codebook::service
