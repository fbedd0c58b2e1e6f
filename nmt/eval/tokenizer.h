#pragma once
// sacreBLEU's BLEU tokenizers, reimplemented without regular expressions:
//  - 13a:  mteval-v13a.pl / sacreBLEU `13a` (the default),
//  - intl: mteval-v14.pl international tokenization / sacreBLEU `intl` (Unicode P/S/N classes),
//  - char: every non-whitespace code point is a token / sacreBLEU `char`,
//  - none: the line as it is.
// Each function maps one line to sacreBLEU's tokenized string (tokens joined by single spaces,
// except `none`, which returns its input, and `char`, which joins every code point, whitespace
// included, as sacreBLEU does); BLEU then splits that string on Unicode whitespace.
// Input may be any bytes: invalid UTF-8 bytes are read as U+FFFD. The intl classes come from
// the generated tables in unicode_tables.cc (their Unicode version is noted there).

#include <string>
#include <string_view>

namespace revnmt::eval {

enum class Tokenizer { k13a, kNone, kIntl, kChar };

// "13a", "none", "intl", "char" (the names in sacreBLEU's signature `tok:`).
const char* tokenizer_name(Tokenizer tokenizer);
// Throws InputError naming the valid choices for an unknown name.
Tokenizer parse_tokenizer(std::string_view name);

std::string tokenize_13a(std::string_view line);
std::string tokenize_intl(std::string_view line);
std::string tokenize_char(std::string_view line);
std::string tokenize(Tokenizer tokenizer, std::string_view line);

}  // namespace revnmt::eval
