#include "storage/encoding.h"

#include <gtest/gtest.h>

#include "storage/sample_records.h"

namespace codebook::storage {
namespace {

ConceptRecord Sample() {
  ConceptRecord r;
  r.display = "Type 2 diabetes mellitus without complications";
  r.designations = {{"short", "Type 2 diabetes mellitus w/o complications"},
                    {"long", "Type 2 diabetes mellitus without complications"}};
  r.kind = ConceptKind::kCode;
  r.billable = true;
  r.active = true;
  r.parent = "E11";
  r.added_date = "2015-10-01";
  r.termination_date = "";
  r.action_code = "N";
  r.properties = {{"betos", "M5C"}, {"coverage", "C"}};
  return r;
}

TEST(EncodingTest, ConceptRecordRoundTrip) {
  ConceptRecord in = Sample(), out;
  std::string bytes;
  EncodeConceptRecord(in, &bytes);
  ASSERT_TRUE(DecodeConceptRecord(bytes, &out).ok());
  EXPECT_EQ(in, out);
}

TEST(EncodingTest, ConceptRecordIsCanonical) {
  std::string a, b;
  EncodeConceptRecord(Sample(), &a);
  EncodeConceptRecord(Sample(), &b);
  EXPECT_EQ(a, b);
  ConceptRecord other = Sample();
  other.billable = false;
  std::string c;
  EncodeConceptRecord(other, &c);
  EXPECT_NE(a, c);
}

TEST(EncodingTest, EveryTruncationOfARecordIsDataLoss) {
  std::string bytes;
  EncodeConceptRecord(Sample(), &bytes);
  for (size_t n = 0; n < bytes.size(); ++n) {
    ConceptRecord out;
    absl::Status s = DecodeConceptRecord(absl::string_view(bytes).substr(0, n), &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << "prefix length " << n;
  }
  ConceptRecord out;
  EXPECT_EQ(DecodeConceptRecord(bytes + "x", &out).code(), absl::StatusCode::kDataLoss);
}

TEST(EncodingTest, GarbledKindIsDataLoss) {
  std::string bytes;
  EncodeConceptRecord(Sample(), &bytes);
  bytes[1] = 9;
  ConceptRecord out;
  EXPECT_EQ(DecodeConceptRecord(bytes, &out).code(), absl::StatusCode::kDataLoss);
}

TEST(EncodingTest, EntriesCarryPresenceTag) {
  bool deleted = true;
  ConceptRecord out;
  ASSERT_TRUE(DecodeConceptEntry(EncodePresentEntry(Sample()), &deleted, &out).ok());
  EXPECT_FALSE(deleted);
  EXPECT_EQ(out, Sample());
  ASSERT_TRUE(DecodeConceptEntry(EncodeDeletedEntry(), &deleted, &out).ok());
  EXPECT_TRUE(deleted);
  EXPECT_EQ(DecodeConceptEntry("", &deleted, &out).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeConceptEntry("\x07", &deleted, &out).code(), absl::StatusCode::kDataLoss);
}

TEST(EncodingTest, ConceptKeysSortNewestFirstWithinCode) {
  // Sequence 256 must sort before 255, and 255 before 1: one's complement, big-endian.
  EXPECT_LT(ConceptKey("ICD10CM", "E11", 256), ConceptKey("ICD10CM", "E11", 255));
  EXPECT_LT(ConceptKey("ICD10CM", "E11", 255), ConceptKey("ICD10CM", "E11", 1));
  EXPECT_LT(ConceptKey("ICD10CM", "E11", 1 << 20), ConceptKey("ICD10CM", "E11", 1));
}

TEST(EncodingTest, ConceptKeysSortCodePrefixFirst) {
  // Every entry of E11 sorts before any entry of E119 and of E12.
  EXPECT_LT(ConceptKey("ICD10CM", "E11", 1), ConceptKey("ICD10CM", "E119", 1000));
  EXPECT_LT(ConceptKey("ICD10CM", "E119", 1), ConceptKey("ICD10CM", "E12", 1000));
  // Systems do not interleave, even when one id is a prefix of another.
  EXPECT_LT(ConceptKey("ICD10", "ZZZZ", 1), ConceptKey("ICD10CM", "A00", 1));
}

TEST(EncodingTest, ConceptKeyRoundTrip) {
  for (uint64_t seq : {uint64_t{1}, uint64_t{255}, uint64_t{256}, ~uint64_t{0} - 1}) {
    std::string key = ConceptKey("HCPCS", "G0505", seq);
    absl::string_view code;
    uint64_t got;
    ASSERT_TRUE(DecodeConceptKey(key, SystemPrefix("HCPCS").size(), &code, &got));
    EXPECT_EQ(code, "G0505");
    EXPECT_EQ(got, seq);
  }
  absl::string_view code;
  uint64_t got;
  EXPECT_FALSE(DecodeConceptKey(std::string("HCPCS\0G", 7), 6, &code, &got));
}

TEST(EncodingTest, ReleaseRoundTripAndTruncation) {
  ReleaseRecord r;
  r.system = "ICD10CM";
  r.version = "FY2025";
  r.effective_date = "2024-10-01";
  r.state = ReleaseState::kPublished;
  r.sequence = 300;
  r.counts = {252, 36, 14, 74260, 97584, 252, 36, 72, 0};
  r.checksum = "sha256:00ff";
  r.description = "icd10cm_order_2025.txt";
  r.create_time_micros = 1700000000000000;
  r.publish_time_micros = 1700000000000001;
  r.staged_concepts = 97584;
  std::string bytes = EncodeRelease(r);
  ReleaseRecord out;
  ASSERT_TRUE(DecodeRelease(bytes, &out).ok());
  EXPECT_EQ(out.version, "FY2025");
  EXPECT_EQ(out.sequence, 300u);
  EXPECT_EQ(out.counts, r.counts);
  EXPECT_EQ(out.publish_time_micros, r.publish_time_micros);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_EQ(DecodeRelease(absl::string_view(bytes).substr(0, n), &out).code(),
              absl::StatusCode::kDataLoss);
  }
}

TEST(EncodingTest, ReleaseWithAFhirResourceIsFormat3AndOthersStayFormat2) {
  ReleaseRecord r;
  r.system = "simple";
  r.version = "0.1.0";
  r.effective_date = "2023-04-01";
  r.state = ReleaseState::kPublished;
  r.sequence = 1;
  std::string plain = EncodeRelease(r);
  EXPECT_EQ(plain[0], '\x02');
  r.resource_json = R"({"resourceType":"CodeSystem","name":"Simple"})";
  std::string with = EncodeRelease(r);
  EXPECT_EQ(with[0], '\x03');
  EXPECT_EQ(with.substr(1, plain.size() - 1), plain.substr(1));
  ReleaseRecord out;
  ASSERT_TRUE(DecodeRelease(with, &out).ok());
  EXPECT_EQ(out.resource_json, r.resource_json);
  for (size_t n = plain.size(); n < with.size(); ++n) {
    EXPECT_EQ(DecodeRelease(absl::string_view(with).substr(0, n), &out).code(),
              absl::StatusCode::kDataLoss);
  }
  ASSERT_TRUE(DecodeRelease(plain, &out).ok());
  EXPECT_EQ(out.resource_json, "");
}

TEST(EncodingTest, ValueSetRoundTripAndTruncation) {
  ValueSetRecord r = testing::DiabetesValueSet();
  r.create_time_micros = 1700000000000003;
  std::string bytes = EncodeValueSet(r);
  ValueSetRecord out;
  ASSERT_TRUE(DecodeValueSet(bytes, &out).ok());
  std::string key = ValueSetKey(r.url, r.version);
  ASSERT_TRUE(DecodeValueSetKey(key, &out.url, &out.version));
  EXPECT_TRUE(out.SameDefinition(r));
  EXPECT_EQ(out.create_time_micros, r.create_time_micros);
  EXPECT_EQ(out.includes[0].filters[0].op, "is-a");
  EXPECT_EQ(out.includes[2].value_sets[0], "https://payer.example/vs/other|2");
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_EQ(DecodeValueSet(absl::string_view(bytes).substr(0, n), &out).code(),
              absl::StatusCode::kDataLoss);
  }
  EXPECT_EQ(DecodeValueSet(bytes + "x", &out).code(), absl::StatusCode::kDataLoss);
  std::string wrong_format = bytes;
  wrong_format[0] = '\x03';
  EXPECT_EQ(DecodeValueSet(wrong_format, &out).code(), absl::StatusCode::kDataLoss);
  // Without a FHIR resource the value is format 1, as before format 2 existed; with one it is
  // format 2, the resource after the creation time.
  EXPECT_EQ(bytes[0], '\x01');
  ValueSetRecord with_resource = r;
  with_resource.resource_json = R"({"resourceType":"ValueSet","name":"Diabetes"})";
  std::string bytes2 = EncodeValueSet(with_resource);
  EXPECT_EQ(bytes2[0], '\x02');
  EXPECT_EQ(bytes2.substr(1, bytes.size() - 1), bytes.substr(1));
  ASSERT_TRUE(DecodeValueSet(bytes2, &out).ok());
  EXPECT_EQ(out.resource_json, with_resource.resource_json);
  for (size_t n = bytes.size(); n < bytes2.size(); ++n) {
    EXPECT_EQ(DecodeValueSet(absl::string_view(bytes2).substr(0, n), &out).code(),
              absl::StatusCode::kDataLoss);
  }
  ASSERT_TRUE(DecodeValueSet(bytes, &out).ok());
  EXPECT_EQ(out.resource_json, "") << "a format-1 value clears what a format-2 one left";
  for (const std::string& bad : {std::string("nozero"), ValueSetKey("", "1"),
                                 ValueSetKey("u", "")}) {
    EXPECT_FALSE(DecodeValueSetKey(bad, &out.url, &out.version)) << bad;
  }
  // Another definition is another record.
  ValueSetRecord other = r;
  other.excludes.clear();
  EXPECT_FALSE(other.SameDefinition(r));
  other = r;
  other.includes[0].filters[1].value = "false";
  EXPECT_FALSE(other.SameDefinition(r));
}

TEST(EncodingTest, SystemRoundTripTruncationAndUnknownFlags) {
  CodeSystemRecord r = testing::PlaceOfServiceSystem();
  r.case_sensitive = false;
  r.hierarchy_meaning = "is-a";
  r.license_scope = "licensed";
  r.supplements = "";
  r.create_time_micros = 1700000000000002;
  std::string bytes = EncodeSystem(r);
  CodeSystemRecord out;
  ASSERT_TRUE(DecodeSystem(bytes, &out).ok());
  out.id = r.id;  // the key's
  EXPECT_TRUE(out.SameDefinition(r));
  EXPECT_EQ(out.create_time_micros, r.create_time_micros);
  EXPECT_FALSE(out.case_sensitive);
  r.case_sensitive = true;
  ASSERT_TRUE(DecodeSystem(EncodeSystem(r), &out).ok());
  EXPECT_TRUE(out.case_sensitive);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_EQ(DecodeSystem(absl::string_view(bytes).substr(0, n), &out).code(),
              absl::StatusCode::kDataLoss);
  }
  // A flag this version does not know is refused, not dropped; so is a trailing byte.
  std::string flagged = EncodeSystem(r);
  const size_t flags_at = 1 + (1 + r.uri.size()) + (1 + r.title.size()) +
                          (1 + r.publisher.size()) + (1 + r.code_format.size()) +
                          (1 + r.code_pattern.size());
  ASSERT_EQ(flagged[flags_at], '\x01');
  flagged[flags_at] = '\x03';
  EXPECT_EQ(DecodeSystem(flagged, &out).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeSystem(bytes + "x", &out).code(), absl::StatusCode::kDataLoss);
}

TEST(EncodingTest, ReleaseFormat1IsStillRead) {
  ReleaseRecord r;
  r.system = "HCPCS";
  r.version = "2019";
  r.retract_reason = "superseded";
  r.retract_time_micros = 5;
  std::string v2 = EncodeRelease(r);
  // Format 1 is format 2 without the two trailing fields: cut them and relabel.
  std::string v1 = v2.substr(0, v2.size() - (1 + r.retract_reason.size()) - 1);
  v1[0] = 1;
  ReleaseRecord out;
  ASSERT_TRUE(DecodeRelease(v1, &out).ok());
  EXPECT_EQ(out.version, "2019");
  EXPECT_EQ(out.retract_reason, "");
  ASSERT_TRUE(DecodeRelease(v2, &out).ok());
  EXPECT_EQ(out.retract_reason, "superseded");
  EXPECT_EQ(out.retract_time_micros, 5);
  v1[0] = 3;
  EXPECT_EQ(DecodeRelease(v1, &out).code(), absl::StatusCode::kDataLoss);
}

TEST(EncodingTest, EventRoundTripAndKeyOrder) {
  EventRecord e;
  e.kind = EventKind::kRetracted;
  e.version = "FY2025";
  e.time_micros = 1700000000000000;
  std::string bytes = EncodeEvent(e);
  EventRecord out;
  ASSERT_TRUE(DecodeEvent(bytes, &out).ok());
  EXPECT_EQ(out.kind, EventKind::kRetracted);
  EXPECT_EQ(out.version, "FY2025");
  EXPECT_EQ(out.time_micros, e.time_micros);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_EQ(DecodeEvent(absl::string_view(bytes).substr(0, n), &out).code(),
              absl::StatusCode::kDataLoss);
  }
  EXPECT_LT(EventKey("HCPCS", 255), EventKey("HCPCS", 256));
  absl::string_view system;
  uint64_t sequence = 0;
  const std::string key = EventKey("HCPCS", 256);
  ASSERT_TRUE(DecodeEventKey(key, &system, &sequence));
  EXPECT_EQ(system, "HCPCS");
  EXPECT_EQ(sequence, 256u);
  for (size_t n = 0; n < key.size(); ++n) {
    EXPECT_FALSE(DecodeEventKey(absl::string_view(key).substr(0, n), &system, &sequence)) << n;
  }
  EXPECT_FALSE(DecodeEventKey(key + "x", &system, &sequence));
}

// The parts of keys that store.cc reads back, and the entry and flag readers, all from here.
TEST(EncodingTest, KeyPartsEntriesAndFlagsReadBack) {
  absl::string_view system, code;
  uint64_t sequence = 0;
  const std::string concept_key = ConceptKey("ICD10CM", "E119", 7);
  ASSERT_TRUE(SplitConceptKey(concept_key, &system, &code, &sequence));
  EXPECT_EQ(system, "ICD10CM");
  EXPECT_EQ(code, "E119");
  EXPECT_EQ(sequence, 7u);
  EXPECT_FALSE(SplitConceptKey("ICD10CM", &system, &code, &sequence));
  EXPECT_FALSE(SplitConceptKey(std::string("ICD10CM\0E119", 12), &system, &code, &sequence));

  const std::string change = ChangeKey("HCPCS", 3, "A0021");
  EXPECT_EQ(KeyAfterPrefix(change, ChangePrefix("HCPCS", 3).size()), "A0021");
  const std::string staged = StagingKey("HCPCS", "2025", "A0021");
  EXPECT_EQ(KeyAfterPrefix(staged, StagingPrefix("HCPCS", "2025").size()), "A0021");
  EXPECT_EQ(EncodeChange(ChangeKind::kAdded), std::string(1, static_cast<char>(ChangeKind::kAdded)));

  // Both directions of a link, and their order: a code's predecessors before its successors.
  const std::string by_new = LinkKey("ICD10CM", "E119", LinkKind::kPredecessors, "E11");
  const std::string by_previous = LinkKey("ICD10CM", "E11", LinkKind::kSuccessors, "E119");
  EXPECT_EQ(KeyAfterPrefix(by_new, LinkPrefix("ICD10CM", "E119", LinkKind::kPredecessors).size()),
            "E11");
  EXPECT_EQ(
      KeyAfterPrefix(by_previous, LinkPrefix("ICD10CM", "E11", LinkKind::kSuccessors).size()),
      "E119");
  EXPECT_EQ(by_new, std::string("ICD10CM\0E119\0PE11", 17));  // frozen: 'P' and 'S' on disk
  EXPECT_EQ(by_previous, std::string("ICD10CM\0E11\0SE119", 17));

  ConceptRecord r;
  r.display = "x";
  r.billable = true;
  r.active = false;
  r.kind = ConceptKind::kHeader;
  std::string body;
  EncodeConceptRecord(r, &body);
  std::string entry;
  EncodePresentEntryFromBody(body, &entry);
  EXPECT_EQ(entry, EncodePresentEntry(r));
  absl::string_view got;
  ASSERT_TRUE(PresentBody(entry, &got));
  EXPECT_EQ(got, body);
  EXPECT_FALSE(PresentBody(EncodeDeletedEntry(), &got));
  EXPECT_FALSE(PresentBody("", &got));
  RecordFlags f = FlagsOf(body);
  EXPECT_TRUE(f.present);
  EXPECT_TRUE(f.billable);
  EXPECT_FALSE(f.active);
  EXPECT_TRUE(f.header);
  EXPECT_FALSE(FlagsOf("\x01").present);
}

TEST(EncodingTest, VarintBoundaries) {
  for (uint64_t v : {uint64_t{0}, uint64_t{127}, uint64_t{128}, uint64_t{16383}, uint64_t{16384},
                     ~uint64_t{0}}) {
    std::string s;
    PutVarint64(&s, v);
    absl::string_view in = s;
    uint64_t got;
    ASSERT_TRUE(GetVarint64(&in, &got));
    EXPECT_EQ(got, v);
    EXPECT_TRUE(in.empty());
  }
  absl::string_view bad = "\x80\x80";
  uint64_t got;
  EXPECT_FALSE(GetVarint64(&bad, &got));
}

}  // namespace
TEST(EncodingTest, TermKeysRoundTripAndSortByTermThenNewestFirst) {
  std::string k = TermKey("ICD10CM", "diabetes", 3);
  absl::string_view term;
  uint64_t seq = 0;
  ASSERT_TRUE(DecodeTermKey(k, 8, &term, &seq));
  EXPECT_EQ(term, "diabetes");
  EXPECT_EQ(seq, 3u);
  EXPECT_LT(TermKey("S", "diab", 1), TermKey("S", "diabetes", 9));
  EXPECT_LT(TermKey("S", "t", 5), TermKey("S", "t", 4));
  EXPECT_FALSE(DecodeTermKey(k.substr(0, k.size() - 1), 8, &term, &seq));
  EXPECT_FALSE(DecodeTermKey("ICD10CM\0diabetes", 8, &term, &seq));
}

TEST(EncodingTest, TermEntriesRoundTripAndRefuseGarbage) {
  std::string v;
  EncodeTermEntry({{"A01", true}, {"B2", false}}, &v);
  std::vector<std::pair<std::string, bool>> got;
  auto collect = [&](absl::string_view code, bool gains) { got.emplace_back(code, gains); };
  ASSERT_TRUE(DecodeTermEntry(v, collect).ok());
  EXPECT_EQ(got, (std::vector<std::pair<std::string, bool>>{{"A01", true}, {"B2", false}}));
  for (size_t cut = 0; cut < v.size(); ++cut) {
    EXPECT_EQ(DecodeTermEntry(v.substr(0, cut), collect).code(), absl::StatusCode::kDataLoss)
        << cut;
  }
  std::string bad_tag = v;
  bad_tag.back() = 7;
  EXPECT_EQ(DecodeTermEntry(bad_tag, collect).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeTermEntry(v + "x", collect).code(), absl::StatusCode::kDataLoss);
}

TEST(EncodingTest, PrefixEndBoundsEveryStringWithThePrefix) {
  EXPECT_EQ(PrefixEnd("E11"), "E12");
  EXPECT_EQ(PrefixEnd("a\xff"), "b");
  EXPECT_EQ(PrefixEnd("\xff\xff"), "");
  EXPECT_EQ(PrefixEnd(""), "");
  EXPECT_LT(std::string("E11\xff\xff"), PrefixEnd("E11"));
}

// The names are on disk: a database written before must open with the same families.
TEST(EncodingTest, ColumnFamilyNamesAreFrozen) {
  std::vector<std::string> names;
  for (int id = 0; id < kColumnFamilyCount; ++id) {
    names.push_back(ColumnFamilyName(static_cast<ColumnFamilyId>(id)));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"default", "releases", "concepts", "changes",
                                             "staging", "events", "links", "terms", "systems",
                                             "valuesets"}));
  EXPECT_STREQ(ColumnFamilyName(ColumnFamilyId::kTerms), "terms");
  EXPECT_STREQ(ColumnFamilyName(ColumnFamilyId::kSystems), "systems");
}

}  // namespace codebook::storage
