#include "importers/xml_file.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "importers/line_reader.h"

namespace codebook::importers {

absl::StatusOr<std::unique_ptr<XmlFile>> XmlFile::Open(const std::string& path,
                                                       absl::string_view root) {
  absl::StatusOr<std::string> text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  auto file = std::unique_ptr<XmlFile>(new XmlFile());
  file->path_ = path;
  file->text_ = *std::move(text);
  pugi::xml_parse_result parsed = file->doc_.load_buffer(file->text_.data(), file->text_.size());
  if (!parsed) {
    return file->Error(parsed.offset, absl::StrCat("not well-formed XML: ", parsed.description()));
  }
  pugi::xml_node element = file->root();
  if (element.name() != root) {
    return file->Error(element.offset_debug(), absl::StrCat("the root element is <",
                                                            element.name(), ">, not <", root, ">"));
  }
  return file;
}

absl::Status XmlFile::Error(ptrdiff_t offset, absl::string_view what) const {
  size_t end = offset < 0 ? 0 : std::min<size_t>(offset, text_.size());
  int line = 1 + static_cast<int>(std::count(text_.begin(), text_.begin() + end, '\n'));
  return absl::InvalidArgumentError(absl::StrCat(path_, ":", line, ": ", what));
}

}  // namespace codebook::importers
