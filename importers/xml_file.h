// XmlFile: a publisher's XML file (plain or gzip-compressed) parsed whole, with errors that name
// the file and line. Shared by the ICD-10-CM Tabular and Index parsers; internal to importers.
#ifndef CODEBOOK_IMPORTERS_XML_FILE_H_
#define CODEBOOK_IMPORTERS_XML_FILE_H_

#include <cstddef>
#include <memory>
#include <pugixml.hpp>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace codebook::importers {

class XmlFile {
 public:
  // Reads and parses `path`, whose root element must be `root`. NOT_FOUND for a missing file;
  // INVALID_ARGUMENT naming file and line for a file that is not well-formed, is cut short, or
  // has another root element.
  static absl::StatusOr<std::unique_ptr<XmlFile>> Open(const std::string& path,
                                                       absl::string_view root);

  pugi::xml_node root() const { return doc_.document_element(); }
  // The text under `node`, whitespace collapsed: every character data in document order, pieces
  // separated by a space, leaving out <old> (text an addendum removed) and markup nested deeper
  // than 32 levels (a hostile file cannot exhaust the stack). Text inside elements named
  // `aside` ("nemod") is left out, and goes to *aside_text when given.
  static std::string Text(const pugi::xml_node& node, absl::string_view aside = {},
                          std::string* aside_text = nullptr);
  const std::string& path() const { return path_; }
  // INVALID_ARGUMENT "<path>:<line>: what", the line of the byte `offset` (a node's
  // offset_debug()).
  absl::Status Error(ptrdiff_t offset, absl::string_view what) const;

 private:
  XmlFile() = default;
  std::string path_;
  std::string text_;
  pugi::xml_document doc_;
};

}  // namespace codebook::importers

#endif  // CODEBOOK_IMPORTERS_XML_FILE_H_
