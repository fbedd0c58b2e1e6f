#pragma once
// sacreBLEU-compatible presentation of a score: the reproducibility signature, the one-line text
// form, the JSON form of `sacrebleu -f json`, and the CLI's alignment of several metric lines.
// Number formatting follows Python's: f'{x:.Nf}' for text, float repr for JSON numbers.

#include <string>
#include <vector>

namespace revnmt::eval {

// The sacreBLEU release whose semantics (and signature `version:` field) we reproduce.
inline constexpr const char* kSacrebleuVersion = "2.6.0";
// Signature `nrefs:var`: segments have different numbers of (non-empty) references.
inline constexpr int kVariableRefs = -1;

struct SignatureField {
  std::string key;        // e.g. "nrefs"
  std::string short_key;  // e.g. "#"
  std::string value;      // e.g. "1"
};

// Fields in sacreBLEU's order; `version` must be last (signature_fields() helpers ensure it).
std::string format_signature(const std::vector<SignatureField>& fields, bool short_form = false);
// "1", "2", ... or "var" for kVariableRefs.
std::string nrefs_value(int num_refs);

struct ScoreReport {
  std::string name;     // "BLEU", "chrF2", "chrF2++"
  double score = 0.0;   // 0-100
  std::string verbose;  // BLEU's precisions/BP part; empty for chrF
  std::vector<SignatureField> signature;

  // "name|signature = score verbose", or just the score with `score_only`.
  std::string to_text(int width = 2, bool score_only = false, bool short_signature = false) const;
  // The object `sacrebleu -f json` prints (indent 1, keys name, score, signature, verbose_score,
  // then every signature field). `compact` puts it on one line (JSON Lines).
  std::string to_json(int width = 2, bool compact = false) const;
};

// Python's f'{value:.{decimals}f}'.
std::string format_fixed(double value, int decimals);
// Python's repr(float): shortest round-trip digits, e.g. 48.53, 0.0, 100.0, 1e-05.
std::string python_float_repr(double value);

// sacreBLEU's text output for several metrics of one system: lines with a " = " are
// right-aligned on it; lines without (score-only) are printed first, as sacreBLEU does.
// Returns the lines joined, each ending with '\n'.
std::string align_text_lines(const std::vector<std::string>& lines);
// sacreBLEU's JSON output for several metrics: a single object as is, several as a list.
std::string join_json_objects(const std::vector<std::string>& objects);

}  // namespace revnmt::eval
