#include "storage/encoding.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace codebook::storage {
namespace {

absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("corrupt ", what, " record"));
}

bool GetByte(absl::string_view* in, uint8_t* b) {
  if (in->empty()) return false;
  *b = static_cast<uint8_t>((*in)[0]);
  in->remove_prefix(1);
  return true;
}

bool GetString(absl::string_view* in, std::string* s) {
  absl::string_view v;
  if (!GetLengthPrefixed(in, &v)) return false;
  s->assign(v.data(), v.size());
  return true;
}

bool GetPairs(absl::string_view* in, std::vector<std::pair<std::string, std::string>>* out) {
  uint64_t n;
  if (!GetVarint64(in, &n)) return false;
  // Each pair takes at least two bytes: a count beyond that is garbage, not a reason to allocate.
  if (n > in->size() / 2) return false;
  // Assigning into existing elements reuses their buffers when a record object is decoded into
  // again and again (the batch read path does that).
  out->resize(n);
  for (auto& [a, b] : *out) {
    if (!GetString(in, &a) || !GetString(in, &b)) return false;
  }
  return true;
}

void PutPairs(std::string* dst, const std::vector<std::pair<std::string, std::string>>& pairs) {
  PutVarint64(dst, pairs.size());
  for (const auto& [a, b] : pairs) {
    PutLengthPrefixed(dst, a);
    PutLengthPrefixed(dst, b);
  }
}

}  // namespace

void PutVarint64(std::string* dst, uint64_t v) {
  while (v >= 0x80) {
    dst->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  dst->push_back(static_cast<char>(v));
}

void PutLengthPrefixed(std::string* dst, absl::string_view s) {
  PutVarint64(dst, s.size());
  dst->append(s.data(), s.size());
}

void PutBigEndian64(std::string* dst, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) dst->push_back(static_cast<char>(v >> shift));
}

bool GetVarint64(absl::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    uint64_t byte = static_cast<uint8_t>((*in)[0]);
    in->remove_prefix(1);
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

bool GetLengthPrefixed(absl::string_view* in, absl::string_view* s) {
  uint64_t len;
  if (!GetVarint64(in, &len) || len > in->size()) return false;
  *s = in->substr(0, len);
  in->remove_prefix(len);
  return true;
}

bool GetBigEndian64(absl::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  uint64_t r = 0;
  for (int i = 0; i < 8; ++i) r = (r << 8) | static_cast<uint8_t>((*in)[i]);
  in->remove_prefix(8);
  *v = r;
  return true;
}

std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<uint8_t>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(prefix.back() + 1);
  return prefix;
}

std::string SystemPrefix(absl::string_view system) {
  std::string k(system);
  k.push_back('\0');
  return k;
}

std::string ReleaseKey(absl::string_view system, absl::string_view version) {
  return absl::StrCat(SystemPrefix(system), version);
}

std::string ConceptCodePrefix(absl::string_view system, absl::string_view code) {
  std::string k = SystemPrefix(system);
  k.append(code.data(), code.size());
  k.push_back('\0');
  return k;
}

std::string ConceptKey(absl::string_view system, absl::string_view code, uint64_t sequence) {
  std::string k = ConceptCodePrefix(system, code);
  PutBigEndian64(&k, ~sequence);
  return k;
}

bool DecodeConceptKey(absl::string_view key, size_t system_prefix_len, absl::string_view* code,
                      uint64_t* sequence) {
  // code 0x00 BE64(~seq): the code ends 9 bytes before the end.
  if (key.size() < system_prefix_len + 1 + 1 + 8) return false;
  absl::string_view rest = key.substr(system_prefix_len);
  size_t code_len = rest.size() - 9;
  if (rest[code_len] != '\0') return false;
  *code = rest.substr(0, code_len);
  absl::string_view seq_bytes = rest.substr(code_len + 1);
  uint64_t inverted;
  if (!GetBigEndian64(&seq_bytes, &inverted)) return false;
  *sequence = ~inverted;
  return true;
}

std::string ChangePrefix(absl::string_view system, uint64_t sequence) {
  std::string k = SystemPrefix(system);
  PutBigEndian64(&k, sequence);
  return k;
}

std::string ChangeKey(absl::string_view system, uint64_t sequence, absl::string_view code) {
  return absl::StrCat(ChangePrefix(system, sequence), code);
}

std::string StagingPrefix(absl::string_view system, absl::string_view version) {
  std::string k = SystemPrefix(system);
  k.append(version.data(), version.size());
  k.push_back('\0');
  return k;
}

std::string StagingKey(absl::string_view system, absl::string_view version, absl::string_view code) {
  return absl::StrCat(StagingPrefix(system, version), code);
}

std::string TermKey(absl::string_view system, absl::string_view term, uint64_t sequence) {
  std::string k = SystemPrefix(system);
  k.append(term.data(), term.size());
  k.push_back('\0');
  PutBigEndian64(&k, ~sequence);
  return k;
}

bool DecodeTermKey(absl::string_view key, size_t system_prefix_len, absl::string_view* term,
                   uint64_t* sequence) {
  // term 0x00 BE64(~seq): the term ends 9 bytes before the end.
  if (key.size() < system_prefix_len + 1 + 1 + 8) return false;
  absl::string_view rest = key.substr(system_prefix_len);
  size_t term_len = rest.size() - 9;
  if (rest[term_len] != '\0') return false;
  *term = rest.substr(0, term_len);
  if (term->find('\0') != absl::string_view::npos) return false;
  absl::string_view seq_bytes = rest.substr(term_len + 1);
  uint64_t inverted;
  if (!GetBigEndian64(&seq_bytes, &inverted)) return false;
  *sequence = ~inverted;
  return true;
}

void EncodeTermEntry(const std::vector<std::pair<absl::string_view, bool>>& codes,
                     std::string* dst) {
  PutVarint64(dst, codes.size());
  for (const auto& [code, gains] : codes) {
    PutLengthPrefixed(dst, code);
    dst->push_back(static_cast<char>(gains ? EntryTag::kPresent : EntryTag::kDeleted));
  }
}

absl::Status DecodeTermEntry(absl::string_view in,
                             const std::function<void(absl::string_view code, bool gains)>& fn) {
  uint64_t n;
  if (!GetVarint64(&in, &n) || n > in.size()) return absl::DataLossError("corrupt term entry");
  for (uint64_t i = 0; i < n; ++i) {
    absl::string_view code;
    if (!GetLengthPrefixed(&in, &code) || in.empty()) {
      return absl::DataLossError("corrupt term entry");
    }
    uint8_t tag = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    if (tag != static_cast<uint8_t>(EntryTag::kPresent) &&
        tag != static_cast<uint8_t>(EntryTag::kDeleted)) {
      return absl::DataLossError("corrupt term entry tag");
    }
    fn(code, tag == static_cast<uint8_t>(EntryTag::kPresent));
  }
  if (!in.empty()) return absl::DataLossError("trailing bytes after a term entry");
  return absl::OkStatus();
}

std::string EventKey(absl::string_view system, uint64_t sequence) {
  std::string k = SystemPrefix(system);
  PutBigEndian64(&k, sequence);
  return k;
}

bool DecodeEventKey(absl::string_view key, absl::string_view* system, uint64_t* sequence) {
  // system 0x00 BE64(sequence)
  const size_t zero = key.find('\0');
  if (zero == absl::string_view::npos || key.size() != zero + 1 + 8) return false;
  *system = key.substr(0, zero);
  absl::string_view seq_bytes = key.substr(zero + 1);
  return GetBigEndian64(&seq_bytes, sequence);
}

bool SplitConceptKey(absl::string_view key, absl::string_view* system, absl::string_view* code,
                     uint64_t* sequence) {
  const size_t zero = key.find('\0');
  if (zero == absl::string_view::npos) return false;
  *system = key.substr(0, zero);
  return DecodeConceptKey(key, zero + 1, code, sequence);
}

absl::string_view KeyAfterPrefix(absl::string_view key, size_t prefix_len) {
  return key.substr(std::min(prefix_len, key.size()));
}

std::string LinkPrefix(absl::string_view system, absl::string_view from, LinkKind kind) {
  std::string k = ConceptCodePrefix(system, from);
  k.push_back(static_cast<char>(kind));
  return k;
}

std::string LinkKey(absl::string_view system, absl::string_view from, LinkKind kind,
                    absl::string_view to) {
  return absl::StrCat(LinkPrefix(system, from, kind), to);
}

std::string EncodeLink(const CodeLinkRecord& l) {
  std::string v(1, '\x01');
  PutLengthPrefixed(&v, l.effective);
  PutLengthPrefixed(&v, l.note);
  return v;
}

absl::Status DecodeLink(absl::string_view in, CodeLinkRecord* l) {
  uint8_t format;
  if (!GetByte(&in, &format) || format != 1 || !GetString(&in, &l->effective) ||
      !GetString(&in, &l->note) || !in.empty()) {
    return Corrupt("link");
  }
  return absl::OkStatus();
}

std::string EncodeEvent(const EventRecord& e) {
  std::string v(1, '\x01');
  v.push_back(static_cast<char>(e.kind));
  PutLengthPrefixed(&v, e.version);
  PutVarint64(&v, static_cast<uint64_t>(e.time_micros));
  return v;
}

absl::Status DecodeEvent(absl::string_view in, EventRecord* e) {
  uint8_t format, kind;
  uint64_t time;
  if (!GetByte(&in, &format) || format != 1 || !GetByte(&in, &kind) || kind < 1 || kind > 2 ||
      !GetString(&in, &e->version) || !GetVarint64(&in, &time) || !in.empty()) {
    return Corrupt("event");
  }
  e->kind = static_cast<EventKind>(kind);
  e->time_micros = static_cast<int64_t>(time);
  return absl::OkStatus();
}

std::string SystemKey(absl::string_view id) { return std::string(id); }

std::string EncodeSystem(const CodeSystemRecord& r) {
  std::string v(1, '\x01');
  PutLengthPrefixed(&v, r.uri);
  PutLengthPrefixed(&v, r.title);
  PutLengthPrefixed(&v, r.publisher);
  PutLengthPrefixed(&v, r.code_format);
  PutLengthPrefixed(&v, r.code_pattern);
  v.push_back(static_cast<char>(r.case_sensitive ? 1 : 0));
  PutLengthPrefixed(&v, r.hierarchy_meaning);
  PutLengthPrefixed(&v, r.license_scope);
  PutLengthPrefixed(&v, r.supplements);
  PutVarint64(&v, static_cast<uint64_t>(r.create_time_micros));
  return v;
}

absl::Status DecodeSystem(absl::string_view in, CodeSystemRecord* r) {
  uint8_t format, flags;
  uint64_t time;
  if (!GetByte(&in, &format) || format != 1 || !GetString(&in, &r->uri) ||
      !GetString(&in, &r->title) || !GetString(&in, &r->publisher) ||
      !GetString(&in, &r->code_format) || !GetString(&in, &r->code_pattern) ||
      !GetByte(&in, &flags) || (flags & ~1u) != 0 || !GetString(&in, &r->hierarchy_meaning) ||
      !GetString(&in, &r->license_scope) || !GetString(&in, &r->supplements) ||
      !GetVarint64(&in, &time) || !in.empty()) {
    return Corrupt("code system");
  }
  r->case_sensitive = (flags & 1) != 0;
  r->create_time_micros = static_cast<int64_t>(time);
  return absl::OkStatus();
}

std::string ValueSetKey(absl::string_view url, absl::string_view version) {
  return absl::StrCat(url, absl::string_view("\0", 1), version);
}

bool DecodeValueSetKey(absl::string_view key, std::string* url, std::string* version) {
  size_t zero = key.find('\0');
  if (zero == absl::string_view::npos || zero == 0 || zero + 1 == key.size()) return false;
  *url = std::string(key.substr(0, zero));
  *version = std::string(key.substr(zero + 1));
  return version->find('\0') == std::string::npos;
}

namespace {

void PutStrings(std::string* dst, const std::vector<std::string>& list) {
  PutVarint64(dst, list.size());
  for (const std::string& s : list) PutLengthPrefixed(dst, s);
}

bool GetStrings(absl::string_view* in, std::vector<std::string>* out) {
  uint64_t n;
  if (!GetVarint64(in, &n) || n > in->size()) return false;
  out->resize(n);
  for (std::string& s : *out) {
    if (!GetString(in, &s)) return false;
  }
  return true;
}

void PutRules(std::string* dst, const std::vector<ValueSetRuleRecord>& rules) {
  PutVarint64(dst, rules.size());
  for (const ValueSetRuleRecord& r : rules) {
    PutLengthPrefixed(dst, r.system);
    PutLengthPrefixed(dst, r.version);
    PutStrings(dst, r.codes);
    PutVarint64(dst, r.filters.size());
    for (const ValueSetFilterRecord& f : r.filters) {
      PutLengthPrefixed(dst, f.property);
      PutLengthPrefixed(dst, f.op);
      PutLengthPrefixed(dst, f.value);
    }
    PutStrings(dst, r.value_sets);
  }
}

bool GetRules(absl::string_view* in, std::vector<ValueSetRuleRecord>* out) {
  uint64_t n;
  if (!GetVarint64(in, &n) || n > in->size()) return false;
  out->resize(n);
  for (ValueSetRuleRecord& r : *out) {
    uint64_t filters;
    if (!GetString(in, &r.system) || !GetString(in, &r.version) || !GetStrings(in, &r.codes) ||
        !GetVarint64(in, &filters) || filters > in->size()) {
      return false;
    }
    r.filters.resize(filters);
    for (ValueSetFilterRecord& f : r.filters) {
      if (!GetString(in, &f.property) || !GetString(in, &f.op) || !GetString(in, &f.value)) {
        return false;
      }
    }
    if (!GetStrings(in, &r.value_sets)) return false;
  }
  return true;
}

}  // namespace

std::string EncodeValueSet(const ValueSetRecord& r) {
  std::string v(1, r.resource_json.empty() ? '\x01' : '\x02');
  PutLengthPrefixed(&v, r.title);
  PutLengthPrefixed(&v, r.publisher);
  PutLengthPrefixed(&v, r.description);
  PutRules(&v, r.includes);
  PutRules(&v, r.excludes);
  PutVarint64(&v, static_cast<uint64_t>(r.create_time_micros));
  if (!r.resource_json.empty()) PutLengthPrefixed(&v, r.resource_json);
  return v;
}

absl::Status DecodeValueSet(absl::string_view in, ValueSetRecord* r) {
  uint8_t format;
  uint64_t time;
  r->resource_json.clear();
  if (!GetByte(&in, &format) || format < 1 || format > 2 || !GetString(&in, &r->title) ||
      !GetString(&in, &r->publisher) || !GetString(&in, &r->description) ||
      !GetRules(&in, &r->includes) || !GetRules(&in, &r->excludes) ||
      !GetVarint64(&in, &time) || (format == 2 && !GetString(&in, &r->resource_json)) ||
      !in.empty()) {
    return Corrupt("value set");
  }
  r->create_time_micros = static_cast<int64_t>(time);
  return absl::OkStatus();
}

void EncodeConceptRecord(const ConceptRecord& r, std::string* dst) {
  dst->push_back(static_cast<char>((r.billable ? 1 : 0) | (r.active ? 2 : 0)));
  dst->push_back(static_cast<char>(r.kind));
  PutLengthPrefixed(dst, r.display);
  PutPairs(dst, r.designations);
  PutLengthPrefixed(dst, r.parent);
  PutLengthPrefixed(dst, r.added_date);
  PutLengthPrefixed(dst, r.action_effective_date);
  PutLengthPrefixed(dst, r.termination_date);
  PutLengthPrefixed(dst, r.action_code);
  PutPairs(dst, r.properties);
}

absl::Status DecodeConceptRecord(absl::string_view in, ConceptRecord* r) {
  uint8_t flags, kind;
  if (!GetByte(&in, &flags) || !GetByte(&in, &kind) || flags > 3 || kind < 1 || kind > 3) {
    return Corrupt("concept");
  }
  r->billable = flags & 1;
  r->active = flags & 2;
  r->kind = static_cast<ConceptKind>(kind);
  if (!GetString(&in, &r->display) || !GetPairs(&in, &r->designations) ||
      !GetString(&in, &r->parent) || !GetString(&in, &r->added_date) ||
      !GetString(&in, &r->action_effective_date) || !GetString(&in, &r->termination_date) ||
      !GetString(&in, &r->action_code) || !GetPairs(&in, &r->properties) || !in.empty()) {
    return Corrupt("concept");
  }
  return absl::OkStatus();
}

std::string EncodePresentEntry(const ConceptRecord& r) {
  std::string v(1, static_cast<char>(EntryTag::kPresent));
  EncodeConceptRecord(r, &v);
  return v;
}

std::string EncodeDeletedEntry() { return std::string(1, static_cast<char>(EntryTag::kDeleted)); }

absl::Status DecodeConceptEntry(absl::string_view in, bool* deleted, ConceptRecord* r) {
  uint8_t tag;
  if (!GetByte(&in, &tag)) return Corrupt("concept entry");
  if (tag == static_cast<uint8_t>(EntryTag::kDeleted)) {
    if (!in.empty()) return Corrupt("concept entry");
    *deleted = true;
    return absl::OkStatus();
  }
  if (tag != static_cast<uint8_t>(EntryTag::kPresent)) return Corrupt("concept entry");
  *deleted = false;
  return r == nullptr ? absl::OkStatus() : DecodeConceptRecord(in, r);
}

namespace {
// 1: up to staged_concepts. 2: adds the retraction reason and time. Both are read.
constexpr uint8_t kReleaseFormatV1 = 1;
constexpr uint8_t kReleaseFormat = 2;
constexpr uint8_t kReleaseFormatWithResource = 3;  // format 2, then the FHIR resource
}

std::string EncodeRelease(const ReleaseRecord& r) {
  std::string v(1, static_cast<char>(r.resource_json.empty() ? kReleaseFormat
                                                             : kReleaseFormatWithResource));
  PutLengthPrefixed(&v, r.system);
  PutLengthPrefixed(&v, r.version);
  PutLengthPrefixed(&v, r.effective_date);
  v.push_back(static_cast<char>(r.state));
  PutVarint64(&v, r.sequence);
  const ReleaseCounts& c = r.counts;
  for (int64_t n : {c.added, c.deleted, c.changed, c.total_active, c.total, c.billable_added,
                    c.billable_removed, c.headers_added, c.headers_removed}) {
    PutVarint64(&v, static_cast<uint64_t>(n));
  }
  PutLengthPrefixed(&v, r.checksum);
  PutLengthPrefixed(&v, r.description);
  PutVarint64(&v, static_cast<uint64_t>(r.create_time_micros));
  PutVarint64(&v, static_cast<uint64_t>(r.publish_time_micros));
  PutVarint64(&v, static_cast<uint64_t>(r.staged_concepts));
  PutLengthPrefixed(&v, r.retract_reason);
  PutVarint64(&v, static_cast<uint64_t>(r.retract_time_micros));
  if (!r.resource_json.empty()) PutLengthPrefixed(&v, r.resource_json);
  return v;
}

absl::Status DecodeRelease(absl::string_view in, ReleaseRecord* r) {
  uint8_t format, state;
  if (!GetByte(&in, &format) || format < kReleaseFormatV1 || format > kReleaseFormatWithResource ||
      !GetString(&in, &r->system) ||
      !GetString(&in, &r->version) || !GetString(&in, &r->effective_date) ||
      !GetByte(&in, &state) || state < 1 || state > 3 || !GetVarint64(&in, &r->sequence)) {
    return Corrupt("release");
  }
  r->state = static_cast<ReleaseState>(state);
  ReleaseCounts& c = r->counts;
  for (int64_t* n : {&c.added, &c.deleted, &c.changed, &c.total_active, &c.total,
                     &c.billable_added, &c.billable_removed, &c.headers_added,
                     &c.headers_removed}) {
    uint64_t u;
    if (!GetVarint64(&in, &u)) return Corrupt("release");
    *n = static_cast<int64_t>(u);
  }
  uint64_t create, publish, staged, retracted = 0;
  if (!GetString(&in, &r->checksum) || !GetString(&in, &r->description) ||
      !GetVarint64(&in, &create) || !GetVarint64(&in, &publish) || !GetVarint64(&in, &staged)) {
    return Corrupt("release");
  }
  r->retract_reason.clear();
  r->resource_json.clear();
  if (format >= kReleaseFormat &&
      (!GetString(&in, &r->retract_reason) || !GetVarint64(&in, &retracted))) {
    return Corrupt("release");
  }
  if (format == kReleaseFormatWithResource && !GetString(&in, &r->resource_json)) {
    return Corrupt("release");
  }
  if (!in.empty()) return Corrupt("release");
  r->retract_time_micros = static_cast<int64_t>(retracted);
  r->create_time_micros = static_cast<int64_t>(create);
  r->publish_time_micros = static_cast<int64_t>(publish);
  r->staged_concepts = static_cast<int64_t>(staged);
  return absl::OkStatus();
}

void EncodePresentEntryFromBody(absl::string_view body, std::string* dst) {
  dst->assign(1, static_cast<char>(EntryTag::kPresent));
  dst->append(body.data(), body.size());
}

std::string EncodeChange(ChangeKind kind) { return std::string(1, static_cast<char>(kind)); }

bool PresentBody(absl::string_view entry, absl::string_view* body) {
  if (entry.empty() || static_cast<uint8_t>(entry[0]) != static_cast<uint8_t>(EntryTag::kPresent)) {
    return false;
  }
  *body = entry.substr(1);
  return true;
}

RecordFlags FlagsOf(absl::string_view body) {
  // flags:u8 (bit0 billable, bit1 active) | kind:u8 | ...
  RecordFlags f;
  if (body.size() < 2) return f;
  f.present = true;
  f.billable = body[0] & 1;
  f.active = body[0] & 2;
  f.header = static_cast<uint8_t>(body[1]) == static_cast<uint8_t>(ConceptKind::kHeader);
  return f;
}

const char* ColumnFamilyName(ColumnFamilyId id) {
  static constexpr const char* kNames[kColumnFamilyCount] = {
      "default", "releases", "concepts", "changes", "staging", "events", "links", "terms",
      "systems", "valuesets"};
  return kNames[static_cast<int>(id)];
}

}  // namespace codebook::storage
