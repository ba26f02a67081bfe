#pragma once
// A file an agent generated: a relative path under the output directory and
// its content.

#include <cstddef>
#include <string>
#include <vector>

namespace ymy {

struct GeneratedFile {
  std::string path;     // relative, '/'-separated, no "..": "auth-service/src/app.js"
  std::string content;

  std::size_t lineCount() const;
};

// True when `path` is relative, non-empty, and stays inside its root.
bool isSafeRelativePath(const std::string& path);

}  // namespace ymy
