// revnmt: one binary, subcommands in the Marian style (revnmt train|translate|score|...).

#include <boost/program_options/errors.hpp>
#include <cstdio>
#include <exception>
#include <iostream>
#include <new>
#include <string>

#include "nmt/cli/command.h"
#include "nmt/core/error.h"

namespace revnmt::cli {

bool register_command(Command command) {
  const_cast<std::vector<Command>&>(commands()).push_back(std::move(command));
  return true;
}

const std::vector<Command>& commands() {
  static std::vector<Command> all;
  return all;
}

}  // namespace revnmt::cli

namespace {

void print_usage() {
  std::cout << "usage: revnmt <command> [options]   (revnmt <command> --help for details)\n\n"
               "commands:\n";
  for (const auto& command : revnmt::cli::commands())
    std::printf("  %-10s %s\n", command.name.c_str(), command.summary.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    print_usage();
    return argc < 2 ? 2 : 0;
  }
  const std::string name = argv[1];
  if (name == "--version") {
    std::cout << "revnmt " << REVNMT_VERSION << "\n";
    return 0;
  }
  for (const auto& command : revnmt::cli::commands()) {
    if (command.name != name) continue;
    try {
      return command.run(revnmt::cli::Args(argv + 2, argv + argc));
    } catch (const boost::program_options::error& e) {
      std::cerr << "revnmt " << name << ": error: " << e.what() << " (see revnmt " << name
                << " --help)\n";
      return 2;
    } catch (const revnmt::InputError& e) {
      std::cerr << "revnmt " << name << ": error: " << e.what() << "\n";
      return 1;
    } catch (const revnmt::RangeError& e) {
      std::cerr << "revnmt " << name << ": error: fixed-point range: " << e.what() << "\n";
      return 1;
    } catch (const std::bad_alloc&) {
      std::cerr << "revnmt " << name << ": error: out of memory\n";
      return 1;
    } catch (const std::exception& e) {
      std::cerr << "revnmt " << name << ": internal error: " << e.what() << "\n";
      return 3;
    }
  }
  std::cerr << "revnmt: error: unknown command '" << name << "' (see revnmt --help)\n";
  return 2;
}
