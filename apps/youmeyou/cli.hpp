#pragma once
// The youmeyou command line. Runs in-process so tests can drive it with
// argument vectors and string streams.
//
// Exit codes: 0 success, 1 the work failed, 2 bad input (with a one-line
// error naming the problem on `err`).

#include <iosfwd>
#include <string>
#include <vector>

namespace ymy::app {

struct CliEnvironment {
  bool terminal = false;       // stdout is a terminal: `design` redraws a live view
  bool handleSignals = false;  // SIGINT/SIGTERM cancel a running design gracefully
};

int runCli(const std::vector<std::string>& args, std::istream& in, std::ostream& out, std::ostream& err,
           CliEnvironment environment = {});

}  // namespace ymy::app
