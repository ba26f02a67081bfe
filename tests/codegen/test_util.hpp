#pragma once
// Helpers for the codegen tests: temporary directories, writing generated
// files, and running the tools that judge them (sqlite3, node, esbuild).

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "codegen/codegen.hpp"
#include "model/catalog.hpp"
#include "model/generated_file.hpp"
#include "test_data.hpp"

namespace ymy::test {

// A fresh directory under the system temp dir, removed with the object.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("ymy-codegen-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void writeFile(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

inline void writeFiles(const std::filesystem::path& root, const std::vector<GeneratedFile>& files) {
  for (const auto& f : files) writeFile(root / f.path, f.content);
}

// Quotes for /bin/sh.
inline std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

struct CommandResult {
  int exitCode = -1;
  std::string output;  // stdout and stderr
};

// Runs `command` with /bin/sh, capturing its output in a file under `scratch`.
inline CommandResult run(const std::string& command, const std::filesystem::path& scratch) {
  const auto log = scratch / "command.log";
  const int status = std::system((command + " > " + shellQuote(log.string()) + " 2>&1").c_str());
  CommandResult result;
  result.exitCode = status == -1 ? -1 : WEXITSTATUS(status);
  result.output = readFile(log);
  std::filesystem::remove(log);
  return result;
}

inline bool haveProgram(const std::string& name) {
  return std::system(("command -v " + name + " > /dev/null 2>&1").c_str()) == 0;
}

// Every file below `root` whose name ends with one of `suffixes`, sorted.
inline std::vector<std::filesystem::path> filesEndingWith(const std::filesystem::path& root,
                                                          const std::vector<std::string>& suffixes) {
  std::vector<std::filesystem::path> out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = entry.path().filename().string();
    for (const auto& suffix : suffixes) {
      if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        out.push_back(entry.path());
        break;
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The shipped catalog and templates, loaded once per test process and shared
// by the codegen suites.
class CodegenFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (catalog_) return;
    auto c = Catalog::load(dataDir() / "catalog" / "catalog.json");
    ASSERT_TRUE(c) << c.error().message;
    catalog_ = new Catalog(std::move(*c));
    auto g = codegen::Generator::load(dataDir() / "templates");
    ASSERT_TRUE(g) << g.error().message;
    generator_ = new codegen::Generator(std::move(*g));
  }

  // Every service of the catalog, on consecutive ports from `port`.
  static std::vector<codegen::ServiceSpec> catalogServices(int& port) {
    std::vector<codegen::ServiceSpec> specs;
    for (const auto& c : catalog_->components()) {
      if (c.isService()) specs.push_back(codegen::serviceSpecFor(c, *catalog_, port++));
    }
    return specs;
  }

  static inline Catalog* catalog_ = nullptr;
  static inline codegen::Generator* generator_ = nullptr;
};

}  // namespace ymy::test
