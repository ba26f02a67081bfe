#pragma once
// Paths to the shipped data for tests.

#include <filesystem>

namespace ymy::test {

inline std::filesystem::path dataDir() { return YOUMEYOU_SOURCE_DATA_DIR; }

}  // namespace ymy::test
