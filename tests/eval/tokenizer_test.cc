#include "nmt/eval/tokenizer.h"

#include <gtest/gtest.h>

#include "nmt/core/error.h"

namespace revnmt::eval {
namespace {

TEST(Tokenizer13a, DocumentedExample) {
  EXPECT_EQ(tokenize_13a("Hello, world! It costs $3.50 (approx.)."),
            "Hello , world ! It costs $ 3.50 ( approx . ) .");
}

TEST(Tokenizer13a, NumbersKeepTheirSeparators) {
  EXPECT_EQ(tokenize_13a("3.50"), "3.50");
  EXPECT_EQ(tokenize_13a("1,000"), "1,000");
  EXPECT_EQ(tokenize_13a("The price is 1,000.50."), "The price is 1,000.50 .");
  EXPECT_EQ(tokenize_13a("In 2019."), "In 2019 .");  // the padding splits a final period
  EXPECT_EQ(tokenize_13a("10-20"), "10 - 20");       // dash after a digit
  EXPECT_EQ(tokenize_13a("Das kostet 3,50 €."), "Das kostet 3,50 € .");
}

TEST(Tokenizer13a, Hyphens) {
  EXPECT_EQ(tokenize_13a("state-of-the-art x-1 1-x"), "state-of-the-art x-1 1 - x");
  EXPECT_EQ(tokenize_13a("--"), "--");
  EXPECT_EQ(tokenize_13a("end-\nof line\nnext"), "endof line next");  // -\n joins
}

TEST(Tokenizer13a, PunctuationAndQuotes) {
  EXPECT_EQ(tokenize_13a("\"Yes\"; (no) [maybe] {x} a/b @me #1 50% a&b"),
            "\" Yes \" ; ( no ) [ maybe ] { x } a / b @ me # 1 50 % a & b");
  EXPECT_EQ(tokenize_13a("don't"), "don't");  // the apostrophe is not in the class
  EXPECT_EQ(tokenize_13a("a.,b"), "a . , b");
  EXPECT_EQ(tokenize_13a("e.g. U.S.A."), "e . g . U . S . A .");
}

TEST(Tokenizer13a, HtmlEntitiesAndSkipped) {
  EXPECT_EQ(tokenize_13a("&quot;Hi&quot; &amp; &lt;b&gt; &amp;lt;"), "\" Hi \" & < b > <");
  EXPECT_EQ(tokenize_13a("&apos;x&apos;"), "& apos ; x & apos ;");  // not unescaped by 13a
  EXPECT_EQ(tokenize_13a("a <skipped> b"), "a b");
  EXPECT_EQ(tokenize_13a("<sk<skipped>ipped>"), "< skipped >");  // one replace pass
}

TEST(Tokenizer13a, NonAsciiText) {
  EXPECT_EQ(tokenize_13a("Über den Fluß, schön."), "Über den Fluß , schön .");
  EXPECT_EQ(tokenize_13a("我爱北京。"), "我爱北京。");  // CJK punctuation is not split by 13a
  EXPECT_EQ(tokenize_13a("Great 👍!"), "Great 👍 !");
  EXPECT_EQ(tokenize_13a("😀😀 ok."), "😀😀 ok .");
  EXPECT_EQ(tokenize_13a("Er sagte: „Nein!“"), "Er sagte : „Nein ! “");
  EXPECT_EQ(tokenize_13a("Москва — столица России."), "Москва — столица России .");
}

TEST(Tokenizer13a, Whitespace) {
  EXPECT_EQ(tokenize_13a("  spaced   out  "), "spaced out");
  EXPECT_EQ(tokenize_13a("a\tb\xC2\xA0"
                         "c\xE3\x80\x80"
                         "d"),
            "a b c d");  // Unicode spaces
  EXPECT_EQ(tokenize_13a(""), "");
  EXPECT_EQ(tokenize_13a("   "), "");
}

TEST(Tokenizer13a, InvalidUtf8BecomesReplacementCharacter) {
  EXPECT_EQ(tokenize_13a("a\xFF"
                         "b."),
            "a\xEF\xBF\xBD"
            "b .");
  EXPECT_EQ(tokenize_13a("\xC3"), "\xEF\xBF\xBD");
}

TEST(TokenizerIntl, SplitsUnicodePunctuationAndSymbols) {
  EXPECT_EQ(tokenize_intl("Hello, world! It costs $3.50 (approx.)."),
            "Hello , world ! It costs $ 3.50 ( approx . ) .");
  EXPECT_EQ(tokenize_intl("In 2019."), "In 2019.");  // mteval-v14 keeps it (no padding)
  EXPECT_EQ(tokenize_intl("The price is 1,000.50."), "The price is 1,000.50.");
  EXPECT_EQ(tokenize_intl("state-of-the-art 10-20"), "state - of - the - art 10-20");
  EXPECT_EQ(tokenize_intl("中文，日本語。"), "中文 ， 日本語 。");
  EXPECT_EQ(tokenize_intl("我爱北京。"), "我爱北京 。");
  EXPECT_EQ(tokenize_intl("€5 or ½ price!"), "€ 5 or ½ price !");  // ½ is a number, not a symbol
  EXPECT_EQ(tokenize_intl("Er sagte: „Nein!“"), "Er sagte : „ Nein ! “");
  EXPECT_EQ(tokenize_intl("😀😀 ok."), "😀 😀 ok .");
  EXPECT_EQ(tokenize_intl("&quot;x&quot;"), "& quot ; x & quot ;");  // no unescaping
  EXPECT_EQ(tokenize_intl("a\xFF."), "a \xEF\xBF\xBD .");            // U+FFFD is a symbol (So)
}

TEST(TokenizerChar, EveryCodePointIsAToken) {
  EXPECT_EQ(tokenize_char("ab c"), "a b   c");  // sacreBLEU joins whitespace too
  EXPECT_EQ(tokenize_char("zahăr"), "z a h ă r");
  EXPECT_EQ(tokenize_char(""), "");
}

TEST(TokenizerNames, ParseAndName) {
  for (Tokenizer t : {Tokenizer::k13a, Tokenizer::kNone, Tokenizer::kIntl, Tokenizer::kChar})
    EXPECT_EQ(parse_tokenizer(tokenizer_name(t)), t);
  EXPECT_THROW(parse_tokenizer("moses"), InputError);
  EXPECT_EQ(tokenize(Tokenizer::kNone, "a  b."), "a  b.");
}

}  // namespace
}  // namespace revnmt::eval
