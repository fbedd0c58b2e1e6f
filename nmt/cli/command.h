#pragma once
// The `revnmt` subcommands. Each lives in its own cmd_*.cc file and registers itself with
// REVNMT_COMMAND; main.cc only dispatches and turns exceptions into one-line errors.

#include <string>
#include <vector>

namespace revnmt::cli {

using Args = std::vector<std::string>;

struct Command {
  std::string name;
  std::string summary;
  int (*run)(const Args& args);
};

bool register_command(Command command);
const std::vector<Command>& commands();

}  // namespace revnmt::cli

#define REVNMT_COMMAND(id, name, summary, function) \
  static const bool revnmt_registered_##id = ::revnmt::cli::register_command({name, summary, function})
