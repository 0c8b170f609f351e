// Hierarchy: where a code sits in its system, per system.
//
//  - ICD-10-CM, ICD-10-PCS: a code's parent is the nearest code above it in the order file
//    (stored with the concept); codes without one are the top level. For ICD-10-CM with a
//    Tabular List (the ICD10CM-TABULAR release that serves the release, tabular.h), a
//    category's parent is its block ("I10-I16"), a block's its chapter ("CHAPTER-9"), and the
//    top level the chapters and any category no block of that Tabular holds (one added after
//    it); chapters and blocks are answered as groups.
//  - CPT: groups by code range. Category I ("CATEGORY_I") holds the sections ANESTHESIA
//    (00100-01999), SURGERY (10004-69990), RADIOLOGY (70010-79999), PATHOLOGY_LABORATORY
//    (80047-89398), MEDICINE (90281-99199, 99500-99607, and the ####A vaccine codes) and
//    EVALUATION_MANAGEMENT (99202-99499); CATEGORY_II (####F), CATEGORY_III (####T) and PLA
//    (####U) are top-level groups too. Codes in the gaps between sections belong to
//    CATEGORY_I itself.
//  - HCPCS Level II: one group per first letter ("E": durable medical equipment, ...).
//  - CPT and HCPCS modifiers: the group MODIFIERS.
// Groups are not stored: they are answered as concepts of kind CONCEPT_KIND_GROUP, and a group
// id is accepted wherever these calls take a code (case is ignored).
#ifndef CODEBOOK_SERVICE_HIERARCHY_H_
#define CODEBOOK_SERVICE_HIERARCHY_H_

#include <string>

#include "absl/strings/string_view.h"
#include "service/code_systems.h"
#include "storage/records.h"

namespace codebook::service {

// The group a CPT or HCPCS code (storage form) belongs to directly; empty for other systems.
std::string GroupOfCode(const CodeSystemInfo& system, absl::string_view code,
                        const storage::ConceptRecord& record);

}  // namespace codebook::service

#endif  // CODEBOOK_SERVICE_HIERARCHY_H_
