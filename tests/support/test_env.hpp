#pragma once
// Helpers for tests that run real servers as child processes (Redis,
// PostgreSQL): finding programs and picking a free loopback port.

#include <cstdint>
#include <string>

namespace ymy::test {

// The program's full path, or empty when it is not on PATH.
std::string findOnPath(const std::string& program);

// A loopback TCP port that was free a moment ago (0 when none could be found).
std::uint16_t freeLoopbackPort();

}  // namespace ymy::test
