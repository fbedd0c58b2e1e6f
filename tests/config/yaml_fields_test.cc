#include "nmt/config/yaml_fields.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "nmt/config/enums.h"
#include "tests/config/config_test_util.h"

namespace revnmt::config {
namespace {

using config_test::input_error_of;
using ::testing::HasSubstr;

TEST(YamlScalars, Integers) {
  EXPECT_EQ(parse_integer("42"), 42);
  EXPECT_EQ(parse_integer("+7"), 7);
  EXPECT_EQ(parse_integer("-3"), -3);
  EXPECT_FALSE(parse_integer("").has_value());
  EXPECT_FALSE(parse_integer("+").has_value());
  EXPECT_FALSE(parse_integer("3.0").has_value());
  EXPECT_FALSE(parse_integer("1e3").has_value());
  EXPECT_FALSE(parse_integer("12abc").has_value());
  EXPECT_FALSE(parse_integer(" 1").has_value());
  EXPECT_FALSE(parse_integer("99999999999999999999").has_value());
}

TEST(YamlScalars, Reals) {
  EXPECT_EQ(parse_real("0.001"), 0.001);
  EXPECT_EQ(parse_real("1.0e-8"), 1e-8);
  EXPECT_EQ(parse_real("5"), 5.0);
  EXPECT_EQ(parse_real("+2.5"), 2.5);
  EXPECT_EQ(parse_real("-.5"), -0.5);
  EXPECT_FALSE(parse_real("fast").has_value());
  EXPECT_FALSE(parse_real("nan").has_value());
  EXPECT_FALSE(parse_real("inf").has_value());
  EXPECT_FALSE(parse_real("1e999").has_value());
  EXPECT_FALSE(parse_real("0.5x").has_value());
  EXPECT_FALSE(parse_real("").has_value());
}

TEST(YamlScalars, Bools) {
  for (const char* text : {"true", "True", "TRUE", "yes", "on"}) EXPECT_EQ(parse_bool(text), true);
  for (const char* text : {"false", "No", "off"}) EXPECT_EQ(parse_bool(text), false);
  EXPECT_FALSE(parse_bool("1").has_value());
  EXPECT_FALSE(parse_bool("maybe").has_value());
}

TEST(YamlScalars, FormatRealIsShortestExactAndLooksReal) {
  EXPECT_EQ(format_real(5.0), "5.0");
  EXPECT_EQ(format_real(0.001), "0.001");
  EXPECT_EQ(format_real(1e-8), "1e-08");
  EXPECT_EQ(format_real(-0.5), "-0.5");
  EXPECT_EQ(format_real(0.0), "0.0");
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> uniform(-10.0, 10.0);
  for (int i = 0; i < 2000; ++i) {
    const double value = uniform(rng) * std::pow(10.0, static_cast<int>(rng() % 30) - 15);
    const auto back = parse_real(format_real(value));
    ASSERT_TRUE(back.has_value()) << format_real(value);
    EXPECT_EQ(*back, value) << format_real(value);
  }
}

TEST(YamlScalars, EditDistanceAndSuggestions) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("hiden_size", "hidden_size"), 1u);
  const std::vector<std::string> keys = {"model.hidden_size", "model.emb_size", "train.lr",
                                         "translate.beam"};
  EXPECT_EQ(closest_match("model.hiden_size", keys), "model.hidden_size");
  EXPECT_EQ(closest_match("model.HIDDEN_SIZE", keys), "model.hidden_size");
  EXPECT_EQ(closest_match("train.beam", keys), "translate.beam");  // same name, other section
  EXPECT_EQ(closest_match("train.lrr", keys), "train.lr");
  EXPECT_EQ(closest_match("completely_else", keys), "");
  EXPECT_EQ(closest_match("x", {}), "");
}

TEST(YamlScalars, DescribeNode) {
  EXPECT_EQ(describe_node(YAML::Load("fast")), "'fast'");
  EXPECT_EQ(describe_node(YAML::Load("[1]")), "a list");
  EXPECT_EQ(describe_node(YAML::Load("{a: 1}")), "a map");
  EXPECT_EQ(describe_node(YAML::Load("~")), "nothing");
}

// A small struct with a two-level section, to test the machinery apart from the recipe.
struct Inner {
  int count = 3;
  std::vector<Metric> metrics = {Metric::bleu};
};
struct Outer {
  std::string name = "outer";
  Inner a;
  Inner b;
  double rate = 0.5;
  bool flag = false;
};

const FieldSet<Outer>& outer_fields() {
  static const FieldSet<Outer> fields = [] {
    FieldSet<Inner> inner;
    inner.add("count", &Inner::count, "how many");
    inner.add("metrics", &Inner::metrics, "which");
    FieldSet<Outer> outer;
    outer.add("name", &Outer::name, "the name");
    outer.add_section("deep.a", &Outer::a, inner);
    outer.add_section("deep.b", &Outer::b, inner);
    outer.add("rate", &Outer::rate, "a rate");
    outer.add("flag", &Outer::flag, "a flag");
    return outer;
  }();
  return fields;
}

TEST(FieldSet, ReadsNestedSectionsAndRecordsOrigins) {
  Outer o;
  KeyOrigins origins;
  outer_fields().read(YAML::Load("deep:\n  b:\n    count: 9\nrate: 0.25\n"), "x.yaml", o, &origins);
  EXPECT_EQ(o.b.count, 9);
  EXPECT_EQ(o.a.count, 3);
  EXPECT_EQ(o.rate, 0.25);
  EXPECT_EQ(origins, (KeyOrigins{{"deep.b.count", "x.yaml:3"}, {"rate", "x.yaml:4"}}));
  outer_fields().apply("deep.a.metrics=[chrf, bleu]", o, &origins);
  EXPECT_EQ(o.a.metrics, (std::vector<Metric>{Metric::chrf, Metric::bleu}));
  EXPECT_EQ(origins["deep.a.metrics"], "--set deep.a.metrics=[chrf, bleu]");
}

TEST(FieldSet, DumpNestsEverySectionOnceInOrder) {
  Outer o;
  o.b.count = 4;
  EXPECT_EQ(outer_fields().to_yaml(o),
            "name: outer\n"
            "deep:\n"
            "  a:\n"
            "    count: 3\n"
            "    metrics: [bleu]\n"
            "  b:\n"
            "    count: 4\n"
            "    metrics: [bleu]\n"
            "rate: 0.5\n"
            "flag: false\n");
  Outer back;
  outer_fields().read(YAML::Load(outer_fields().to_yaml(o)), "dump", back);
  EXPECT_TRUE(outer_fields().equal(back, o));
}

TEST(FieldSet, ErrorsInNestedSections) {
  Outer o;
  EXPECT_EQ(input_error_of([&] {
              outer_fields().read(YAML::Load("deep:\n  c:\n    count: 1\n"), "x.yaml", o);
            }),
            "x.yaml:2: unknown key 'deep.c' (did you mean 'deep.a'?)");
  EXPECT_EQ(
      input_error_of([&] { outer_fields().read(YAML::Load("deep:\n  a: 5\n"), "x.yaml", o); }),
      "x.yaml:2: 'deep.a' is a section: expected a map of its keys, got '5'");
  EXPECT_EQ(input_error_of([&] {
              outer_fields().read(YAML::Load("deep:\n  a:\n    count: x\n"), "x.yaml", o);
            }),
            "x.yaml:3: deep.a.count: expected an integer, got 'x'");
  EXPECT_EQ(input_error_of([&] { outer_fields().read(YAML::Load("[a]: 1\n"), "x.yaml", o); }),
            "x.yaml:1: expected a key name, got a list");
}

TEST(FieldSet, DescribeGivesDefaultsAsYamlText) {
  const auto keys = outer_fields().describe();
  ASSERT_EQ(keys.size(), 7u);
  EXPECT_EQ(keys[0].key, "name");
  EXPECT_EQ(keys[0].default_value, "outer");
  EXPECT_EQ(keys[2].key, "deep.a.metrics");
  EXPECT_EQ(keys[2].default_value, "[bleu]");
  EXPECT_EQ(keys[5].default_value, "0.5");
  EXPECT_EQ(keys[6].default_value, "false");
  EXPECT_EQ(keys[6].doc, "a flag");
}

TEST(FieldSet, DeclarationMistakesAreCaught) {
  FieldSet<Outer> f;
  f.add("name", &Outer::name, "");
  EXPECT_THROW(f.add("name", &Outer::rate, ""), InternalError);  // same key twice
  FieldSet<Outer> g;
  g.add("s.rate", &Outer::rate, "");
  g.add("flag", &Outer::flag, "");
  EXPECT_THROW(g.add("s.name", &Outer::name, ""), InternalError);  // section "s" reopened
  FieldSet<Outer> h;
  h.add("s", &Outer::rate, "");
  EXPECT_THROW(h.add("s.name", &Outer::name, ""), InternalError);  // key and section at once
}

TEST(Codecs, IntegerRangeOfTheMemberType) {
  IntegerCodec<std::int8_t> codec;
  std::int8_t value = 0;
  std::string error;
  EXPECT_TRUE(codec.read(YAML::Load("-128"), value, error));
  EXPECT_EQ(value, -128);
  EXPECT_FALSE(codec.read(YAML::Load("128"), value, error));
  EXPECT_EQ(error, "expected an integer in -128..127, got '128'");
}

TEST(Codecs, StringsThatLookLikeOtherTypesAreQuoted) {
  for (const std::string text :
       {"", "yes", "No", "123", "1e5", "~", "null", "y", "a: b", "#x", "[a]", " lead", "-"}) {
    YAML::Emitter out;
    StringCodec().write(out, text);
    const YAML::Node back = YAML::Load(out.c_str());
    std::string read;
    std::string error;
    ASSERT_TRUE(StringCodec().read(back, read, error)) << out.c_str();
    EXPECT_EQ(read, text) << out.c_str();
    const bool looks_typed = text.empty() || parse_bool(text) || parse_real(text) || text == "~" ||
                             text == "null" || text == "y";
    if (looks_typed) {
      EXPECT_EQ(out.c_str()[0], '"') << "not quoted: " << out.c_str();
    }
  }
}

}  // namespace
}  // namespace revnmt::config
