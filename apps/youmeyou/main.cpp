#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "cli.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return ymy::app::runCli(args, std::cin, std::cout, std::cerr,
                            {.terminal = isatty(STDOUT_FILENO) != 0, .handleSignals = true});
  } catch (const std::exception& e) {
    std::cerr << "youmeyou: internal error: " << e.what() << "\n";
    return 1;
  }
}
