#pragma once
// The closed sets a recipe chooses from. Enumerators are spelled as in the recipe, and
// to_string() gives that spelling; parse with enum_from_name<E>() or parse_enum<E>()
// (nmt/config/enum_names.h).

#include <array>
#include <string>
#include <string_view>

#include "nmt/config/enum_names.h"
#include "nmt/core/matmul.h"  // Precision

namespace revnmt {

// Recurrent cell of encoder and decoder: reversible (REVERSIBLE.md §1) or standard.
enum class CellType { revgru, revlstm, gru, lstm };
// What attention reads per source position (REVERSIBLE.md §6).
enum class ContextType { hidden, slice, emb, slice_emb };
enum class Optimizer { adam, sgd };
enum class LrSchedule { constant, plateau, inverse_sqrt };
enum class Metric { perplexity, bleu, chrf };
// SentencePiece model type.
enum class VocabType { unigram, bpe };

template <>
struct EnumNames<CellType> {
  static constexpr std::array<std::string_view, 4> names{"revgru", "revlstm", "gru", "lstm"};
};
template <>
struct EnumNames<ContextType> {
  static constexpr std::array<std::string_view, 4> names{"hidden", "slice", "emb", "slice_emb"};
};
template <>
struct EnumNames<Optimizer> {
  static constexpr std::array<std::string_view, 2> names{"adam", "sgd"};
};
template <>
struct EnumNames<LrSchedule> {
  static constexpr std::array<std::string_view, 3> names{"constant", "plateau", "inverse_sqrt"};
};
template <>
struct EnumNames<Metric> {
  static constexpr std::array<std::string_view, 3> names{"perplexity", "bleu", "chrf"};
};
template <>
struct EnumNames<Precision> {
  static constexpr std::array<std::string_view, 2> names{"fp32", "bf16"};
};
template <>
struct EnumNames<VocabType> {
  static constexpr std::array<std::string_view, 2> names{"unigram", "bpe"};
};

inline std::string to_string(CellType v) { return std::string(enum_name(v)); }
inline std::string to_string(ContextType v) { return std::string(enum_name(v)); }
inline std::string to_string(Optimizer v) { return std::string(enum_name(v)); }
inline std::string to_string(LrSchedule v) { return std::string(enum_name(v)); }
inline std::string to_string(Metric v) { return std::string(enum_name(v)); }
inline std::string to_string(VocabType v) { return std::string(enum_name(v)); }
inline std::string to_string(Precision v) { return std::string(enum_name(v)); }

inline bool is_reversible(CellType cell) {
  return cell == CellType::revgru || cell == CellType::revlstm;
}

}  // namespace revnmt
