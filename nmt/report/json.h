#pragma once
// A small strict JSON reader (RFC 8259) for the files a run leaves behind: metrics.jsonl,
// memory.json, scores.json. Writing JSON stays with JsonLine (nmt/train/train_log.h).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace revnmt::report {

class JsonValue {
 public:
  enum class Type { null, boolean, number, string, array, object };

  JsonValue() = default;
  static JsonValue make_bool(bool value);
  static JsonValue make_number(double value);
  static JsonValue make_string(std::string value);
  static JsonValue make_array(std::vector<JsonValue> items);
  static JsonValue make_object(std::vector<std::pair<std::string, JsonValue>> members);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::null; }
  bool is_number() const { return type_ == Type::number; }
  bool is_string() const { return type_ == Type::string; }
  bool is_object() const { return type_ == Type::object; }
  bool is_array() const { return type_ == Type::array; }

  bool boolean() const { return boolean_; }
  double number() const { return number_; }
  const std::string& string() const { return string_; }
  const std::vector<JsonValue>& items() const { return items_; }
  const std::vector<std::pair<std::string, JsonValue>>& members() const { return members_; }

  // The member `key` of an object (the last one if repeated); nullptr when this is not an
  // object or has no such member.
  const JsonValue* find(std::string_view key) const;
  // Member `key` when it is a number (JSON null, missing or another type: nullopt).
  std::optional<double> number_at(std::string_view key) const;
  // Member `key` when it is a string, else `fallback`.
  std::string string_at(std::string_view key, const std::string& fallback = "") const;

 private:
  Type type_ = Type::null;
  bool boolean_ = false;
  double number_ = 0.0;
  std::string string_;
  std::vector<JsonValue> items_;
  std::vector<std::pair<std::string, JsonValue>> members_;
};

// Parses one JSON text (surrounding whitespace allowed, nothing else after the value).
// Throws InputError "<source>:<line>:<column>: <what is wrong>".
JsonValue parse_json(std::string_view text, const std::string& source);

}  // namespace revnmt::report
