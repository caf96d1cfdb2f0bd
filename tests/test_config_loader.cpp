#include <gtest/gtest.h>

#include "config/config_loader.h"
#include "file_test_support.h"

using lengen::testing::error_of;
using lengen::testing::TempDir;
using nlohmann::json;

TEST(ConfigMerge, ObjectsMergeAndEverythingElseIsReplaced) {
  json base = {{"model", {{"d", 64}, {"layers", 2}}}, {"lengths", {8, 16}}, {"name", "a"}};
  const json overlay = {
      {"model", {{"d", 128}, {"heads", 4}}}, {"lengths", {32}}, {"name", nullptr}};
  lengen::deep_merge(base, overlay);
  EXPECT_EQ(base, json({{"model", {{"d", 128}, {"layers", 2}, {"heads", 4}}},
                        {"lengths", {32}},
                        {"name", nullptr}}));
}

TEST(ConfigSplit, CommaSeparatedList) {
  EXPECT_EQ(lengen::split_config_list("a.json,b.jsonnet"),
            (std::vector<std::string>{"a.json", "b.jsonnet"}));
  EXPECT_EQ(lengen::split_config_list(" a.json , ,b.json,"),
            (std::vector<std::string>{"a.json", "b.json"}));
  EXPECT_TRUE(lengen::split_config_list("").empty());
}

TEST(ConfigLoad, JsonAndJsonnetLayersInOrder) {
  TempDir dir;
  const auto base = dir.write("base.json", R"({
    "model": {"d_model": 64, "layers": 2, "pe": "rope"},
    "train": {"lengths": [8, 16], "steps": 100}
  })");
  const auto sweep = dir.write("sweep.jsonnet", R"(
    local d = 32;
    { model: { d_model: d * 4, pe: 'alibi' }, train: { lengths: [d] } }
  )");
  const auto last = dir.write("last.json", R"({"train": {"steps": 5}})");
  const json cfg = lengen::load_config_files({base, sweep, last});
  EXPECT_EQ(cfg, json::parse(R"({
    "model": {"d_model": 128, "layers": 2, "pe": "alibi"},
    "train": {"lengths": [32], "steps": 5}
  })"));
}

TEST(ConfigLoad, JsonnetImportsResolveAgainstTheFilesDirectory) {
  TempDir dir;
  dir.write("configs/lib/common.libsonnet", "{ model: { layers: 4 } }");
  const auto main = dir.write("configs/exp.jsonnet",
                              "local c = import 'lib/common.libsonnet';\n"
                              "c + { model+: { heads: 2 } }\n");
  dir.write("shared/defaults.libsonnet", "{ seed: 7 }");
  const auto other = dir.write("other/x.jsonnet", "(import 'defaults.libsonnet') + { a: 1 }");
  // Loaded from elsewhere: the import must not depend on the working directory.
  EXPECT_EQ(lengen::load_config_files({main}),
            json::parse(R"({"model": {"layers": 4, "heads": 2}})"));
  EXPECT_EQ(lengen::load_config_files({other}, {dir.file("shared")}),
            json::parse(R"({"seed": 7, "a": 1})"));
}

TEST(ConfigLoad, JsonnetNeedsNoExternalVariables) {
  // Configs are self-contained: nothing is passed with --ext-str, and the std library works.
  EXPECT_EQ(
      lengen::evaluate_jsonnet_snippet("{ lengths: [std.pow(2, i) for i in std.range(3, 5)] }"),
      json::parse(R"({"lengths": [8, 16, 32]})"));
  const std::string msg =
      error_of([] { lengen::evaluate_jsonnet_snippet("std.extVar('seed')", "exp.jsonnet"); });
  EXPECT_NE(msg.find("exp.jsonnet"), std::string::npos) << msg;
  EXPECT_NE(msg.find("seed"), std::string::npos) << msg;
}

TEST(ConfigErrors, JsonnetSyntaxErrorNamesFileAndLine) {
  TempDir dir;
  const auto bad = dir.write("bad.jsonnet", "{\n  a: 1,\n  b: ,\n}\n");
  const std::string msg = error_of([&] { lengen::load_config_files({bad}); });
  EXPECT_NE(msg.find(bad + ":3:"), std::string::npos) << msg;
}

TEST(ConfigErrors, JsonSyntaxErrorNamesFileLineAndColumn) {
  TempDir dir;
  const auto good = dir.write("good.json", "{}");
  const auto bad = dir.write("bad.json", "{\n  \"a\": 1,\n  \"b\": ]\n}\n");
  const std::string msg = error_of([&] { lengen::load_config_files({good, bad}); });
  EXPECT_NE(msg.find(bad), std::string::npos) << msg;
  EXPECT_NE(msg.find("line 3, column 8"), std::string::npos) << msg;
}

TEST(ConfigErrors, MissingFileUnknownExtensionAndNonObject) {
  TempDir dir;
  const auto missing = dir.file("nope.json");
  EXPECT_NE(error_of([&] { lengen::load_config_files({missing}); }).find("not found: " + missing),
            std::string::npos);
  const auto yaml = dir.write("c.yaml", "a: 1");
  EXPECT_NE(error_of([&] { lengen::load_config_files({yaml}); }).find(yaml), std::string::npos);
  const auto array = dir.write("list.json", "[1, 2]");
  EXPECT_NE(error_of([&] { lengen::load_config_files({array}); }).find("must be an object"),
            std::string::npos);
}
