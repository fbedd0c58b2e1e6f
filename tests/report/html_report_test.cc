// The run report on synthetic run directories: the files, well-formed and self-contained
// HTML/SVG, numbers in the right places, escaping, and notes (not crashes) for missing or
// damaged files.

#include "nmt/report/html_report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "nmt/core/error.h"
#include "nmt/core/file_io.h"
#include "tests/report/xml_tree.h"
#include "tests/support/test_support.h"

namespace revnmt::report {
namespace {

using testing::parse_html;
using testing::parse_xml;
using testing::TempDir;
using testing::XmlElement;

std::string train_event(int update, double ppl, double enc_held = 250, double dec_held = 100) {
  return R"({"kind":"train","epoch":1,"update":)" + std::to_string(update) +
         R"(,"target_tokens":1000,"window_target_tokens":500,"perplexity":)" + std::to_string(ppl) +
         R"(,"tokens_per_second":1000,"seconds":0.5,"wall_time":)" + std::to_string(update) +
         R"(,"encoder":{"baseline_bits":1000,"held_bits":)" + std::to_string(enc_held) +
         R"(,"optimal_bits":125,"held_bytes":64},"decoder":{"baseline_bits":1000,"held_bits":)" +
         std::to_string(dec_held) + R"(,"optimal_bits":50,"held_bytes":32}})" + "\n";
}

std::string valid_event(int update, double ppl, double bleu) {
  return R"({"kind":"valid","epoch":1,"update":)" + std::to_string(update) + R"(,"perplexity":)" +
         std::to_string(ppl) + R"(,"bleu":)" + std::to_string(bleu) +
         R"(,"bleu_signature":"nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0",)"
         R"("chrf":null,"wall_time":)" +
         std::to_string(update) + "}\n";
}

// scores.json as recipes/multi30k/run.sh writes it (one signature carries hostile text).
constexpr const char* kScores = R"json({
"test_set": "test_2016_flickr",
"model": "runs/x/model.best.rnmt",
"beam": 5,
"hypotheses": "runs/x/test/test_2016_flickr.hyp",
"bleu": {"name": "BLEU", "score": 28.6,
         "signature": "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0",
         "verbose_score": "60.0/34.0/21.0/13.0 (BP = 1.000 ratio = 1.000 hyp_len = 9 ref_len = 9)"},
"chrf": {"name": "chrF2", "score": 53.6,
         "signature": "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0"},
"bleu_lowercased": {"name": "BLEU", "score": 29.9,
         "signature": "nrefs:1|case:lc|eff:no|tok:13a|smooth:exp|version:2.6.0 <script>x</script>",
         "verbose_score": ""}
}
)json";

constexpr const char* kMemory =
    R"({"kind":"memory","recipe":"r.yaml","parameters":"parameters of m.rnmt","batches":10,)"
    R"("sentences":640,"source_tokens":9000,"target_tokens":9500,)"
    R"("model":{"cell":"revgru","context":"slice_emb","description":"revgru, 1 layer"},)"
    R"("standard_model":{"cell":"gru","context":"hidden","description":"gru, 1 layer"},)"
    R"("standard_context_rule":"the standard baseline recipes' context",)"
    R"("encoder":{"baseline_bits":8000,"held_bits":1600,"optimal_bits":800,"buffer_bits":600,)"
    R"("stored_bits":600,"final_state_bits":400,"held_bytes":2048,"standard_held_bytes":20480},)"
    R"("decoder":{"baseline_bits":8000,"held_bits":800,"optimal_bits":400,"buffer_bits":400,)"
    R"("stored_bits":0,"final_state_bits":400,"held_bytes":1024,"standard_held_bytes":20480},)"
    R"("total":{"held_bytes":4096,"standard_held_bytes":41984,"peak_held_bytes":512,)"
    R"("standard_peak_held_bytes":5120}})";

const ReportFile* file_named(const std::vector<ReportFile>& files, const std::string& name) {
  for (const ReportFile& f : files)
    if (f.name == name) return &f;
  return nullptr;
}

// Every file is well-formed, the page holds every chart inline and loads nothing.
void check_self_contained(const std::vector<ReportFile>& files) {
  const ReportFile* page = file_named(files, "report.html");
  ASSERT_NE(page, nullptr);
  std::unique_ptr<XmlElement> html;
  ASSERT_NO_THROW(html = parse_html(page->content)) << page->content;
  EXPECT_TRUE(html->find_all("script").empty());
  EXPECT_TRUE(html->find_all("img").empty());
  EXPECT_TRUE(html->find_all("link").empty());
  for (const XmlElement* e : html->find_all("")) {
    EXPECT_EQ(e->attributes.count("src"), 0u) << e->name;
    EXPECT_EQ(e->attributes.count("href"), 0u) << e->name;
  }
  // No URL but the SVG namespace name (an identifier, never fetched).
  std::string rest = page->content;
  for (size_t at; (at = rest.find("http://www.w3.org/2000/svg")) != std::string::npos;)
    rest.erase(at, 26);
  EXPECT_EQ(rest.find("http"), std::string::npos);
  EXPECT_EQ(rest.find("url("), std::string::npos);

  size_t charts = 0;
  for (const ReportFile& f : files) {
    if (f.name == "report.html") continue;
    ++charts;
    ASSERT_EQ(f.name.substr(f.name.size() - 4), ".svg");
    std::unique_ptr<XmlElement> svg;
    ASSERT_NO_THROW(svg = parse_xml(f.content)) << f.name << "\n" << f.content;
    EXPECT_EQ(svg->name, "svg");
    // The same chart is inline in the page.
    const std::string id = svg->attr("id");
    EXPECT_EQ(html->find_all("svg", "id", id).size(), 1u) << id;
  }
  EXPECT_EQ(charts, 5u);
  EXPECT_EQ(html->find_all("svg").size(), charts);
}

TEST(HtmlReport, FullRun) {
  TempDir dir;
  const std::string run = dir.file("run");
  make_directories(run);
  testing::write_text(run + "/config.yaml", "run_dir: runs/x\nmodel:\n  cell: revgru\n");
  std::string metrics;
  metrics += train_event(100, 1000) + valid_event(100, 500, 1.5);
  metrics += train_event(200, 100) + valid_event(200, 50, 10.25);
  metrics += train_event(300, 10, 200, 50) + valid_event(300, 20, 20.5);
  metrics += R"({"kind":"fault","update":301,"reason":"nan"})"
             "\n";
  testing::write_text(run + "/metrics.jsonl", metrics);
  testing::write_text(run + "/scores.json", kScores);
  testing::write_text(run + "/memory.json", kMemory);

  const RunData data = load_run(run);
  EXPECT_EQ(data.train.size(), 3u);
  EXPECT_EQ(data.valid.size(), 3u);
  EXPECT_EQ(data.faults, 1);
  ASSERT_TRUE(data.memory.has_value());
  ASSERT_TRUE(data.scores.has_value());
  EXPECT_EQ(data.scores->scores.size(), 3u);

  const auto files = build_report(data);
  check_self_contained(files);
  const std::string& page = file_named(files, "report.html")->content;
  const auto html = parse_html(page);

  // Scores with their signatures; the lowercased BLEU is labelled; hostile text is escaped.
  const auto rows = html->find_all("tr", "data-score", "bleu");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_NE(rows[0]->all_text().find("28.60"), std::string::npos);
  EXPECT_NE(rows[0]->all_text().find("BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp"),
            std::string::npos);
  const auto lc = html->find_all("tr", "data-score", "bleu_lowercased");
  ASSERT_EQ(lc.size(), 1u);
  EXPECT_NE(lc[0]->all_text().find(
                "lowercased (for comparison with the paper's tokenized-lowercased numbers)"),
            std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;x&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html->find_all("tr", "data-score", "chrf")[0]->all_text().find("53.60"),
            std::string::npos);

  // Summary figures.
  const std::string summary = html->find_all("section", "id", "summary")[0]->all_text();
  EXPECT_NE(summary.find("20.00 (update 300)"), std::string::npos) << summary;  // best ppl
  EXPECT_NE(summary.find("20.50 (update 300"), std::string::npos);              // best BLEU
  EXPECT_NE(summary.find("1,000 target tokens/s"), std::string::npos);
  EXPECT_NE(summary.find("skipped updates"), std::string::npos);
  EXPECT_NE(summary.find("5.00× / 10.00×"), std::string::npos);   // encoder, from memory.json
  EXPECT_NE(summary.find("10.00× / 20.00×"), std::string::npos);  // decoder

  // The memory tables: bits from memory.json, paper ratio without final states, bytes.
  const std::string memory = html->find_all("section", "id", "memory")[0]->all_text();
  EXPECT_NE(memory.find("memory.json: sums over the first 10 training batches"), std::string::npos);
  EXPECT_NE(memory.find("6.67×"), std::string::npos);   // encoder 8000 / (1600 - 400)
  EXPECT_NE(memory.find("10.25×"), std::string::npos);  // 41984 / 4096
  EXPECT_NE(memory.find("20 KiB"), std::string::npos);

  // The bits chart: held is a fifth of the baseline in the encoder, a tenth in the decoder.
  const auto bits = parse_xml(file_named(files, "memory_bits.svg")->content);
  auto bar_height = [&](const XmlElement& svg, const std::string& series,
                        const std::string& group) {
    for (const XmlElement* g : svg.find_all("g", "data-group", group))
      if (g->attr("data-series").rfind(series, 0) == 0)
        return std::stod(g->find_all("rect")[0]->attr("height"));
    ADD_FAILURE() << series << " / " << group;
    return double(NAN);
  };
  EXPECT_NEAR(bar_height(*bits, "held", "encoder") / bar_height(*bits, "baseline", "encoder"), 0.2,
              1e-3);
  EXPECT_NEAR(bar_height(*bits, "held", "decoder") / bar_height(*bits, "baseline", "decoder"), 0.1,
              1e-3);
  // The bytes chart: the standard model's whole-model bar over this model's.
  const auto bytes = parse_xml(file_named(files, "memory_bytes.svg")->content);
  EXPECT_NEAR(
      bar_height(*bytes, "standard", "whole model") / bar_height(*bytes, "this", "whole model"),
      41984.0 / 4096.0, 1e-2);

  // Learning curves: three training and three validation points; the BLEU chart has no chrF
  // series (all null).
  const auto ppl = parse_xml(file_named(files, "perplexity.svg")->content);
  EXPECT_EQ(ppl->find_all("g", "data-series", "validation")[0]->find_all("circle").size(), 3u);
  const auto bleu = parse_xml(file_named(files, "validation_bleu.svg")->content);
  EXPECT_EQ(bleu->find_all("g", "data-series", "BLEU").size(), 1u);
  EXPECT_TRUE(bleu->find_all("g", "data-series", "chrF").empty());
  const auto ratio = parse_xml(file_named(files, "memory_ratio.svg")->content);
  EXPECT_EQ(ratio->find_all("g", "class", "series").size(), 4u);
}

TEST(HtmlReport, EmptyRunDirectoryGivesNotesNotACrash) {
  TempDir dir;
  const RunData data = load_run(dir.path());
  EXPECT_TRUE(data.train.empty());
  EXPECT_FALSE(data.memory.has_value());
  EXPECT_FALSE(data.scores.has_value());
  const auto files = build_report(data);
  check_self_contained(files);
  const std::string& page = file_named(files, "report.html")->content;
  for (const char* note :
       {"config.yaml is missing", "metrics.jsonl is missing", "memory.json is missing",
        "scores.json is missing", "No test scores yet"})
    EXPECT_NE(page.find(note), std::string::npos) << note;
  const auto ppl = parse_xml(file_named(files, "perplexity.svg")->content);
  EXPECT_EQ(ppl->find_all("text", "class", "no-data").size(), 1u);
  const auto bytes = parse_xml(file_named(files, "memory_bytes.svg")->content);
  EXPECT_EQ(bytes->find_all("text", "class", "no-data").size(), 1u);
}

TEST(HtmlReport, DamagedFilesBecomeNotes) {
  TempDir dir;
  testing::write_text(dir.file("metrics.jsonl"),
                      train_event(10, 50) + "not json\n\n" + train_event(20, 40) +
                          R"({"kind":"train","update":30,"perplex)");  // cut by a crash
  testing::write_text(dir.file("memory.json"), R"({"kind":"something else"})");
  testing::write_text(dir.file("scores.json"), "{\"bleu\": ");
  testing::write_text(dir.file("config.yaml"), "model: [unclosed\n");
  const RunData data = load_run(dir.path());
  EXPECT_EQ(data.train.size(), 2u);  // the good lines still count
  std::string notes;
  for (const auto& n : data.notes) notes += n + "\n";
  EXPECT_NE(notes.find("metrics.jsonl:2:1:1: invalid JSON"), std::string::npos) << notes;
  EXPECT_NE(notes.find("metrics.jsonl:5:"), std::string::npos) << notes;
  EXPECT_NE(notes.find("memory.json: not a memory report"), std::string::npos) << notes;
  EXPECT_NE(notes.find("scores.json:1:10: invalid JSON"), std::string::npos) << notes;
  EXPECT_NE(notes.find("config.yaml could not be read as a recipe"), std::string::npos) << notes;
  check_self_contained(build_report(data));
}

TEST(HtmlReport, LedgerFromMetricsWhenThereIsNoMemoryJson) {
  TempDir dir;
  testing::write_text(dir.file("metrics.jsonl"), train_event(10, 50) + train_event(20, 40));
  const auto files = build_report(load_run(dir.path()));
  const std::string& page = file_named(files, "report.html")->content;
  EXPECT_NE(page.find("metrics.jsonl: sums over the 2 logged training windows"), std::string::npos);
  EXPECT_NE(page.find("4.00× / 8.00×"), std::string::npos);  // encoder 2000/500, 2000/250
}

TEST(HtmlReport, EscapesTheRunDirectoryName) {
  TempDir dir;
  const std::string run = dir.file("run <&> \"it's\"");
  make_directories(run);
  const auto files = build_report(load_run(run));
  check_self_contained(files);
  const auto html = parse_html(file_named(files, "report.html")->content);
  EXPECT_EQ(html->find_all("title")[0]->text, "revnmt report: run <&> \"it's\"");
}

TEST(HtmlReport, WritesEveryFileAndFailsOnlyWithoutARunDirectory) {
  TempDir dir;
  testing::write_text(dir.file("metrics.jsonl"), train_event(10, 50));
  const auto paths = write_report(dir.path(), dir.file("out/nested"));
  ASSERT_EQ(paths.size(), 6u);
  for (const auto& path : paths) EXPECT_TRUE(file_exists(path)) << path;
  EXPECT_EQ(std::filesystem::path(paths.back()).filename(), "report.html");
  // No temporary files are left beside them.
  size_t entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.file("out/nested"))) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 6u);

  EXPECT_THROW(load_run(dir.file("missing")), InputError);
  testing::write_text(dir.file("plain"), "x");
  try {
    load_run(dir.file("plain"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("not a directory"), std::string::npos);
  }
}

}  // namespace
}  // namespace revnmt::report
