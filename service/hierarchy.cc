// Hierarchy calls of TerminologyImpl (GetAncestors, GetChildren, Subsumes); see hierarchy.h.
#include "service/hierarchy.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "service/conversions.h"
#include "service/tabular.h"
#include "service/terminology_impl.h"
#include "storage/encoding.h"

namespace codebook::service {
namespace {

struct Group {
  const char* id;
  const char* display;
  const char* parent;  // "" at the top
};

const std::vector<Group>& CptGroups() {
  static const auto* groups = new std::vector<Group>{
      {"CATEGORY_I", "Category I: procedures and services (00100-99607)", ""},
      {"ANESTHESIA", "Anesthesia (00100-01999)", "CATEGORY_I"},
      {"SURGERY", "Surgery (10004-69990)", "CATEGORY_I"},
      {"RADIOLOGY", "Radiology (70010-79999)", "CATEGORY_I"},
      {"PATHOLOGY_LABORATORY", "Pathology and Laboratory (80047-89398)", "CATEGORY_I"},
      {"MEDICINE", "Medicine (90281-99199, 99500-99607)", "CATEGORY_I"},
      {"EVALUATION_MANAGEMENT", "Evaluation and Management (99202-99499)", "CATEGORY_I"},
      {"CATEGORY_II", "Category II: performance measurement (####F)", ""},
      {"CATEGORY_III", "Category III: emerging technology (####T)", ""},
      {"PLA", "Proprietary Laboratory Analyses (####U)", ""},
      {"MODIFIERS", "Modifiers", ""},
  };
  return *groups;
}

const std::vector<Group>& HcpcsGroups() {
  static const auto* groups = new std::vector<Group>{
      {"A", "A codes: transportation, medical and surgical supplies, miscellaneous", ""},
      {"B", "B codes: enteral and parenteral therapy", ""},
      {"C", "C codes: outpatient prospective payment system", ""},
      {"D", "D codes: dental procedures", ""},
      {"E", "E codes: durable medical equipment", ""},
      {"G", "G codes: procedures and professional services (temporary)", ""},
      {"H", "H codes: alcohol and drug abuse treatment services", ""},
      {"J", "J codes: drugs administered other than oral method", ""},
      {"K", "K codes: temporary codes for durable medical equipment", ""},
      {"L", "L codes: orthotic and prosthetic procedures and devices", ""},
      {"M", "M codes: medical services", ""},
      {"P", "P codes: pathology and laboratory services", ""},
      {"Q", "Q codes: temporary codes", ""},
      {"R", "R codes: diagnostic radiology services", ""},
      {"S", "S codes: temporary national codes (non-Medicare)", ""},
      {"T", "T codes: national codes established for state Medicaid agencies", ""},
      {"U", "U codes: coronavirus diagnostic panel", ""},
      {"V", "V codes: vision, hearing and speech-language pathology services", ""},
      {"MODIFIERS", "Modifiers", ""},
  };
  return *groups;
}

const std::vector<Group>& GroupsOf(const CodeSystemInfo& system) {
  static const std::vector<Group> kNone;
  if (system.format == CodeFormat::kCpt) return CptGroups();
  if (system.format == CodeFormat::kHcpcs) return HcpcsGroups();
  return kNone;
}

const Group* FindGroup(const CodeSystemInfo& system, absl::string_view id) {
  std::string upper = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(id));
  for (const Group& g : GroupsOf(system)) {
    if (upper == g.id) return &g;
  }
  return nullptr;
}

void GroupToApi(const Group& g, v1::Concept* out) {
  out->set_code(g.id);
  out->set_display(g.display);
  out->set_kind(v1::CONCEPT_KIND_GROUP);
  out->set_status(v1::CONCEPT_STATUS_ACTIVE);
  out->set_parent(g.parent);
}

// A node of the hierarchy: a group, a chapter or block of the Tabular, or a code of the
// release with its record.
struct Node {
  const Group* group = nullptr;
  const TabularRelease::Entry* section = nullptr;  // a chapter or block
  std::string code;  // storage form, when a code
  storage::ConceptRecord record;
  std::string Id() const { return group ? group->id : section ? section->key : code; }
};

bool IsSection(const TabularRelease::Entry& e) { return absl::StrContains(e.key, '-'); }

class Hierarchy {
 public:
  // `tabular`: the Tabular that serves `release` (ICD-10-CM), or null.
  Hierarchy(storage::Reader* reader, const CodeSystemInfo& system,
            const storage::ReleaseRecord& release, std::shared_ptr<const TabularRelease> tabular)
      : reader_(reader), system_(system), release_(release), tabular_(std::move(tabular)) {}

  absl::StatusOr<Node> Resolve(absl::string_view input) {
    Node n;
    if ((n.group = FindGroup(system_, input)) != nullptr) return n;
    if (tabular_ != nullptr && absl::StrContains(input, '-')) {
      std::string key = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(input));
      const TabularRelease::Entry* e = tabular_->Find(key);
      if (e != nullptr && IsSection(*e)) {
        n.section = e;
        return n;
      }
      return absl::NotFoundError(absl::StrCat(
          "'", input, "' is not a chapter or block of ", Describe(tabular_->release()),
          " (blocks are written FIRST-LAST, such as I10-I16; chapters CHAPTER-9)"));
    }
    absl::StatusOr<std::string> code = NormalizeCode(system_, input);
    if (!code.ok()) {
      std::string groups;
      for (const Group& g : GroupsOf(system_)) absl::StrAppend(&groups, groups.empty() ? "" : ", ", g.id);
      if (groups.empty()) return code.status();
      return absl::InvalidArgumentError(
          absl::StrCat(code.status().message(), " nor one of its groups (", groups, ")"));
    }
    return ReadCode(*code);
  }

  absl::StatusOr<Node> ReadCode(const std::string& code) {
    Node n;
    n.code = code;
    storage::CodeState st;
    absl::Status s = reader_->Read(system_.id, code, release_.sequence, &st);
    if (!s.ok()) return s;
    if (st.kind != storage::CodeState::Kind::kPresent) {
      return absl::NotFoundError(AbsentReason(*reader_, system_, release_, code, st));
    }
    n.record = std::move(st.record);
    return n;
  }

  // The block of a top-level code (an ICD-10-CM category) in the Tabular; null if none.
  const TabularRelease::Entry* BlockOf(absl::string_view code) const {
    if (tabular_ == nullptr) return nullptr;
    for (const TabularRelease::Entry* e : tabular_->ChainOf(code).entries) {
      if (IsSection(*e)) return e;
    }
    return nullptr;
  }

  // The parent of `n`; nullopt-like: ok with *has = false at the top.
  absl::StatusOr<Node> Parent(const Node& n, bool* has) {
    *has = true;
    Node p;
    if (n.section != nullptr) {
      p.section = n.section->parent.empty() ? nullptr : tabular_->Find(n.section->parent);
      *has = p.section != nullptr;
      return p;
    }
    if (n.group != nullptr) {
      if (*n.group->parent == '\0') {
        *has = false;
        return p;
      }
      p.group = FindGroup(system_, n.group->parent);
      return p;
    }
    std::string group = GroupOfCode(system_, n.code, n.record);
    if (!group.empty()) {
      p.group = FindGroup(system_, group);
      return p;
    }
    if (n.record.parent.empty()) {
      p.section = BlockOf(n.code);
      *has = p.section != nullptr;
      return p;
    }
    return ReadCode(n.record.parent);
  }

  absl::Status Ancestors(const Node& n, std::vector<Node>* out) {
    const Node* at = &n;
    for (int depth = 0; depth < 16; ++depth) {  // the deepest system has 7 levels
      bool has = false;
      absl::StatusOr<Node> p = Parent(*at, &has);
      if (!p.ok()) return p.status();
      if (!has) return absl::OkStatus();
      out->push_back(*std::move(p));
      at = &out->back();
    }
    return absl::InternalError(absl::StrCat("the ancestors of ", n.Id(), " form a cycle"));
  }

  // Children of `n` (of the top level when n is null), in code order (groups in their order;
  // chapters by number, blocks by range). With a Tabular, the top level is its chapters (and
  // any category of the release that no block holds), a chapter's children its blocks, and a
  // block's the release's categories in its range.
  absl::Status Children(const Node* n, std::vector<Node>* out) {
    const std::string parent_id = n == nullptr ? "" : n->Id();
    if (tabular_ != nullptr && (n == nullptr || n->section != nullptr)) {
      bool chapter_level = n == nullptr;
      bool block = n != nullptr && !absl::StartsWith(n->section->key, "CHAPTER-");
      if (!block) {
        for (const TabularRelease::Entry* e : tabular_->Sections()) {
          if (e->parent == parent_id) out->push_back(Node{nullptr, e, "", {}});
        }
        if (!chapter_level) return absl::OkStatus();
      }
      // A block's categories: those the Tabular lists under it (not always inside the range
      // its id names: FY2023 lists I1A under I10-I16) that the release has.
      if (block) {
        storage::CodeState st;
        for (const TabularRelease::Entry* e : n->section->children) {
          absl::Status s = reader_->Read(system_.id, e->key, release_.sequence, &st);
          if (!s.ok()) return s;
          if (st.kind == storage::CodeState::Kind::kPresent && st.record.parent.empty()) {
            out->push_back(Node{nullptr, nullptr, e->key, st.record});
          }
        }
        return absl::OkStatus();
      }
      // At the top, after the chapters: the release's categories no block holds.
      return reader_->ForEachConceptInRange(
          system_.id, release_.sequence, "", "",
          [&](absl::string_view code, const storage::ConceptRecord& r) {
            if (r.parent.empty() && BlockOf(code) == nullptr) {
              out->push_back(Node{nullptr, nullptr, std::string(code), r});
            }
            return true;
          });
    }
    for (const Group& g : GroupsOf(system_)) {
      if (parent_id == g.parent && (n == nullptr || n->group != nullptr)) {
        out->push_back(Node{&g, nullptr, "", {}});
      }
    }
    if (n != nullptr && n->group == nullptr && !GroupsOf(system_).empty()) {
      return absl::OkStatus();  // CPT and HCPCS codes have no children
    }
    std::string begin, end;
    if (n != nullptr && n->group == nullptr) {
      begin = n->code;  // ICD children start with their parent's code
      end = storage::PrefixEnd(n->code);
    } else if (n != nullptr && system_.format == CodeFormat::kHcpcs &&
               parent_id.size() == 1) {
      begin = parent_id;
      end = storage::PrefixEnd(parent_id);
    }
    return reader_->ForEachConceptInRange(
        system_.id, release_.sequence, begin, end,
        [&](absl::string_view code, const storage::ConceptRecord& r) {
          std::string group = GroupOfCode(system_, code, r);
          bool child = GroupsOf(system_).empty() ? r.parent == parent_id && code != parent_id
                                                 : group == parent_id;
          if (child) out->push_back(Node{nullptr, nullptr, std::string(code), r});
          return true;
        });
  }

  void ToApi(const Node& n, v1::Concept* out) {
    if (n.group != nullptr) {
      GroupToApi(*n.group, out);
      return;
    }
    if (n.section != nullptr) {
      out->set_code(n.section->printed);
      out->set_display(n.section->display);
      out->set_kind(v1::CONCEPT_KIND_GROUP);
      out->set_status(v1::CONCEPT_STATUS_ACTIVE);
      if (!n.section->parent.empty()) out->set_parent(n.section->parent);
      return;
    }
    service::ToApi(system_, n.code, n.record, out);
    std::string group = GroupOfCode(system_, n.code, n.record);
    if (!group.empty()) out->set_parent(group);
    if (n.record.parent.empty()) {
      if (const TabularRelease::Entry* block = BlockOf(n.code)) out->set_parent(block->printed);
    }
  }

 private:
  storage::Reader* reader_;
  const CodeSystemInfo& system_;
  const storage::ReleaseRecord& release_;
  std::shared_ptr<const TabularRelease> tabular_;
};

// The system, a reader and the selected release of a hierarchy request.
struct Context {
  const CodeSystemInfo* system = nullptr;
  std::unique_ptr<storage::Reader> reader;
  const storage::ReleaseRecord* release = nullptr;
  std::shared_ptr<const TabularRelease> tabular;  // chapters and blocks (ICD-10-CM), or null
};

}  // namespace

std::string GroupOfCode(const CodeSystemInfo& system, absl::string_view code,
                        const storage::ConceptRecord& record) {
  if (system.format != CodeFormat::kCpt && system.format != CodeFormat::kHcpcs) return "";
  if (record.kind == storage::ConceptKind::kModifier || code.size() == 2) return "MODIFIERS";
  if (system.format == CodeFormat::kHcpcs) {
    if (code.empty()) return "";
    for (const Group& g : HcpcsGroups()) {
      if (code[0] == g.id[0] && g.id[1] == '\0') return g.id;
    }
    return "";
  }
  if (code.size() != 5) return "CATEGORY_I";
  switch (code[4]) {
    case 'F': return "CATEGORY_II";
    case 'T': return "CATEGORY_III";
    case 'U': return "PLA";
    case 'A': return "MEDICINE";  // vaccine product and administration codes
    case 'M': return "PATHOLOGY_LABORATORY";  // multianalyte assays (MAAA)
    default: break;
  }
  int n = 0;
  if (!absl::SimpleAtoi(code, &n)) return "CATEGORY_I";
  if (n >= 100 && n <= 1999) return "ANESTHESIA";
  if (n >= 10004 && n <= 69990) return "SURGERY";
  if (n >= 70010 && n <= 79999) return "RADIOLOGY";
  if (n >= 80047 && n <= 89398) return "PATHOLOGY_LABORATORY";
  if (n >= 99202 && n <= 99499) return "EVALUATION_MANAGEMENT";
  if ((n >= 90281 && n <= 99199) || (n >= 99500 && n <= 99607)) return "MEDICINE";
  return "CATEGORY_I";
}

namespace {

absl::Status Open(storage::Store* store, TabularCache* tabulars, const std::string& system_id,
                  const v1::ReleaseSelector& selector, const std::string& today, Context* c) {
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(*store, system_id);
  if (!system.ok()) return system.status();
  c->system = *system;
  c->reader = store->NewReader();
  absl::StatusOr<const storage::ReleaseRecord*> release =
      SelectRelease(c->reader->catalog(), **system, selector, today);
  if (!release.ok()) return release.status();
  c->release = *release;
  absl::StatusOr<std::shared_ptr<const TabularRelease>> tabular =
      tabulars->For(*c->reader, **release);
  if (!tabular.ok()) return tabular.status();
  c->tabular = *std::move(tabular);
  return absl::OkStatus();
}

}  // namespace

absl::Status TerminologyImpl::GetAncestors(const v1::GetAncestorsRequest& req,
                                           v1::GetAncestorsResponse* resp) const {
  Context c;
  absl::Status s = Open(store_, &tabular_cache_, req.system(), req.selector(), Today(), &c);
  if (!s.ok()) return s;
  Hierarchy h(c.reader.get(), *c.system, *c.release, c.tabular);
  absl::StatusOr<Node> n = h.Resolve(req.code());
  if (!n.ok()) return n.status();
  std::vector<Node> ancestors;
  s = h.Ancestors(*n, &ancestors);
  if (!s.ok()) return s;
  ToRef(*c.release, resp->mutable_release());
  h.ToApi(*n, resp->mutable_concept());
  for (const Node& a : ancestors) h.ToApi(a, resp->add_ancestors());
  return absl::OkStatus();
}

absl::Status TerminologyImpl::GetChildren(const v1::GetChildrenRequest& req,
                                          v1::GetChildrenResponse* resp) const {
  int page_size = req.page_size() == 0 ? 500 : req.page_size();
  if (page_size < 0 || page_size > 5000) {
    return absl::InvalidArgumentError(
        absl::StrCat("page size ", req.page_size(), " is outside 1..5000"));
  }
  Context c;
  v1::ReleaseSelector selector = req.selector();
  int offset = 0;
  if (!req.page_token().empty()) {
    // "c1.<release sequence>.<offset>.<code>"
    std::vector<std::string> parts = absl::StrSplit(req.page_token(), absl::MaxSplits('.', 3));
    uint64_t seq = 0;
    if (parts.size() != 4 || parts[0] != "c1" || !absl::SimpleAtoi(parts[1], &seq) ||
        !absl::SimpleAtoi(parts[2], &offset) || offset < 0 || parts[3] != req.code()) {
      return absl::InvalidArgumentError("the page token is not one this request returned");
    }
    std::shared_ptr<const storage::Catalog> catalog = store_->catalog();
    const storage::ReleaseRecord* r = catalog->FindBySequence(req.system(), seq);
    if (r == nullptr) return absl::InvalidArgumentError("the page token names an unknown release");
    selector.set_version(r->version);
  }
  absl::Status s = Open(store_, &tabular_cache_, req.system(), selector, Today(), &c);
  if (!s.ok()) return s;
  Hierarchy h(c.reader.get(), *c.system, *c.release, c.tabular);
  std::vector<Node> children;
  if (absl::StripAsciiWhitespace(req.code()).empty()) {
    s = h.Children(nullptr, &children);
  } else {
    absl::StatusOr<Node> n = h.Resolve(req.code());
    if (!n.ok()) return n.status();
    h.ToApi(*n, resp->mutable_concept());
    s = h.Children(&*n, &children);
  }
  if (!s.ok()) return s;
  ToRef(*c.release, resp->mutable_release());
  for (int i = offset; i < static_cast<int>(children.size()) && i < offset + page_size; ++i) {
    h.ToApi(children[i], resp->add_children());
  }
  if (offset + page_size < static_cast<int>(children.size())) {
    resp->set_next_page_token(
        absl::StrCat("c1.", c.release->sequence, ".", offset + page_size, ".", req.code()));
  }
  return absl::OkStatus();
}

absl::Status TerminologyImpl::Subsumes(const v1::SubsumesRequest& req,
                                       v1::SubsumesResponse* resp) const {
  Context c;
  absl::Status s = Open(store_, &tabular_cache_, req.system(), req.selector(), Today(), &c);
  if (!s.ok()) return s;
  Hierarchy h(c.reader.get(), *c.system, *c.release, c.tabular);
  absl::StatusOr<Node> a = h.Resolve(req.code_a());
  if (!a.ok()) return a.status();
  absl::StatusOr<Node> b = h.Resolve(req.code_b());
  if (!b.ok()) return b.status();
  ToRef(*c.release, resp->mutable_release());
  if (a->Id() == b->Id()) {
    resp->set_outcome(v1::SUBSUMPTION_OUTCOME_EQUIVALENT);
    return absl::OkStatus();
  }
  auto has_ancestor = [&](const Node& n, const std::string& id, bool* found) {
    std::vector<Node> ancestors;
    absl::Status st = h.Ancestors(n, &ancestors);
    *found = std::any_of(ancestors.begin(), ancestors.end(),
                         [&](const Node& x) { return x.Id() == id; });
    return st;
  };
  bool a_over_b = false, b_over_a = false;
  s = has_ancestor(*b, a->Id(), &a_over_b);
  if (s.ok()) s = has_ancestor(*a, b->Id(), &b_over_a);
  if (!s.ok()) return s;
  resp->set_outcome(a_over_b   ? v1::SUBSUMPTION_OUTCOME_SUBSUMES
                    : b_over_a ? v1::SUBSUMPTION_OUTCOME_SUBSUMED_BY
                               : v1::SUBSUMPTION_OUTCOME_NOT_SUBSUMED);
  return absl::OkStatus();
}

}  // namespace codebook::service
