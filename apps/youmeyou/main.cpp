#include <iostream>
#include <string>
#include <vector>

#include "cli.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return ymy::app::runCli(args, std::cin, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "youmeyou: internal error: " << e.what() << "\n";
    return 1;
  }
}
