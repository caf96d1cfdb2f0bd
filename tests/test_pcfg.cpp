// PCFG SET: interpreter, sampler, productivity split, checker, and the .src/.tgt importer.
#include <gtest/gtest.h>

#include "file_test_support.h"
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "tasks/pcfg.h"
#include "tasks/text_import.h"
#include "util/error.h"

namespace lengen::tasks {
namespace {

TEST(PcfgInterpreter, UnaryFunctions) {
  EXPECT_EQ(pcfg_evaluate("copy A1 B2 C3"), "A1 B2 C3");
  EXPECT_EQ(pcfg_evaluate("reverse A1 B2 C3"), "C3 B2 A1");
  EXPECT_EQ(pcfg_evaluate("shift A1 B2 C3"), "B2 C3 A1");
  EXPECT_EQ(pcfg_evaluate("echo A1 B2 C3"), "A1 B2 C3 C3");
  EXPECT_EQ(pcfg_evaluate("swap_first_last A1 B2 C3 D4"), "D4 B2 C3 A1");
  EXPECT_EQ(pcfg_evaluate("swap_first_last A1 B2"), "B2 A1");
  EXPECT_EQ(pcfg_evaluate("swap_first_last A1"), "A1 A1");  // as the reference generator
  EXPECT_EQ(pcfg_evaluate("repeat A1 B2"), "A1 B2 A1 B2");
}

TEST(PcfgInterpreter, BinaryFunctions) {
  EXPECT_EQ(pcfg_evaluate("append A1 B2 , C3 D4"), "A1 B2 C3 D4");
  EXPECT_EQ(pcfg_evaluate("prepend A1 B2 , C3 D4"), "C3 D4 A1 B2");
  EXPECT_EQ(pcfg_evaluate("remove_first A1 B2 , C3 D4"), "C3 D4");
  EXPECT_EQ(pcfg_evaluate("remove_second A1 B2 , C3 D4"), "A1 B2");
}

TEST(PcfgInterpreter, NestedPrograms) {
  EXPECT_EQ(pcfg_evaluate("copy swap_first_last A1 B2 C3"), "C3 B2 A1");  // SPEC example
  EXPECT_EQ(pcfg_evaluate("append swap_first_last A1 B2 , C3"), "B2 A1 C3");
  // A binary function as the first argument: its own comma comes first.
  EXPECT_EQ(pcfg_evaluate("append append A1 , B1 , C1"), "A1 B1 C1");
  EXPECT_EQ(pcfg_evaluate("prepend remove_first A1 , B1 , C1"), "C1 B1");
  EXPECT_EQ(pcfg_evaluate("remove_second A1 , remove_first B1 , C1"), "A1");
  EXPECT_EQ(pcfg_evaluate("append A1 , append B1 , append C1 , D1"), "A1 B1 C1 D1");
  EXPECT_EQ(pcfg_evaluate("reverse echo shift repeat A1 B2"), "A1 A1 B2 A1 B2");
  // From the paper authors' data (McGill-NLP/length-generalization processor example).
  EXPECT_EQ(pcfg_evaluate("echo append copy Q10 E4 S15 P7 , shift remove_second K15 D8 M9 W5 , "
                          "H12 Q5 G10 J6 J10"),
            "Q10 E4 S15 P7 D8 M9 W5 K15 K15");
  // Line 16 of the public pcfgset training files.
  EXPECT_EQ(pcfg_evaluate("reverse copy O14 O4 C12 J14 W3"), "W3 J14 C12 O4 O14");
  EXPECT_EQ(pcfg_evaluate("  copy   A1  B2 "), "A1 B2");  // extra spaces are harmless
  EXPECT_EQ(pcfg_function_count("append swap_first_last A1 B2 , C3"), 2);
  EXPECT_EQ(pcfg_function_count("Solve: copy A1"), 1);
}

TEST(PcfgInterpreter, MalformedProgramsNameThePosition) {
  for (const char* bad :
       {"", "A1 B2", "copy", "copy , A1", "append A1 B1", "append A1 ,", "append , A1",
        "copy A1 , B1", "append A1 copy B1 , C1", "append ( A1 , B1 )", "reverse ,"}) {
    EXPECT_THROW(pcfg_evaluate(bad), lengen::Error) << bad;
  }
  try {
    pcfg_evaluate("append A1 B1 C1");
    FAIL() << "no error";
  } catch (const lengen::Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected ','"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("after word 4"), std::string::npos) << e.what();
  }
  try {
    pcfg_evaluate("copy A1 , B1");
    FAIL() << "no error";
  } catch (const lengen::Error& e) {
    EXPECT_NE(std::string(e.what()).find("word 3 ','"), std::string::npos) << e.what();
  }
  // Exponential blow-up is refused, not attempted.
  std::string bomb;
  for (int i = 0; i < 40; ++i) bomb += "repeat ";
  EXPECT_THROW(pcfg_evaluate(bomb + "A1"), lengen::Error);
}

TEST(PcfgSampler, ExactFunctionCountAndWellFormed) {
  symbolic::Rng rng(3);
  for (int n = 1; n <= 35; ++n) {
    for (int k = 0; k < 50; ++k) {
      const std::string program = pcfg_sample_program(rng, n);
      ASSERT_EQ(pcfg_function_count(program), n) << program;
      ASSERT_NO_THROW(pcfg_evaluate(program)) << program;
      for (std::string_view w : symbolic::split_words(program)) {
        if (pcfg_is_function(w) || w == ",") continue;
        ASSERT_GE(w.size(), 2u);
        ASSERT_TRUE(w[0] >= 'A' && w[0] <= 'Z') << w;
        const int number = std::stoi(std::string(w.substr(1)));
        ASSERT_TRUE(number >= 1 && number <= 20) << w;
      }
    }
  }
  symbolic::Rng a(11), b(11);
  EXPECT_EQ(pcfg_sample_program(a, 9), pcfg_sample_program(b, 9));
  EXPECT_THROW(pcfg_sample_program(a, 0), lengen::Error);
}

// The full productivity split takes well under a second; share it between tests.
const Dataset& full_split(const std::string& split) {
  static std::map<std::string, Dataset> cache;
  auto it = cache.find(split);
  if (it == cache.end()) it = cache.emplace(split, make_pcfg_task()->generate(split, {})).first;
  return it->second;
}

TEST(PcfgTask, ProductivitySplitSizesAndLengths) {
  const Dataset& d = full_split("md_productivity");
  EXPECT_EQ(d.train.size(), 72909u);
  EXPECT_EQ(d.validation.size(), 8101u);
  EXPECT_EQ(d.test.size(), 11333u);
  std::map<int, int64_t> pool, test;
  std::set<std::string> train_sources;
  for (const auto* part : {&d.train, &d.validation}) {
    for (const Example& ex : *part) {
      ++pool[ex.length];
      train_sources.insert(ex.source);
      ASSERT_EQ(ex.source.rfind("Solve: ", 0), 0u);
      ASSERT_EQ(pcfg_function_count(ex.source), ex.length);
      ASSERT_EQ(ex.category, std::to_string(ex.length));
    }
  }
  EXPECT_EQ(train_sources.size(), 81010u);  // no duplicates
  for (const Example& ex : d.test) {
    ++test[ex.length];
    ASSERT_EQ(train_sources.count(ex.source), 0u) << ex.source;
    ASSERT_EQ(ex.target, pcfg_evaluate(ex.source.substr(7)));
  }
  EXPECT_EQ(pool, pcfg_length_counts(false));
  EXPECT_EQ(test, pcfg_length_counts(true));
  EXPECT_EQ(pool.begin()->first, 1);
  EXPECT_EQ(pool.rbegin()->first, 8);
  EXPECT_EQ(test.begin()->first, 9);
  EXPECT_EQ(test.rbegin()->first, 35);
}

TEST(PcfgTask, CheckerAcceptsGoldAndRejectsCorruptions) {
  auto task = make_pcfg_task();
  const Dataset& d = full_split("productivity");
  for (const auto* part : {&d.train, &d.validation, &d.test}) {
    for (const Example& ex : *part) {
      ASSERT_EQ(ex.source.find("Solve:"), std::string::npos);
      ASSERT_TRUE(task->is_correct(ex, ex.target)) << ex.source;
      ASSERT_FALSE(task->is_correct(ex, ex.target + " A1")) << ex.source;
      const auto space = ex.target.rfind(' ');
      ASSERT_FALSE(
          task->is_correct(ex, space == std::string::npos ? "" : ex.target.substr(0, space)));
    }
  }
  Example ex;
  ex.target = "B2 A1 C3";
  EXPECT_TRUE(task->is_correct(ex, "B2 A1 C3 "));
  EXPECT_FALSE(task->is_correct(ex, "B2 A1 C4"));
  EXPECT_FALSE(task->is_correct(ex, "A1 B2 C3"));
}

TEST(PcfgTask, SeedsAndSizeOverrides) {
  auto task = make_pcfg_task();
  GenerateOptions o;
  o.train_size = 900;
  o.test_size = 500;
  o.seed = 5;
  const Dataset a = task->generate("productivity", o), b = task->generate("productivity", o);
  EXPECT_EQ(a.train.size(), 900u);
  EXPECT_EQ(a.validation.size(), 100u);
  EXPECT_EQ(a.test.size(), 500u);
  for (size_t i = 0; i < a.train.size(); ++i) ASSERT_EQ(a.train[i].source, b.train[i].source);
  for (size_t i = 0; i < a.test.size(); ++i) ASSERT_EQ(a.test[i].target, b.test[i].target);
  for (const Example& ex : a.train) EXPECT_LE(ex.length, 8);
  for (const Example& ex : a.test) EXPECT_GE(ex.length, 9);
  o.seed = 6;
  const Dataset c = task->generate("productivity", o);
  size_t same = 0;
  for (size_t i = 0; i < a.test.size(); ++i) same += a.test[i].source == c.test[i].source;
  EXPECT_EQ(same, 0u);
  EXPECT_THROW(task->generate("systematicity", {}), lengen::Error);
  GenerateOptions sp;
  sp.scratchpad.computation = true;
  EXPECT_THROW(task->generate("productivity", sp), lengen::Error);
  EXPECT_EQ(task->name(), "pcfg");
  EXPECT_EQ(task->splits(), (std::vector<std::string>{"md_productivity", "productivity"}));
}

TEST(PcfgImport, ReadsSrcTgtPairs) {
  const lengen::testing::TempDir tmp;
  const auto dir = tmp.path();
  lengen::testing::write_text(dir / "a.src", "append swap_first_last A1 B2 , C3\nreverse copy O14 O4 C12 J14 W3\n");
  lengen::testing::write_text(dir / "a.tgt", "B2 A1 C3\nW3 J14 C12 O4 O14\n");
  TextImportOptions o;
  o.verify_targets = true;
  o.source_prefix = "Solve: ";
  const auto examples = read_pcfg_pair((dir / "a.src").string(), (dir / "a.tgt").string(), o);
  ASSERT_EQ(examples.size(), 2u);
  EXPECT_EQ(examples[0].source, "Solve: append swap_first_last A1 B2 , C3");
  EXPECT_EQ(examples[0].target, "B2 A1 C3");
  EXPECT_EQ(examples[0].length, 2);
  EXPECT_EQ(examples[1].length, 2);
  TextImportOptions test_split;
  test_split.split = "test";
  const Dataset d =
      import_pcfg_pair((dir / "a.src").string(), (dir / "a.tgt").string(), test_split);
  EXPECT_EQ(d.test.size(), 2u);
  EXPECT_TRUE(d.train.empty());
  EXPECT_EQ(d.test[1].source, "reverse copy O14 O4 C12 J14 W3");
}

TEST(PcfgImport, ErrorsNameFileAndLine) {
  const lengen::testing::TempDir tmp;
  const auto dir = tmp.path();
  auto expect_error = [&](const std::string& src, const std::string& tgt, const std::string& needle,
                          bool verify = false) {
    lengen::testing::write_text(dir / "b.src", src);
    lengen::testing::write_text(dir / "b.tgt", tgt);
    TextImportOptions o;
    o.verify_targets = verify;
    try {
      read_pcfg_pair((dir / "b.src").string(), (dir / "b.tgt").string(), o);
      ADD_FAILURE() << "no error for: " << src;
    } catch (const lengen::Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error("copy A1\ncopy B1\ncopy C1\n", "A1\nB1\n", "b.src:3: line has no partner");
  expect_error("copy A1\n", "A1\nB1\n", "b.tgt:2: line has no partner");
  expect_error("copy A1\n\ncopy B1\n", "A1\nX\nB1\n", "b.src:2: empty program");
  expect_error("copy A1\nA1 B1\n", "A1\nA1 B1\n", "b.src:2: no function");
  expect_error("copy A1\nreverse A1 B1\n", "A1\nA1 B1\n", "b.tgt:2: target differs", true);
  expect_error("copy A1\nappend A1 B1\n", "A1\nA1 B1\n", "b.src:2: PCFG program", true);
}

}  // namespace
}  // namespace lengen::tasks
