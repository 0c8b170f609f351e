// The web page's files (the repo's web/ folder), built into the binary by web/embed.cmake so
// that codebookd serves its page with nothing to install beside it.
#ifndef CODEBOOK_SERVER_WEB_ASSETS_H_
#define CODEBOOK_SERVER_WEB_ASSETS_H_

#include <cstddef>
#include <string_view>
#include <vector>

namespace codebook::server {

struct WebAsset {
  std::string_view path;  // below web/: "index.html", "app.js"
  const char* data;
  size_t size;
};

// Every file, in the order the build listed them.
const std::vector<WebAsset>& WebAssets();

}  // namespace codebook::server

#endif  // CODEBOOK_SERVER_WEB_ASSETS_H_
