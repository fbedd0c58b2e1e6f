#pragma once
// JSON string literals, written the way Python's json.dumps(..., ensure_ascii=False) writes
// them, so that metrics.jsonl, memory.json and sacreBLEU-compatible score JSON all quote
// text alike (UTF-8 passes through; control characters are escaped).

#include <string>
#include <string_view>

namespace revnmt {

// `text` as a quoted JSON string literal: "a\"b" for a"b.
std::string json_string(std::string_view text);

}  // namespace revnmt
