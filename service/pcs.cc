#include "service/pcs.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "service/code_systems.h"
#include "service/conversions.h"
#include "service/supplements.h"
#include "storage/encoding.h"

namespace codebook::service {
namespace {

// One axis as stored: property "<pos> <title>" -> "<char> <meaning>" lines.
struct StoredAxis {
  int pos = 0;
  std::string title;
  std::vector<std::pair<char, std::string>> values;
};

std::vector<StoredAxis> AxesOf(const storage::ConceptRecord& r) {
  std::vector<StoredAxis> axes;
  for (const auto& [name, value] : r.properties) {
    std::pair<std::string, std::string> parts = absl::StrSplit(name, absl::MaxSplits(' ', 1));
    StoredAxis a;
    if (!absl::SimpleAtoi(parts.first, &a.pos) || a.pos < 1 || a.pos > 7) continue;
    a.title = parts.second;
    for (absl::string_view line : absl::StrSplit(value, '\n')) {
      if (line.size() >= 3 && line[1] == ' ') a.values.emplace_back(line[0], line.substr(2));
    }
    axes.push_back(std::move(a));
  }
  return axes;
}

const std::string* MeaningOf(const StoredAxis& a, char c) {
  for (const auto& [value, meaning] : a.values) {
    if (value == c) return &meaning;
  }
  return nullptr;
}

}  // namespace

absl::Status PcsContextOf(storage::Reader& reader, const storage::ReleaseRecord& base,
                          absl::string_view code, v1::LookupResponse* resp) {
  if (code.size() < 3) return absl::OkStatus();
  const CodeSystemInfo* tables = SupplementOf(base.system, CodeFormat::kIcd10PcsTables);
  if (tables == nullptr) return absl::OkStatus();
  const storage::ReleaseRecord* source = SupplementFor(reader.catalog(), *tables, base);
  if (source == nullptr) return absl::OkStatus();
  const std::string table(code.substr(0, 3));
  storage::CodeState st;
  absl::Status s = reader.Read(tables->id, table, source->sequence, &st);
  if (!s.ok()) return s;
  if (st.kind != storage::CodeState::Kind::kPresent) return absl::OkStatus();
  // Written straight into the response (on its arena), not built aside and copied in.
  v1::PcsContext& ctx = *resp->mutable_pcs();
  ctx.Clear();
  ToRef(*source, ctx.mutable_source());
  ctx.set_table(table);
  // The code's character at axis `a`'s position, if the axis gives it a meaning.
  auto add_character = [&](const StoredAxis& a) {
    const std::string* meaning = MeaningOf(a, code[a.pos - 1]);
    if (meaning == nullptr) return;
    v1::PcsCharacter* c = ctx.add_characters();
    c->set_position(a.pos);
    c->set_axis(a.title);
    c->set_value(std::string(1, code[a.pos - 1]));
    c->set_meaning(*meaning);
  };
  for (const StoredAxis& a : AxesOf(st.record)) {
    if (a.pos <= 3) add_character(a);
  }
  for (const auto& [name, value] : st.record.properties) {
    if (name == "definition") ctx.set_definition(value);
  }
  // The first row that holds every character of the code after the third.
  if (code.size() > 3) {
    const std::string begin = table + ":";
    std::vector<StoredAxis> found;
    s = reader.ForEachConceptInRange(
        tables->id, source->sequence, begin, storage::PrefixEnd(begin),
        [&](absl::string_view, const storage::ConceptRecord& row) {
          std::vector<StoredAxis> axes = AxesOf(row);
          size_t held = 0;
          for (const StoredAxis& a : axes) {
            if (a.pos >= 4 && static_cast<size_t>(a.pos) <= code.size() &&
                MeaningOf(a, code[a.pos - 1]) != nullptr) {
              ++held;
            }
          }
          if (held + 3 < code.size()) return true;
          found = std::move(axes);
          return false;
        });
    if (!s.ok()) return s;
    for (const StoredAxis& a : found) {
      if (a.pos >= 4 && static_cast<size_t>(a.pos) <= code.size()) add_character(a);
    }
    ctx.set_in_table(code.size() == 7 && !found.empty());
  }
  return absl::OkStatus();
}

}  // namespace codebook::service
