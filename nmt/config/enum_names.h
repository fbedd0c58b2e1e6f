#pragma once
// Names for the closed sets of a config (cell types, schedules, metrics, ...). An enum E takes
// part by specializing EnumNames<E> with `static constexpr std::array<std::string_view, N>
// names`, indexed by the enumerator's value (enumerators 0..N-1 in order). The name is what a
// recipe spells, so it is also what the config machinery reads and writes.

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "nmt/core/error.h"

namespace revnmt {

template <typename E>
struct EnumNames;

template <typename E>
std::string_view enum_name(E value) {
  return EnumNames<E>::names.at(static_cast<std::size_t>(value));
}

template <typename E>
std::optional<E> enum_from_name(std::string_view name) {
  const auto& names = EnumNames<E>::names;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<E>(i);
  return std::nullopt;
}

// "revgru | revlstm | gru | lstm"
template <typename E>
std::string enum_choices(std::string_view separator = " | ") {
  std::string out;
  for (const auto& name : EnumNames<E>::names) {
    if (!out.empty()) out += separator;
    out += name;
  }
  return out;
}

// For command-line flags: throws InputError "<what>: expected one of a | b, got 'x'".
template <typename E>
E parse_enum(std::string_view text, std::string_view what) {
  if (auto value = enum_from_name<E>(text)) return *value;
  fail(what, ": expected one of ", enum_choices<E>(), ", got '", text, "'");
}

}  // namespace revnmt
