#include "importers/xml_file.h"

#include <algorithm>
#include <functional>

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

std::string XmlFile::Text(const pugi::xml_node& node, absl::string_view aside,
                          std::string* aside_text) {
  std::string main, extra;
  std::function<void(const pugi::xml_node&, bool, int)> walk = [&](const pugi::xml_node& n,
                                                                    bool in_aside, int depth) {
    for (pugi::xml_node c : n.children()) {
      if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) {
        std::string& to = in_aside ? extra : main;
        to += c.value();
        to += ' ';
      } else if (c.type() == pugi::node_element && absl::string_view(c.name()) != "old" &&
                 depth < 32) {
        walk(c, in_aside || (!aside.empty() && c.name() == aside), depth + 1);
      }
    }
  };
  walk(node, false, 0);
  if (aside_text != nullptr) *aside_text = CollapseSpaces(extra);
  return CollapseSpaces(main);
}

absl::Status XmlFile::Error(ptrdiff_t offset, absl::string_view what) const {
  size_t end = offset < 0 ? 0 : std::min<size_t>(offset, text_.size());
  int line = 1 + static_cast<int>(std::count(text_.begin(), text_.begin() + end, '\n'));
  return absl::InvalidArgumentError(absl::StrCat(path_, ":", line, ": ", what));
}

}  // namespace codebook::importers
