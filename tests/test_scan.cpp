// SCAN: grammar enumeration, interpreter, length split, checker, and the text importer.
#include <gtest/gtest.h>

#include "file_test_support.h"
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "tasks/scan.h"
#include "tasks/text_import.h"
#include "util/error.h"

namespace lengen::tasks {
namespace {

// Generating the full split takes a few hundred ms: do it once per split for all tests.
const Dataset& scan_split(const std::string& split, uint64_t seed = 0) {
  static std::map<std::pair<std::string, uint64_t>, Dataset> cache;
  auto key = std::make_pair(split, seed);
  auto it = cache.find(key);
  if (it == cache.end()) {
    GenerateOptions options;
    options.seed = seed;
    it = cache.emplace(key, make_scan_task()->generate(split, options)).first;
  }
  return it->second;
}

TEST(Scan, EnumeratesTheCompleteCommandSet) {
  const auto commands = scan_all_commands();
  EXPECT_EQ(commands.size(), 20910u);
  EXPECT_EQ(std::set<std::string>(commands.begin(), commands.end()).size(), 20910u);
}

TEST(Scan, InterpreterSpotChecks) {
  EXPECT_EQ(scan_interpret("jump twice after walk"), "Walk Jump Jump");
  EXPECT_EQ(scan_interpret("turn around left"), "Left Left Left Left");
  EXPECT_EQ(scan_interpret("walk"), "Walk");
  EXPECT_EQ(scan_interpret("turn left"), "Left");
  EXPECT_EQ(scan_interpret("run right"), "Right Run");
  EXPECT_EQ(scan_interpret("look opposite left"), "Left Left Look");
  EXPECT_EQ(scan_interpret("turn opposite right"), "Right Right");
  EXPECT_EQ(scan_interpret("walk around right"), "Right Walk Right Walk Right Walk Right Walk");
  EXPECT_EQ(scan_interpret("jump thrice and look"), "Jump Jump Jump Look");
  EXPECT_EQ(scan_interpret("walk left twice after turn opposite right"),
            "Right Right Left Walk Left Walk");
  // The longest commands have 24 + 24 = 48 actions.
  const std::string longest =
      scan_interpret("jump around left thrice and walk around right thrice");
  EXPECT_EQ(std::count(longest.begin(), longest.end(), ' ') + 1, 48);
}

TEST(Scan, InterpreterRejectsCommandsOutsideTheGrammar) {
  for (const char* bad :
       {"", "fly", "turn", "walk and", "and walk", "walk left left", "walk twice twice",
        "walk and run and look", "walk opposite", "walk sideways left", "walk left right twice"}) {
    EXPECT_THROW(scan_interpret(bad), lengen::Error) << bad;
  }
  try {
    scan_interpret("walk and fly");
    FAIL() << "no error";
  } catch (const lengen::Error& e) {
    EXPECT_NE(std::string(e.what()).find("word 3 'fly'"), std::string::npos) << e.what();
  }
}

TEST(Scan, LengthSplitSizesMatchSpec) {
  for (const std::string split : {"mdlen_tr25_ts48", "len_tr25_ts48"}) {
    const Dataset& d = scan_split(split);
    EXPECT_EQ(d.train.size(), 15997u) << split;
    EXPECT_EQ(d.validation.size(), 1777u) << split;
    EXPECT_EQ(d.test.size(), 3136u) << split;
  }
}

TEST(Scan, SplitInvariants) {
  const Dataset& d = scan_split("mdlen_tr25_ts48");
  std::set<std::string> train_sources;
  for (const auto* part : {&d.train, &d.validation}) {
    for (const Example& ex : *part) {
      EXPECT_GE(ex.length, 1);
      EXPECT_LE(ex.length, 25);
      train_sources.insert(ex.source);
    }
  }
  EXPECT_EQ(train_sources.size(), d.train.size() + d.validation.size());
  int max_test = 0;
  for (const Example& ex : d.test) {
    EXPECT_GE(ex.length, 26);
    EXPECT_LE(ex.length, 48);
    max_test = std::max(max_test, ex.length);
    EXPECT_EQ(train_sources.count(ex.source), 0u) << ex.source;
  }
  EXPECT_EQ(max_test, 48);
}

TEST(Scan, ExampleFormat) {
  const Dataset& md = scan_split("mdlen_tr25_ts48");
  const Dataset& plain = scan_split("len_tr25_ts48");
  for (const Example& ex : md.train) {
    ASSERT_EQ(ex.source.rfind("Solve: ", 0), 0u) << ex.source;
    EXPECT_EQ(ex.target, scan_interpret(ex.source.substr(7)));
    EXPECT_EQ(ex.category, std::to_string(ex.length));
  }
  for (const Example& ex : plain.test) EXPECT_EQ(ex.target, scan_interpret(ex.source));
  bool found = false;
  for (const Example& ex : md.validation)
    found |= ex.source == "Solve: jump twice after walk" && ex.target == "Walk Jump Jump";
  for (const Example& ex : md.train)
    found |= ex.source == "Solve: jump twice after walk" && ex.target == "Walk Jump Jump";
  EXPECT_TRUE(found);
}

TEST(Scan, CheckerAcceptsGoldAndRejectsCorruptions) {
  auto task = make_scan_task();
  const Dataset& d = scan_split("len_tr25_ts48");
  for (const auto* part : {&d.train, &d.validation, &d.test}) {
    for (const Example& ex : *part) {
      ASSERT_TRUE(task->is_correct(ex, ex.target)) << ex.source;
      ASSERT_FALSE(task->is_correct(ex, ex.target + " Walk")) << ex.source;
    }
  }
  Example ex;
  ex.target = "Walk Jump Jump";
  EXPECT_TRUE(task->is_correct(ex, " Walk Jump  Jump "));  // whitespace is not an answer
  EXPECT_FALSE(task->is_correct(ex, "Walk Jump"));
  EXPECT_FALSE(task->is_correct(ex, "Walk Jump Run"));
  EXPECT_FALSE(task->is_correct(ex, "Jump Jump Walk"));
  EXPECT_FALSE(task->is_correct(ex, ""));
}

TEST(Scan, SeedDeterminism) {
  auto task = make_scan_task();
  GenerateOptions a;
  a.seed = 7;
  const Dataset d1 = task->generate("len_tr25_ts48", a), d2 = task->generate("len_tr25_ts48", a);
  ASSERT_EQ(d1.train.size(), d2.train.size());
  for (size_t i = 0; i < d1.train.size(); ++i) ASSERT_EQ(d1.train[i].source, d2.train[i].source);
  for (size_t i = 0; i < d1.test.size(); ++i) ASSERT_EQ(d1.test[i].source, d2.test[i].source);
  const Dataset& other = scan_split("len_tr25_ts48", 0);
  std::set<std::string> v1, v2;
  for (const auto& ex : d1.validation) v1.insert(ex.source);
  for (const auto& ex : other.validation) v2.insert(ex.source);
  EXPECT_NE(v1, v2);  // a different seed picks a different validation set
}

TEST(Scan, SizeOverridesAndErrors) {
  auto task = make_scan_task();
  GenerateOptions o;
  o.train_size = 100;
  o.test_size = 10;
  const Dataset d = task->generate("mdlen_tr25_ts48", o);
  EXPECT_EQ(d.train.size(), 100u);
  EXPECT_EQ(d.test.size(), 10u);
  EXPECT_THROW(task->generate("length", {}), lengen::Error);
  GenerateOptions sp;
  sp.scratchpad.input = true;
  EXPECT_THROW(task->generate("len_tr25_ts48", sp), lengen::Error);
  EXPECT_EQ(task->name(), "scan");
  EXPECT_EQ(task->splits(), (std::vector<std::string>{"mdlen_tr25_ts48", "len_tr25_ts48"}));
}

TEST(ScanImport, ReadsInOutLines) {
  const lengen::testing::TempDir tmp;
  const auto dir = tmp.path();
  lengen::testing::write_text(dir / "tasks.txt",
             "IN: jump twice after walk OUT: I_WALK I_JUMP I_JUMP\n"
             "IN: turn around left OUT: I_TURN_LEFT I_TURN_LEFT I_TURN_LEFT I_TURN_LEFT\r\n"
             "\n"
             "IN: run right OUT: I_TURN_RIGHT I_RUN\n");
  TextImportOptions o;
  o.verify_targets = true;
  o.source_prefix = "Solve: ";
  const auto examples = read_scan_file((dir / "tasks.txt").string(), o);
  ASSERT_EQ(examples.size(), 3u);
  EXPECT_EQ(examples[0].source, "Solve: jump twice after walk");
  EXPECT_EQ(examples[0].target, "Walk Jump Jump");
  EXPECT_EQ(examples[0].length, 3);
  EXPECT_EQ(examples[0].category, "3");
  EXPECT_EQ(examples[1].target, "Left Left Left Left");
  EXPECT_EQ(examples[2].target, "Right Run");

  o.raw_actions = true;
  o.source_prefix.clear();
  const Dataset d = import_scan_file((dir / "tasks.txt").string(), o);
  ASSERT_EQ(d.train.size(), 3u);
  EXPECT_EQ(d.train[0].source, "jump twice after walk");
  EXPECT_EQ(d.train[0].target, "I_WALK I_JUMP I_JUMP");

  TextImportOptions split;
  split.split = "test";
  EXPECT_EQ(import_scan_file((dir / "tasks.txt").string(), split).test.size(), 3u);
  split.split = "train";
  split.validation_fraction = 0.34;
  const Dataset carved = import_scan_file((dir / "tasks.txt").string(), split);
  EXPECT_EQ(carved.train.size(), 2u);
  EXPECT_EQ(carved.validation.size(), 1u);
  split.split = "dev";
  EXPECT_THROW(import_scan_file((dir / "tasks.txt").string(), split), lengen::Error);
}

TEST(ScanImport, ErrorsNameFileAndLine) {
  const lengen::testing::TempDir tmp;
  const auto dir = tmp.path();
  auto expect_error = [&](const std::string& text, const std::string& needle,
                          TextImportOptions o = {}) {
    const auto path = dir / "bad.txt";
    lengen::testing::write_text(path, text);
    try {
      read_scan_file(path.string(), o);
      ADD_FAILURE() << "no error for: " << text;
    } catch (const lengen::Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error("IN: walk OUT: I_WALK\nIN: run I_RUN\n", "bad.txt:2: missing 'OUT:'");
  expect_error("walk OUT: I_WALK\n", "bad.txt:1: expected a line");
  expect_error("IN: walk OUT: I_WALK\nIN: walk OUT: I_FLY\n", "bad.txt:2: unknown action 'I_FLY'");
  expect_error("IN: walk OUT:\n", "bad.txt:1: no actions");
  TextImportOptions verify;
  verify.verify_targets = true;
  expect_error("IN: walk left OUT: I_WALK I_TURN_LEFT\n", "bad.txt:1: actions differ", verify);
  expect_error("IN: fly OUT: I_WALK\n", "bad.txt:1:", verify);
  EXPECT_THROW(read_scan_file((dir / "missing.txt").string()), lengen::Error);
}

}  // namespace
}  // namespace lengen::tasks
