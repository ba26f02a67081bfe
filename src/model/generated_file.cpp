#include "model/generated_file.hpp"

#include <algorithm>

namespace ymy {

std::size_t GeneratedFile::lineCount() const {
  if (content.empty()) return 0;
  auto lines = static_cast<std::size_t>(std::count(content.begin(), content.end(), '\n'));
  return content.back() == '\n' ? lines : lines + 1;
}

bool isSafeRelativePath(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.find('\\') != std::string::npos ||
      path.find('\0') != std::string::npos) {
    return false;
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    auto part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

}  // namespace ymy
