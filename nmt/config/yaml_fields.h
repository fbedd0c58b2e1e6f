#pragma once
// Typed binding between YAML and plain config structs (STYLE.md §3, snippet S4): a FieldSet<S>
// lists the keys of S once, each bound to a member with a codec and a one-line meaning. From
// that single list it reads a YAML document into S (unknown keys, duplicate keys, wrong types
// and non-map sections are InputErrors naming file:line and the key), applies `key=value`
// overrides, writes S back as YAML, compares two S, and describes every key with its default
// (taken from a default-constructed S, i.e. the struct's member initializers).

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "nmt/config/enum_names.h"
#include "nmt/core/error.h"

namespace revnmt::config {

// Where each key's value came from: "recipe.yaml:12" or "--set train.lr=0.1". Keys that kept
// their default are absent. Range checks use it to point at the line to fix.
using KeyOrigins = std::map<std::string, std::string>;

// One documented key: full dotted name, its default as YAML text, and what it means.
struct KeyInfo {
  std::string key;
  std::string default_value;
  std::string doc;
};

// ---- scalar helpers (yaml_fields.cc) ----

// Strict parses of a whole scalar; nullopt when the text is not entirely a value of the type.
std::optional<long long> parse_integer(std::string_view text);
std::optional<double> parse_real(std::string_view text);  // finite values only
std::optional<bool> parse_bool(std::string_view text);    // true/false/yes/no/on/off, any case
// Shortest text that reads back to the same double; always looks like a real ("5.0", "1e-08").
std::string format_real(double value);
// What a node holds, for "got ..." in messages: "'fast'", "a map", "a sequence", "nothing".
std::string describe_node(const YAML::Node& node);
// Levenshtein distance.
std::size_t edit_distance(std::string_view a, std::string_view b);
// The candidate a mistyped `word` most likely meant, or "" when none is close.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);
// Parses YAML text; a syntax error becomes InputError "<source>:<line>:<column>: ...".
YAML::Node parse_yaml_document(const std::string& text, const std::string& source);

// ---- codecs: how a value of one type is read from and written to YAML ----
// A codec has
//   bool read(const YAML::Node&, T& out, std::string& error) const;   // error: "expected ..., got
//   ..." void write(YAML::Emitter&, const T&) const;

struct StringCodec {
  bool read(const YAML::Node& node, std::string& out, std::string& error) const;
  void write(YAML::Emitter& out, const std::string& value) const;
};

struct BoolCodec {
  bool read(const YAML::Node& node, bool& out, std::string& error) const;
  void write(YAML::Emitter& out, bool value) const;
};

struct RealCodec {
  bool read(const YAML::Node& node, double& out, std::string& error) const;
  void write(YAML::Emitter& out, double value) const;
};

bool read_integer(const YAML::Node& node, long long low, long long high, long long& out,
                  std::string& error);

template <typename T>
struct IntegerCodec {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  bool read(const YAML::Node& node, T& out, std::string& error) const {
    long long value = 0;
    if (!read_integer(node, std::numeric_limits<T>::min(), std::numeric_limits<T>::max(), value,
                      error))
      return false;
    out = static_cast<T>(value);
    return true;
  }
  void write(YAML::Emitter& out, T value) const { out << std::to_string(value); }
};

// A name from EnumNames<E>; a wrong name is answered with the list (and the closest one).
template <typename E>
struct EnumCodec {
  bool read(const YAML::Node& node, E& out, std::string& error) const {
    if (node.IsScalar()) {
      if (auto value = enum_from_name<E>(node.Scalar())) {
        out = *value;
        return true;
      }
    }
    error = "expected one of " + enum_choices<E>() + ", got " + describe_node(node);
    if (node.IsScalar()) {
      std::vector<std::string> names(EnumNames<E>::names.begin(), EnumNames<E>::names.end());
      const std::string guess = closest_match(node.Scalar(), names);
      if (!guess.empty()) error += " (did you mean '" + guess + "'?)";
    }
    return false;
  }
  void write(YAML::Emitter& out, E value) const { out << std::string(enum_name(value)); }
};

// A YAML sequence of `Inner` values (a single scalar is read as a one-element list); written
// in flow style: [a, b].
template <typename T, typename Inner>
struct ListCodec {
  Inner inner;
  bool read(const YAML::Node& node, std::vector<T>& out, std::string& error) const {
    std::vector<T> values;
    if (node.IsScalar()) {
      T value{};
      if (!inner.read(node, value, error)) return false;
      values.push_back(value);
    } else if (node.IsSequence()) {
      for (std::size_t i = 0; i < node.size(); ++i) {
        T value{};
        if (!inner.read(node[i], value, error)) {
          error = "item " + std::to_string(i + 1) + ": " + error;
          return false;
        }
        values.push_back(value);
      }
    } else {
      error = "expected a list like [a, b], got " + describe_node(node);
      return false;
    }
    out = std::move(values);
    return true;
  }
  void write(YAML::Emitter& out, const std::vector<T>& values) const {
    out << YAML::Flow << YAML::BeginSeq;
    for (const auto& value : values) inner.write(out, value);
    out << YAML::EndSeq;
  }
};

template <typename T, typename = void>
struct DefaultCodec;
template <>
struct DefaultCodec<std::string> : StringCodec {};
template <>
struct DefaultCodec<bool> : BoolCodec {};
template <>
struct DefaultCodec<double> : RealCodec {};
template <typename T>
struct DefaultCodec<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>>
    : IntegerCodec<T> {};
template <typename E>
struct DefaultCodec<E, std::enable_if_t<std::is_enum_v<E>>> : EnumCodec<E> {};
template <typename T>
struct DefaultCodec<std::vector<T>> : ListCodec<T, DefaultCodec<T>> {};

// ---- the key table: everything about walking YAML that does not depend on the struct ----

class KeyTable {
 public:
  // Index of a field key, or npos.
  std::size_t find(std::string_view key) const;
  // True when `key` is a section, i.e. some field key starts with "key.".
  bool is_section(std::string_view key) const;
  const std::vector<std::string>& keys() const { return keys_; }
  std::size_t size() const { return keys_.size(); }

  // Calls assign(field index, value node, where) for every field key in the YAML map `root`,
  // descending into sections. `where` is "<source>:<line>". Throws InputError for unknown or
  // duplicate keys, non-map sections and a non-map document. A null root (empty file) or null
  // section assigns nothing.
  using Assign = std::function<void(std::size_t, const YAML::Node&, const std::string&)>;
  void walk(const YAML::Node& root, const std::string& source, const Assign& assign) const;

  // Parses "key.path=value" (the value as a YAML scalar or flow sequence) and calls assign
  // with where = "--set key.path=value". Throws InputError naming the override.
  void apply_override(const std::string& assignment, const Assign& assign) const;

  // "unknown key 'x' (did you mean 'y'?)"
  std::string unknown_key_message(const std::string& key) const;

 protected:
  void add_key(std::string key);

 private:
  void walk_map(const YAML::Node& map, const std::string& prefix, const std::string& source,
                const Assign& assign) const;

  std::vector<std::string> keys_;
  std::vector<std::string> sections_;  // every proper dotted prefix of a key, in order
};

template <typename S>
class FieldSet : public KeyTable {
 public:
  struct Field {
    std::string doc;
    std::function<bool(const YAML::Node&, S&, std::string&)> read;
    std::function<void(YAML::Emitter&, const S&)> write;
    std::function<bool(const S&, const S&)> equal;
  };

  // Binds `key` (dotted for a nested key: "model.cell") to s.*member.
  template <typename T, typename Codec = DefaultCodec<T>>
  FieldSet& add(std::string key, T S::*member, std::string doc, Codec codec = {}) {
    add_key(std::move(key));
    fields_.push_back(
        Field{std::move(doc),
              [member, codec](const YAML::Node& node, S& s, std::string& error) {
                return codec.read(node, s.*member, error);
              },
              [member, codec](YAML::Emitter& out, const S& s) { codec.write(out, s.*member); },
              [member](const S& a, const S& b) { return a.*member == b.*member; }});
    return *this;
  }

  // Adds every field of `sub` under "<section>.", reached through s.*member.
  template <typename Sub>
  FieldSet& add_section(const std::string& section, Sub S::*member, const FieldSet<Sub>& sub) {
    for (std::size_t i = 0; i < sub.size(); ++i) {
      const auto& field = sub.field(i);
      add_key(section + "." + sub.keys()[i]);
      fields_.push_back(Field{
          field.doc,
          [member, read = field.read](const YAML::Node& node, S& s, std::string& error) {
            return read(node, s.*member, error);
          },
          [member, write = field.write](YAML::Emitter& out, const S& s) { write(out, s.*member); },
          [member, equal = field.equal](const S& a, const S& b) {
            return equal(a.*member, b.*member);
          }});
    }
    return *this;
  }

  const Field& field(std::size_t index) const { return fields_.at(index); }

  // Reads the YAML document `root` into `s` (keys not given keep their value in `s`) and
  // records where each key came from.
  void read(const YAML::Node& root, const std::string& source, S& s,
            KeyOrigins* origins = nullptr) const {
    walk(root, source, assigner(s, origins));
  }

  // Applies one "key.path=value" override.
  void apply(const std::string& assignment, S& s, KeyOrigins* origins = nullptr) const {
    apply_override(assignment, assigner(s, origins));
  }

  // Block-style YAML of every key, nested by section, in declaration order.
  std::string to_yaml(const S& s) const {
    YAML::Emitter out;
    out << YAML::BeginMap;
    std::vector<std::string> open;  // sections currently open, outermost first
    for (std::size_t i = 0; i < size(); ++i) {
      std::vector<std::string> parts = split_key(keys()[i]);
      const std::string leaf = parts.back();
      parts.pop_back();
      std::size_t common = 0;
      while (common < open.size() && common < parts.size() && open[common] == parts[common])
        ++common;
      for (std::size_t k = open.size(); k > common; --k) out << YAML::EndMap;
      open.resize(common);
      for (std::size_t k = common; k < parts.size(); ++k) {
        out << YAML::Key << parts[k] << YAML::Value << YAML::BeginMap;
        open.push_back(parts[k]);
      }
      out << YAML::Key << leaf << YAML::Value;
      fields_[i].write(out, s);
    }
    for (std::size_t k = 0; k < open.size(); ++k) out << YAML::EndMap;
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
  }

  bool equal(const S& a, const S& b) const {
    for (const auto& f : fields_)
      if (!f.equal(a, b)) return false;
    return true;
  }

  // Every key with the default of a value-initialized S.
  std::vector<KeyInfo> describe() const {
    const S defaults{};
    std::vector<KeyInfo> out;
    for (std::size_t i = 0; i < size(); ++i) {
      YAML::Emitter text;
      fields_[i].write(text, defaults);
      out.push_back(KeyInfo{keys()[i], text.c_str(), fields_[i].doc});
    }
    return out;
  }

 private:
  static std::vector<std::string> split_key(const std::string& key) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (std::size_t dot; (dot = key.find('.', start)) != std::string::npos; start = dot + 1)
      parts.push_back(key.substr(start, dot - start));
    parts.push_back(key.substr(start));
    return parts;
  }

  Assign assigner(S& s, KeyOrigins* origins) const {
    return
        [this, &s, origins](std::size_t index, const YAML::Node& node, const std::string& where) {
          std::string error;
          if (!fields_[index].read(node, s, error)) fail(where, ": ", keys()[index], ": ", error);
          if (origins != nullptr) (*origins)[keys()[index]] = where;
        };
  }

  std::vector<Field> fields_;
};

// ---- range checks after loading ----

// Throws "<where>: <key>: expected <rule>, got <value>" where <where> is the key's origin
// (file:line or --set ...) or, for a key that kept its default, the fallback source with
// "(the default)" after the value. Without origins (a struct built in code) it is the fallback.
class Checker {
 public:
  // `prefix` is put before keys to look them up in `origins` and to print them ("model.").
  Checker(const KeyOrigins* origins, std::string fallback_source, std::string prefix = "")
      : origins_(origins), fallback_(std::move(fallback_source)), prefix_(std::move(prefix)) {}

  void require(bool ok, const std::string& key, const std::string& value,
               const std::string& rule) const;

  void at_least(const std::string& key, long long value, long long low) const;
  void in_range(const std::string& key, long long value, long long low, long long high) const;
  // [low, high) when !high_inclusive; low is inclusive when low_inclusive.
  void in_interval(const std::string& key, double value, double low, bool low_inclusive,
                   double high, bool high_inclusive) const;
  void positive(const std::string& key, double value) const;
  void non_negative(const std::string& key, double value) const;
  void not_empty(const std::string& key, const std::string& value) const;

  Checker nested(const std::string& prefix) const {
    return Checker(origins_, fallback_, prefix_ + prefix);
  }

 private:
  const KeyOrigins* origins_;
  std::string fallback_;
  std::string prefix_;
};

}  // namespace revnmt::config
