#pragma once
// Shared Boost.Program_options plumbing for the subcommands.

#include <boost/program_options.hpp>
#include <string>

#include "nmt/cli/command.h"

namespace revnmt::cli {

namespace po = boost::program_options;

// Parses `args` against `options` (+ positional names). Returns false after printing the
// help text when --help was given. Usage errors throw po::error, which main() reports.
bool parse_command_line(const Args& args, const std::string& usage, po::options_description options,
                        const po::positional_options_description& positional,
                        po::variables_map& vm);

}  // namespace revnmt::cli
