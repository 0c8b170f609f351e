#include "service/conversions.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"

namespace codebook::service {

void WithholdText(google::protobuf::Message* m) {
  if (m->GetDescriptor() == v1::Concept::descriptor()) {
    auto* c = static_cast<v1::Concept*>(m);
    c->clear_display();
    c->clear_designations();
    c->set_text_withheld(true);
    return;
  }
  const google::protobuf::Reflection* r = m->GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  r->ListFields(*m, &fields);
  for (const google::protobuf::FieldDescriptor* f : fields) {
    if (f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE || f->is_map()) continue;
    if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(*m, f); ++i) WithholdText(r->MutableRepeatedMessage(m, f, i));
    } else {
      WithholdText(r->MutableMessage(m, f));
    }
  }
}

void SetTimestamp(int64_t micros, google::protobuf::Timestamp* t) {
  t->set_seconds(micros / 1000000);
  t->set_nanos(static_cast<int32_t>((micros % 1000000) * 1000));
}

namespace {

v1::ReleaseState ToApi(storage::ReleaseState s) {
  switch (s) {
    case storage::ReleaseState::kStaged: return v1::RELEASE_STATE_STAGED;
    case storage::ReleaseState::kPublished: return v1::RELEASE_STATE_PUBLISHED;
    case storage::ReleaseState::kRetracted: return v1::RELEASE_STATE_RETRACTED;
  }
  return v1::RELEASE_STATE_UNSPECIFIED;
}

absl::Status ConceptError(absl::string_view code, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("concept ", code, ": ", what));
}

}  // namespace

void ToApi(const storage::ReleaseRecord& r, v1::Release* out) {
  out->set_system(r.system);
  out->set_version(r.version);
  out->set_effective_date(r.effective_date);
  out->set_state(ToApi(r.state));
  out->set_sequence(static_cast<int64_t>(r.sequence));
  out->set_checksum(r.checksum);
  out->set_description(r.description);
  out->set_staged_concepts(r.staged_concepts);
  SetTimestamp(r.create_time_micros, out->mutable_create_time());
  if (r.publish_time_micros != 0) SetTimestamp(r.publish_time_micros, out->mutable_publish_time());
  if (r.state == storage::ReleaseState::kRetracted) {
    out->set_retract_reason(r.retract_reason);
    SetTimestamp(r.retract_time_micros, out->mutable_retract_time());
  }
  if (r.state != storage::ReleaseState::kStaged) {
    v1::ReleaseCounts* c = out->mutable_counts();
    c->set_added(r.counts.added);
    c->set_deleted(r.counts.deleted);
    c->set_changed(r.counts.changed);
    c->set_total_active(r.counts.total_active);
    c->set_total(r.counts.total);
    c->set_billable_added(r.counts.billable_added);
    c->set_billable_removed(r.counts.billable_removed);
    c->set_headers_added(r.counts.headers_added);
    c->set_headers_removed(r.counts.headers_removed);
  }
  out->set_resource_json(r.resource_json);
}

void ToApi(const CodeSystemInfo& s, v1::CodeSystem* out) {
  out->set_id(s.id);
  out->set_uri(s.uri);
  out->set_title(s.title);
  out->set_publisher(s.publisher);
  out->set_license_scope(s.license_scope);
  out->set_supplements(s.supplements);
  out->set_built_in(s.format != CodeFormat::kPattern);
  out->set_code_pattern(s.code_pattern);
  out->set_case_sensitive(s.case_sensitive);
  out->set_hierarchy_meaning(s.hierarchy_meaning);
}

storage::CodeSystemRecord FromApi(const v1::CodeSystem& s) {
  storage::CodeSystemRecord r;
  r.id = s.id();
  r.uri = s.uri();
  r.title = s.title();
  r.publisher = s.publisher();
  r.code_format = "pattern";
  r.code_pattern = s.code_pattern();
  r.case_sensitive = s.case_sensitive();
  r.hierarchy_meaning = s.hierarchy_meaning();
  r.license_scope = s.license_scope();
  r.supplements = s.supplements();
  return r;
}

void ToApi(const storage::ValueSetRecord& r, v1::ValueSet* out) {
  out->set_url(r.url);
  out->set_version(r.version);
  out->set_title(r.title);
  out->set_publisher(r.publisher);
  out->set_description(r.description);
  for (const auto& [rules, api] : {std::pair{&r.includes, out->mutable_includes()},
                                   std::pair{&r.excludes, out->mutable_excludes()}}) {
    for (const storage::ValueSetRuleRecord& rule : *rules) {
      v1::ValueSetRule* a = api->Add();
      a->set_system(rule.system);
      a->set_version(rule.version);
      for (const std::string& c : rule.codes) a->add_codes(c);
      for (const storage::ValueSetFilterRecord& f : rule.filters) {
        v1::ValueSetFilter* af = a->add_filters();
        af->set_property(f.property);
        af->set_op(f.op);
        af->set_value(f.value);
      }
      for (const std::string& v : rule.value_sets) a->add_value_sets(v);
    }
  }
  if (r.create_time_micros != 0) SetTimestamp(r.create_time_micros, out->mutable_create_time());
  out->set_resource_json(r.resource_json);
}

storage::ValueSetRecord FromApi(const v1::ValueSet& vs) {
  storage::ValueSetRecord r;
  r.url = vs.url();
  r.version = vs.version();
  r.title = vs.title();
  r.publisher = vs.publisher();
  r.description = vs.description();
  for (const auto& [api, rules] : {std::pair{&vs.includes(), &r.includes},
                                   std::pair{&vs.excludes(), &r.excludes}}) {
    for (const v1::ValueSetRule& a : *api) {
      storage::ValueSetRuleRecord& rule = rules->emplace_back();
      rule.system = a.system();
      rule.version = a.version();
      rule.codes.assign(a.codes().begin(), a.codes().end());
      for (const v1::ValueSetFilter& f : a.filters()) {
        rule.filters.push_back({f.property(), f.op(), f.value()});
      }
      rule.value_sets.assign(a.value_sets().begin(), a.value_sets().end());
    }
  }
  r.resource_json = vs.resource_json();
  return r;
}

void ToRef(const storage::ReleaseRecord& r, v1::ReleaseRef* out) {
  out->set_system(r.system);
  out->set_version(r.version);
  out->set_sequence(static_cast<int64_t>(r.sequence));
  out->set_effective_date(r.effective_date);
}

void ToApi(const CodeSystemInfo& system, absl::string_view code, const storage::ConceptRecord& r,
           v1::Concept* out, bool basic) {
  // Hot path of every lookup: empty fields are left unset rather than set to "".
  out->set_code(PrintedCode(system, code));
  out->set_display(r.display);
  out->set_status(r.active ? v1::CONCEPT_STATUS_ACTIVE : v1::CONCEPT_STATUS_INACTIVE);
  out->set_kind(static_cast<v1::ConceptKind>(static_cast<int>(r.kind)));
  out->set_billable(r.billable);
  if (basic) return;
  for (const auto& [use, value] : r.designations) {
    v1::Designation* d = out->add_designations();
    // "use@language" (see storage::ConceptRecord::designations).
    if (size_t at = use.rfind('@'); at != std::string::npos) {
      d->set_use(use.substr(0, at));
      d->set_language(use.substr(at + 1));
    } else {
      d->set_use(use);
    }
    d->set_value(value);
  }
  if (!r.parent.empty()) out->set_parent(PrintedCode(system, r.parent));
  if (!r.added_date.empty()) out->set_added_date(r.added_date);
  if (!r.action_effective_date.empty()) out->set_action_effective_date(r.action_effective_date);
  if (!r.termination_date.empty()) out->set_termination_date(r.termination_date);
  if (!r.action_code.empty()) out->set_action_code(r.action_code);
  for (const auto& [name, value] : r.properties) (*out->mutable_properties())[name] = value;
}

std::string Describe(const storage::ReleaseRecord& r) {
  return absl::StrCat(r.system, " ", r.version, " (effective ", r.effective_date, ")");
}

absl::StatusOr<storage::StagedConcept> FromApi(const CodeSystemInfo& system,
                                               absl::string_view effective_date,
                                               v1::Concept* concept) {
  v1::Concept& c = *concept;
  storage::StagedConcept out;
  absl::StatusOr<std::string> code = NormalizeCode(system, c.code());
  if (!code.ok()) return absl::InvalidArgumentError(absl::StrCat("concept: ", code.status().message()));
  out.code = *std::move(code);
  storage::ConceptRecord& r = out.record;
  // A registered system's concept may have no display (FHIR's display is optional).
  if (c.display().empty() && system.format != CodeFormat::kPattern) {
    return ConceptError(c.code(), "display text is empty");
  }
  r.display = std::move(*c.mutable_display());
  r.designations.reserve(c.designations_size());
  for (v1::Designation& d : *c.mutable_designations()) {
    if (d.use().empty() && d.language().empty()) {
      return ConceptError(c.code(), "designation without a use or a language");
    }
    if (d.use().find('@') != std::string::npos || d.language().find('@') != std::string::npos) {
      return ConceptError(c.code(), "a designation's use or language holds '@'");
    }
    std::string use = std::move(*d.mutable_use());
    if (!d.language().empty()) absl::StrAppend(&use, "@", d.language());
    r.designations.emplace_back(std::move(use), std::move(*d.mutable_value()));
  }
  switch (c.kind()) {
    case v1::CONCEPT_KIND_UNSPECIFIED:
    case v1::CONCEPT_KIND_CODE: r.kind = storage::ConceptKind::kCode; break;
    case v1::CONCEPT_KIND_HEADER: r.kind = storage::ConceptKind::kHeader; break;
    case v1::CONCEPT_KIND_MODIFIER: r.kind = storage::ConceptKind::kModifier; break;
    default: return ConceptError(c.code(), absl::StrCat("unknown kind ", c.kind()));
  }
  r.billable = c.billable();
  if (!c.parent().empty()) {
    absl::StatusOr<std::string> parent = NormalizeCode(system, c.parent());
    if (!parent.ok()) return ConceptError(c.code(), parent.status().message());
    r.parent = *std::move(parent);
  }
  for (const std::string* date :
       {&c.added_date(), &c.action_effective_date(), &c.termination_date()}) {
    if (!date->empty() && !IsValidDate(*date)) {
      return ConceptError(c.code(), absl::StrCat("'", *date, "' is not a YYYY-MM-DD date"));
    }
  }
  r.added_date = c.added_date();
  r.action_effective_date = c.action_effective_date();
  r.termination_date = c.termination_date();
  r.action_code = c.action_code();
  r.active = c.status() != v1::CONCEPT_STATUS_INACTIVE &&
             (r.termination_date.empty() || r.termination_date >= effective_date);
  r.properties.assign(c.properties().begin(), c.properties().end());
  std::sort(r.properties.begin(), r.properties.end());
  return out;
}

const storage::ReleaseRecord* ReleaseInForce(const storage::Catalog& catalog,
                                             absl::string_view system, absl::string_view date) {
  const storage::ReleaseRecord* best = nullptr;
  for (const storage::ReleaseRecord& r : catalog.Releases(system)) {
    if (r.state == storage::ReleaseState::kPublished && r.effective_date <= date &&
        (best == nullptr || r.effective_date > best->effective_date ||
         (r.effective_date == best->effective_date && r.sequence > best->sequence))) {
      best = &r;
    }
  }
  return best;
}

absl::StatusOr<const storage::ReleaseRecord*> SelectRelease(const storage::Catalog& catalog,
                                                            const CodeSystemInfo& system,
                                                            const v1::ReleaseSelector& selector,
                                                            absl::string_view today) {
  switch (selector.selector_case()) {
    case v1::ReleaseSelector::kVersion: {
      const storage::ReleaseRecord* r = catalog.Find(system.id, selector.version());
      if (r == nullptr) {
        return absl::NotFoundError(
            absl::StrCat(system.id, " has no release ", selector.version()));
      }
      if (r->state == storage::ReleaseState::kStaged) {
        return absl::NotFoundError(absl::StrCat(system.id, " release ", selector.version(),
                                                " is staged, not published"));
      }
      return r;
    }
    case v1::ReleaseSelector::kDateOfService: {
      const std::string& date = selector.date_of_service();
      if (!IsValidDate(date)) {
        return absl::InvalidArgumentError(
            absl::StrCat("date of service '", date, "' is not a YYYY-MM-DD date"));
      }
      const storage::ReleaseRecord* r = ReleaseInForce(catalog, system.id, date);
      if (r == nullptr) {
        return absl::NotFoundError(
            absl::StrCat(system.id, " has no published release in effect on ", date));
      }
      return r;
    }
    case v1::ReleaseSelector::SELECTOR_NOT_SET:
      break;
  }
  const storage::ReleaseRecord* r = ReleaseInForce(catalog, system.id, today);
  if (r == nullptr) {
    return absl::NotFoundError(
        absl::StrCat(system.id, " has no published release in effect today (", today, ")"));
  }
  return r;
}

absl::StatusOr<const storage::ReleaseRecord*> LaterReleaseWithCode(
    storage::Reader& reader, const CodeSystemInfo& system, absl::string_view code,
    uint64_t sequence) {
  while (true) {
    absl::StatusOr<uint64_t> later = reader.NextPresentSequence(system.id, code, sequence);
    if (!later.ok()) return later.status();
    if (*later == 0) return nullptr;
    const storage::ReleaseRecord* r = reader.catalog().FindBySequence(system.id, *later);
    if (r != nullptr && r->state == storage::ReleaseState::kPublished) return r;
    sequence = *later;  // retracted (or not in this reader's catalog): look further
  }
}

// Why a code is absent from a release, for messages: "code X was deleted in ..." or "code X is
// not in ...; it was added in ...".
std::string AbsentReason(storage::Reader& reader, const CodeSystemInfo& system,
                           const storage::ReleaseRecord& release, absl::string_view code,
                           const storage::CodeState& st) {
  const storage::Catalog& catalog = reader.catalog();
  std::string printed = PrintedCode(system, code);
  if (st.kind == storage::CodeState::Kind::kDeleted) {
    const storage::ReleaseRecord* by = catalog.FindBySequence(system.id, st.entry_sequence);
    return absl::StrCat("code ", printed, " was deleted in ",
                        by ? Describe(*by) : absl::StrCat("release #", st.entry_sequence));
  }
  std::string msg = absl::StrCat("code ", printed, " is not in ", Describe(release));
  absl::StatusOr<const storage::ReleaseRecord*> later =
      LaterReleaseWithCode(reader, system, code, release.sequence);
  if (later.ok() && *later != nullptr) absl::StrAppend(&msg, "; it was added in ", Describe(**later));
  return msg;
}


}  // namespace codebook::service
