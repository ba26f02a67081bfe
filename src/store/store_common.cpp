#include <array>
#include <cstdio>
#include <fstream>
#include <random>

#include "store/store.hpp"

namespace ymy::store {

namespace {
constexpr std::array<std::string_view, 4> kStatusNames = {"running", "completed", "failed", "cancelled"};
}

std::string_view executionStatusName(ExecutionStatus status) { return kStatusNames[static_cast<std::size_t>(status)]; }

std::optional<ExecutionStatus> executionStatusFromName(std::string_view name) {
  for (std::size_t i = 0; i < kStatusNames.size(); ++i) {
    if (kStatusNames[i] == name) return static_cast<ExecutionStatus>(i);
  }
  return std::nullopt;
}

std::string newId(std::string_view prefix) {
  // /dev/urandom once per thread to seed; ids only need to be unique and unguessable enough
  // that one user cannot enumerate another's (the auth work checks ownership anyway).
  thread_local std::mt19937_64 rng = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return std::string(prefix) + "_" + buf;
}

}  // namespace ymy::store
