#include "importers/line_reader.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace codebook::importers {
namespace {

// LineReader::size_hint: the file's size, or for gzip (by its magic bytes) the size its trailer
// gives (ISIZE: the last 4 bytes, little-endian); 0 when it cannot be read.
size_t SizeHint(const std::string& path) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return 0;
  std::ifstream in(path, std::ios::binary);
  unsigned char head[2] = {0, 0};
  in.read(reinterpret_cast<char*>(head), 2);
  if (in.gcount() != 2 || head[0] != 0x1f || head[1] != 0x8b) return static_cast<size_t>(size);
  if (size < 18) return 0;  // no room for a header and a trailer
  unsigned char tail[4];
  in.seekg(static_cast<std::streamoff>(size - 4));
  in.read(reinterpret_cast<char*>(tail), 4);
  if (in.gcount() != 4) return 0;
  return size_t{tail[0]} | size_t{tail[1]} << 8 | size_t{tail[2]} << 16 | size_t{tail[3]} << 24;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LineReader>> LineReader::Open(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory, not a file"));
  }
  // gzopen reads plain files transparently, so one code path serves both.
  gzFile gz = gzopen(path.c_str(), "rb");
  if (gz == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  gzbuffer(gz, 1 << 17);
  auto reader = std::unique_ptr<LineReader>(new LineReader());
  reader->path_ = path;
  reader->gz_ = gz;
  reader->size_hint_ = SizeHint(path);
  return reader;
}

LineReader::~LineReader() {
  if (gz_ != nullptr) gzclose(static_cast<gzFile>(gz_));
}

bool LineReader::Fill() {
  if (eof_) return false;
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  char chunk[1 << 16];
  int n = gzread(static_cast<gzFile>(gz_), chunk, sizeof(chunk));
  if (n < 0) {
    int err;
    const char* msg = gzerror(static_cast<gzFile>(gz_), &err);
    status_ = absl::InvalidArgumentError(
        absl::StrCat(path_, ": unreadable or corrupt compressed data: ", msg));
    eof_ = true;
    return false;
  }
  if (n == 0) {
    int err;
    const char* msg = gzerror(static_cast<gzFile>(gz_), &err);
    if (err != Z_OK && err != Z_STREAM_END) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat(path_, ": compressed data cut short or corrupt: ", msg));
    }
    eof_ = true;
    return false;
  }
  buf_.append(chunk, n);
  return true;
}

bool LineReader::Next(std::string* line) {
  while (true) {
    size_t nl = buf_.find('\n', pos_);
    if (nl != std::string::npos) {
      size_t end = nl;
      if (end > pos_ && buf_[end - 1] == '\r') --end;
      line->assign(buf_, pos_, end - pos_);
      pos_ = nl + 1;
      terminated_ = true;
      ++line_number_;
      return true;
    }
    if (!Fill()) break;
  }
  if (!status_.ok() || pos_ >= buf_.size()) return false;
  // A last line without a newline.
  line->assign(buf_, pos_, std::string::npos);
  if (!line->empty() && line->back() == '\r') line->pop_back();
  pos_ = buf_.size();
  terminated_ = false;
  ++line_number_;
  return true;
}

absl::StatusOr<std::string> ReadTextFile(const std::string& path) {
  absl::StatusOr<std::unique_ptr<LineReader>> reader = LineReader::Open(path);
  if (!reader.ok()) return reader.status();
  std::string text, line;
  while ((*reader)->Next(&line)) {
    text += line;
    text += '\n';
  }
  if (!(*reader)->status().ok()) return (*reader)->status();
  return text;
}

std::string CollapseSpaces(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool space = false;
  for (char c : s) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
    } else {
      if (space) out.push_back(' ');
      space = false;
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace codebook::importers
