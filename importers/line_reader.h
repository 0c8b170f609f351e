// LineReader: reads a text file line by line, plain or gzip-compressed (detected by its magic
// bytes, whatever the file name), with the line number of every line for error messages.
//
// Lines come without their "\n" or "\r\n". A gzip stream that is corrupt or cut short is an
// INVALID_ARGUMENT error naming the file. Not thread-safe.
#ifndef CODEBOOK_IMPORTERS_LINE_READER_H_
#define CODEBOOK_IMPORTERS_LINE_READER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace codebook::importers {

// A source of numbered text lines for the parsers: a file (LineReader) or rows made into lines.
class LineSource {
 public:
  virtual ~LineSource() = default;
  // The next line, without its end of line; false at the end or on error (see status()).
  virtual bool Next(std::string* line) = 0;
  // OK at a clean end, the error otherwise.
  virtual const absl::Status& status() const = 0;
  // 1-based number of the line (or row) last returned, for error messages.
  virtual int line_number() const = 0;
  // False if the last line returned ended without a newline (a text file cut short).
  virtual bool last_line_terminated() const = 0;
  // The file the lines come from, for error messages.
  virtual const std::string& path() const = 0;
  // About how many bytes of text the source holds, for sizing what is parsed from it; 0 when
  // unknown. Never to be trusted for more (a file may say anything).
  virtual size_t size_hint() const { return 0; }
};

class LineReader final : public LineSource {
 public:
  // NOT_FOUND if the file does not exist, INVALID_ARGUMENT if it cannot be read.
  static absl::StatusOr<std::unique_ptr<LineReader>> Open(const std::string& path);
  ~LineReader();

  // Reads the next line into *line. Returns false at the end of the file or on error; then
  // status() tells which.
  bool Next(std::string* line) override;
  // OK at a clean end of file, the error otherwise.
  const absl::Status& status() const override { return status_; }
  // 1-based number of the line last returned.
  int line_number() const override { return line_number_; }
  // True if the line last returned ended with a newline (false for a final unterminated line,
  // the mark of a text file cut short).
  bool last_line_terminated() const override { return terminated_; }
  const std::string& path() const override { return path_; }
  // A plain file's size; a gzip file's uncompressed size as its trailer states it (its last
  // member's, modulo 4 GiB).
  size_t size_hint() const override { return size_hint_; }

 private:
  LineReader() = default;
  bool Fill();

  std::string path_;
  void* gz_ = nullptr;  // gzFile
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
  size_t size_hint_ = 0;
  bool terminated_ = true;
  int line_number_ = 0;
  absl::Status status_;
};

// The whole text of a file (plain or gzip-compressed), its lines joined by "\n" (a "\r" before
// each line end dropped), so that the n-th line of the result is the n-th line of the file.
// Errors as LineReader::Open and LineReader::Next.
absl::StatusOr<std::string> ReadTextFile(const std::string& path);

// `s` with runs of whitespace collapsed to one space and the ends trimmed.
std::string CollapseSpaces(absl::string_view s);

}  // namespace codebook::importers

#endif  // CODEBOOK_IMPORTERS_LINE_READER_H_
