#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "file_test_support.h"
#include "io/atomic_file.h"
#include "report/plot.h"
#include "report/table.h"

using namespace lengen::report;
using lengen::testing::error_of;
using lengen::testing::TempDir;

namespace {

Table accuracy_table() {
  return {{"encoding", "acc@16", "acc@64"},
          {{"rope", "99.1", "12.5"}, {"alibi_slope", "98.0", "71.0"}, {"nope", "n/a"}}};
}

LinePlot accuracy_plot() {
  LinePlot p;
  p.title = "Accuracy vs length (SCAN add_jump)";
  p.xlabel = "test length";
  p.ylabel = "accuracy (%)";
  p.ymin = 0;
  p.ymax = 100;
  p.marker_x = 22;
  p.marker_label = "longest training length";
  const std::vector<double> x = {8, 16, 22, 32, 48, 64};
  p.series.push_back({"rope", x, {100, 99, 97, 40, 12, 3}, {}, {}});
  p.series.push_back({"alibi_slope^2 {\"q\"}",
                      x,
                      {100, 100, 99, 92, NAN, 75},
                      {99, 99, 97, 88, NAN, 68},
                      {100, 100, 100, 95, NAN, 81}});
  p.series.push_back({"nope", x, {98, 97, 95, 70, 51, 30}, {}, {}});
  return p;
}

// Every file in `dir`: a leftover "*.tmp.<pid>" shows up here.
std::vector<std::string> listing(const TempDir& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST(ReportTable, Markdown) {
  EXPECT_EQ(to_markdown(accuracy_table()),
            "| encoding    | acc@16 | acc@64 |\n"
            "| ----------- | -----: | -----: |\n"
            "| rope        |   99.1 |   12.5 |\n"
            "| alibi_slope |   98.0 |   71.0 |\n"
            "| nope        |    n/a |        |\n");
  EXPECT_EQ(to_markdown({{"a", "b"}, {{"x|y", "1"}}}),
            "| a    |   b |\n"
            "| ---- | --: |\n"
            "| x\\|y |   1 |\n");
}

TEST(ReportTable, Csv) {
  EXPECT_EQ(to_csv(accuracy_table()),
            "encoding,acc@16,acc@64\nrope,99.1,12.5\nalibi_slope,98.0,71.0\nnope,n/a,\n");
  EXPECT_EQ(to_csv({{"name", "note"}, {{"a,b", "say \"hi\""}, {"line\nbreak", "plain"}}}),
            "name,note\n\"a,b\",\"say \"\"hi\"\"\"\n\"line\nbreak\",plain\n");
}

TEST(ReportTable, Text) {
  EXPECT_EQ(to_text(accuracy_table()),
            "encoding     acc@16  acc@64\n"
            "-----------  ------  ------\n"
            "rope           99.1    12.5\n"
            "alibi_slope    98.0    71.0\n"
            "nope            n/a\n");
  // Width counts characters, not UTF-8 bytes.
  EXPECT_EQ(to_text({{"θ", "x"}, {{"±1.0", "ab"}}}), "θ     x\n----  --\n±1.0  ab\n");
}

TEST(ReportTable, RowLongerThanHeaderThrows) {
  const Table t{{"a"}, {{"1", "2"}}};
  EXPECT_NE(error_of([&] { to_markdown(t); }).find("row 1 has 2 cells"), std::string::npos);
  EXPECT_THROW(to_csv(t), lengen::Error);
}

TEST(ReportTable, FormatPercent) {
  EXPECT_EQ(format_percent(0.953), "95.3");
  EXPECT_EQ(format_percent(1.0), "100.0");
  EXPECT_EQ(format_percent(0.12345, 2), "12.35");
  EXPECT_EQ(format_percent(0.5, 0), "50");
  EXPECT_EQ(format_percent(-1e-6), "0.0");
  EXPECT_EQ(format_percent(NAN), "n/a");
}

TEST(ReportPlot, PngAndSvg) {
  if (!plotting_available()) GTEST_SKIP() << "gnuplot not installed";
  TempDir dir;
  const LinePlot plot = accuracy_plot();
  write_line_plot(plot, dir.file("acc.png"));
  write_line_plot(plot, dir.file("acc.svg"));
  EXPECT_EQ(listing(dir), (std::vector<std::string>{"acc.png", "acc.svg"}));

  const std::string png = lengen::io::read_file(dir.file("acc.png"));
  ASSERT_GT(png.size(), 5000u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));

  const std::string svg = lengen::io::read_file(dir.file("acc.svg"));
  EXPECT_TRUE(svg.starts_with("<?xml") || svg.starts_with("<svg")) << svg.substr(0, 40);
  // Labels come through literally: no enhanced-text markup eating '_', '^' or '{'.
  for (const char* text :
       {"rope", "nope", "longest training length", "test length", "alibi_slope^2 {\"q\"}"})
    EXPECT_NE(svg.find(text), std::string::npos) << text;
}

TEST(ReportPlot, HeatmapAndLogAxis) {
  if (!plotting_available()) GTEST_SKIP() << "gnuplot not installed";
  TempDir dir;
  Heatmap map{"attention, layer 0 head 1", "key position", "query position", 4, 5, {}, {}, {}};
  for (int i = 0; i < 20; ++i) map.values.push_back(i % 5 <= i / 5 ? 1.0 / (i / 5 + 1) : NAN);
  map.col_labels = {"<s>", "a", "b", "c", "d_1"};
  write_heatmap(map, dir.file("attn.png"));
  write_heatmap(map, dir.file("attn.svg"));

  LinePlot ppl;
  ppl.title = "Perplexity";
  ppl.series = {{"rope", {64, 128, 256}, {5, 9, 80}, {}, {}}};
  ppl.log_y = true;
  ppl.marker_x = 512;  // beyond the data: the x range widens to show it
  write_line_plot(ppl, dir.file("ppl.png"));
  EXPECT_EQ(listing(dir), (std::vector<std::string>{"attn.png", "attn.svg", "ppl.png"}));
  EXPECT_NE(lengen::io::read_file(dir.file("attn.svg")).find("d_1"), std::string::npos);
}

TEST(ReportPlot, BadInputsThrowNamingPlotAndSeries) {
  TempDir dir;
  const std::string out = dir.file("p.png");
  auto message = [&](const LinePlot& p, const std::string& path) {
    return error_of([&] { write_line_plot(p, path); });
  };
  LinePlot p = accuracy_plot();
  EXPECT_NE(message(p, dir.file("p.pdf")).find("expected .png or .svg"), std::string::npos);

  p.series[0].y.pop_back();
  std::string msg = message(p, out);
  EXPECT_NE(msg.find("Accuracy vs length"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'rope' has 6 x values but 5 y values"), std::string::npos) << msg;

  p = accuracy_plot();
  p.series[1].y_high.clear();
  EXPECT_NE(message(p, out).find("alibi_slope"), std::string::npos);

  p = accuracy_plot();
  p.series[2].x.clear();
  p.series[2].y.clear();
  EXPECT_NE(message(p, out).find("series 'nope' is empty"), std::string::npos);

  p = accuracy_plot();
  p.series.clear();
  EXPECT_NE(message(p, out).find("no series"), std::string::npos);

  p = accuracy_plot();
  p.ymax = INFINITY;
  EXPECT_NE(message(p, out).find("ymax is not finite"), std::string::npos);
  p.ymax = NAN;
  EXPECT_THROW(write_line_plot(p, out), lengen::Error);
  p.ymax = -5;
  EXPECT_NE(message(p, out).find("not below"), std::string::npos);

  Heatmap map{"attn", "k", "q", 2, 3, {1, 2, 3}, {}, {}};
  EXPECT_NE(error_of([&] { write_heatmap(map, out); }).find("3 values for 2 rows x 3 cols"),
            std::string::npos);
  EXPECT_TRUE(listing(dir).empty());
}

TEST(ReportPlot, GnuplotErrorsAreReportedAndLeaveNoFiles) {
  if (!plotting_available()) GTEST_SKIP() << "gnuplot not installed";
  TempDir dir;
  // A directory that does not exist: gnuplot cannot open its output.
  const std::string msg =
      error_of([&] { write_line_plot(accuracy_plot(), dir.file("missing/acc.png")); });
  EXPECT_NE(msg.find("gnuplot"), std::string::npos) << msg;
  EXPECT_TRUE(listing(dir).empty());
}

TEST(ReportPlot, MissingGnuplotNamesTheDebianPackage) {
  const char* old = std::getenv("PATH");
  const std::string saved = old ? old : "";
  TempDir dir;
  ::setenv("PATH", dir.path().c_str(), 1);
  const bool available = plotting_available();
  const std::string msg = error_of([&] { write_line_plot(accuracy_plot(), dir.file("a.png")); });
  ::setenv("PATH", saved.c_str(), 1);
  EXPECT_FALSE(available);
  EXPECT_NE(msg.find("gnuplot-nox"), std::string::npos) << msg;
}
