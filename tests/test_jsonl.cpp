// Datasets on disk: JSONL round trip, validation of user files, atomic writes, the data CLI.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "test_paths.h"

#include "file_test_support.h"

#include "io/atomic_file.h"

#include "data/jsonl.h"
#include "tasks/task.h"
#include "util/error.h"

namespace fs = std::filesystem;
using namespace lengen;
using lengen::tasks::Example;

namespace {

class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(fs::temp_directory_path() / ("lengen_test_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

using lengen::testing::error_of;

bool same(const Example& a, const Example& b) {
  return a.source == b.source && a.target == b.target && a.length == b.length &&
         a.category == b.category && a.scratchpad == b.scratchpad && a.position_ids == b.position_ids;
}

// Runs the lengen binary; returns its exit status and fills `out` with stdout+stderr.
int run_cli(const std::string& args, std::string& out, const TempDir& tmp) {
  const auto log = tmp.file("cli.log");
  const int rc = std::system((std::string(lengen::testing::lengen_binary()) + " " + args + " > " + log + " 2>&1").c_str());
  out = io::read_file(log);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace

TEST(Jsonl, RoundTrip) {
  TempDir tmp("roundtrip");
  Example a{"Compute 1 + 2 ?", "The answer is 3.", 1, "1", std::nullopt, std::nullopt};
  Example b{"Reverse: \"x\" \\ é", "é \\ \"x\"", 3, "3", std::string("Thinking step by step: . Thus,"),
            std::vector<int>{0, 1, 2}};
  data::write_jsonl(tmp.file("s.jsonl"), {a, b});
  EXPECT_FALSE(fs::exists(tmp.file("s.jsonl.tmp")));
  const auto back = data::read_jsonl(tmp.file("s.jsonl"));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_TRUE(same(back[0], a));
  EXPECT_TRUE(same(back[1], b));
  const auto text = io::read_file(tmp.file("s.jsonl"));
  EXPECT_EQ(text.substr(0, text.find('\n')),
            R"({"category":"1","length":1,"source":"Compute 1 + 2 ?","target":"The answer is 3."})");
}

TEST(Jsonl, UserFilesNeedOnlySourceAndTarget) {
  TempDir tmp("user");
  write_text(tmp.file("train.jsonl"),
             "{\"source\": \"Copy: a b c\", \"target\": \"a b c\", \"extra\": 1}\n\n"
             "{\"source\": \"x, y\", \"target\": \"y\", \"category\": 7, \"length\": 2}\n");
  const auto ex = data::read_jsonl(tmp.file("train.jsonl"));
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_EQ(ex[0].length, 5);  // the source words: Copy : a b c
  EXPECT_EQ(ex[0].category, std::to_string(ex[0].length));
  EXPECT_EQ(ex[1].category, "7");
  EXPECT_EQ(ex[1].length, 2);
  // A directory with user data only: the vocabulary is built from the data.
  const auto ds = data::load_dataset_dir(tmp.path().string());
  EXPECT_FALSE(ds.vocab_from_file);
  EXPECT_FALSE(ds.info.has_value());
  EXPECT_EQ(ds.splits_present, std::vector<std::string>{"train"});
  EXPECT_TRUE(ds.vocab.contains("Copy"));
  EXPECT_TRUE(ds.vocab.contains(","));
  EXPECT_EQ(ds.vocab.size(), 5u + 8u);  // specials + Copy : a b c x , y
}

TEST(Jsonl, MalformedLinesNameFileAndLine) {
  TempDir tmp("malformed");
  const std::string good = "{\"source\": \"a\", \"target\": \"b\"}\n";
  const std::vector<std::pair<std::string, std::string>> cases{
      {"{\"source\": \"a\", \"target\": ", "invalid JSON"},
      {"{\"source\": \"a\"}", "missing required key \"target\""},
      {"{\"target\": \"a\"}", "missing required key \"source\""},
      {"{\"source\": 3, \"target\": \"a\"}", "\"source\" must be a string"},
      {"{\"source\": \"a\", \"target\": \"b\", \"length\": -1}", "\"length\" must be a non-negative"},
      {"{\"source\": \"a\", \"target\": \"b\", \"length\": \"3\"}", "\"length\" must be a non-negative"},
      {"{\"source\": \"a\", \"target\": \"b\", \"category\": true}", "\"category\" must be"},
      {"{\"source\": \"a\", \"target\": \"b\", \"scratchpad\": 1}", "\"scratchpad\" must be"},
      {"[1, 2]", "expected a JSON object"},
  };
  for (const auto& [line, what] : cases) {
    const auto path = tmp.file("bad.jsonl");
    write_text(path, good + good + line + "\n" + good);
    const auto msg = error_of([&] { data::read_jsonl(path); });
    EXPECT_NE(msg.find(path + ":3: "), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
  }
  EXPECT_NE(error_of([&] { data::read_jsonl(tmp.file("absent.jsonl")); }).find("absent.jsonl"),
            std::string::npos);
}

TEST(Jsonl, DatasetDirectoryRoundTrip) {
  TempDir tmp("dir");
  auto task = tasks::make_task("parity");
  tasks::GenerateOptions o;
  o.train_size = 50;
  o.test_size = 24;  // 3 per test length (the builders' int(test / bins))
  o.scratchpad = tasks::ScratchpadFlags::parse("i1_c1_o1_v1_r1");
  const auto d = task->generate("len_tr8_ts16", o);
  const auto vocab = data::Vocabulary::build(data::dataset_texts(d), task->alphabet("len_tr8_ts16"));
  data::DatasetInfo info{"parity", "len_tr8_ts16", 0, "i1_c1_o1_v1_r1", 50, 4, 24};
  const auto dir = tmp.file("ds");
  data::save_dataset_dir(dir, d, vocab, info);
  for (const auto& entry : fs::directory_iterator(dir))
    EXPECT_NE(entry.path().extension(), ".tmp") << entry.path();
  const auto back = data::load_dataset_dir(dir);
  EXPECT_TRUE(back.vocab_from_file);
  EXPECT_EQ(back.vocab.words(), vocab.words());
  ASSERT_TRUE(back.info.has_value());
  EXPECT_EQ(back.info->scratchpad, "i1_c1_o1_v1_r1");
  EXPECT_EQ(back.info->test, 24);
  ASSERT_EQ(back.data.train.size(), d.train.size());
  ASSERT_EQ(back.data.test.size(), d.test.size());
  for (size_t i = 0; i < d.train.size(); ++i) EXPECT_TRUE(same(back.data.train[i], d.train[i]));
  for (size_t i = 0; i < d.test.size(); ++i) {
    EXPECT_TRUE(same(back.data.test[i], d.test[i]));
    EXPECT_TRUE(task->is_correct(back.data.test[i], *d.test[i].scratchpad + " " + d.test[i].target));
  }
}

TEST(Jsonl, FailedSaveLeavesNothingHalfWritten) {
  TempDir tmp("atomic");
  const auto dir = tmp.file("ds");
  fs::create_directories(fs::path(dir) / "test.jsonl.tmp");  // makes the third file unwritable
  tasks::Dataset d;
  d.train.push_back({"a", "b", 1, "1", std::nullopt, std::nullopt});
  d.test.push_back({"a a", "b", 2, "2", std::nullopt, std::nullopt});
  EXPECT_THROW(data::save_dataset_dir(dir, d, data::Vocabulary::build({"a b"}), {}), lengen::Error);
  EXPECT_FALSE(fs::exists(fs::path(dir) / "train.jsonl"));
  EXPECT_FALSE(fs::exists(fs::path(dir) / "train.jsonl.tmp"));
  EXPECT_FALSE(fs::exists(fs::path(dir) / "validation.jsonl.tmp"));
  EXPECT_FALSE(fs::exists(fs::path(dir) / "dataset.json"));
}

TEST(DataCli, MakeShowAndErrors) {
  TempDir tmp("cli");
  std::string out;
  const auto dir = tmp.file("parity");
  ASSERT_EQ(run_cli("data make --task parity --train-size 60 --test-size 16 --seed 3 "
                    "--scratchpad i0_c1_o1_v0_r0 --out " + dir, out, tmp), 0) << out;
  EXPECT_NE(out.find("train 60, validation 5, test 16"), std::string::npos) << out;
  for (const char* f : {"train.jsonl", "validation.jsonl", "test.jsonl", "vocab.json", "dataset.json"})
    EXPECT_TRUE(fs::exists(fs::path(dir) / f)) << f;
  ASSERT_EQ(run_cli("data show " + dir + " --examples 1", out, tmp), 0) << out;
  EXPECT_NE(out.find("task parity, split len_tr8_ts16, seed 3, scratchpad i0_c1_o1_v0_r0"), std::string::npos) << out;
  EXPECT_NE(out.find("total         60          5         16"), std::string::npos) << out;
  EXPECT_NE(out.find("-- test examples --"), std::string::npos) << out;

  ASSERT_EQ(run_cli("data list", out, tmp), 0) << out;
  EXPECT_NE(out.find("len_sngd_tr8_ts16"), std::string::npos) << out;

  EXPECT_EQ(run_cli("data make --task nope --out " + tmp.file("x"), out, tmp), 1);
  EXPECT_NE(out.find("valid tasks: add, addition, binary_addition"), std::string::npos) << out;
  EXPECT_EQ(run_cli("data make --task sort --out " + tmp.file("x"), out, tmp), 1);
  EXPECT_NE(out.find("len_sngd_tr8_ts16, len_sngd_tr8_ts16_from1, len_mltd_tr8_ts16"),
            std::string::npos)
      << out;
  EXPECT_EQ(run_cli("data make --task copy --split cmc_tr20_ts40 --scratchpad i1_c1_o1_v1_r1 --out " + tmp.file("x"), out, tmp), 1);
  EXPECT_NE(out.find("does not support scratchpads"), std::string::npos) << out;
  EXPECT_EQ(run_cli("data make --task sum --scratchpad full --out " + tmp.file("x"), out, tmp), 1);
  EXPECT_NE(out.find("i1_c1_o1_v1_r1"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(tmp.file("x")));

  // A user dataset: a malformed line is reported with file and line.
  fs::create_directories(tmp.file("user"));
  write_text(tmp.file("user/train.jsonl"), "{\"source\": \"a\", \"target\": \"b\"}\n{oops}\n");
  EXPECT_EQ(run_cli("data show " + tmp.file("user"), out, tmp), 1);
  EXPECT_NE(out.find(tmp.file("user/train.jsonl") + ":2:"), std::string::npos) << out;
}
