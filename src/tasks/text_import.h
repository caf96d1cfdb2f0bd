// Importers for the public SCAN and PCFG SET text formats:
//   SCAN (brendenlake/SCAN, e.g. tasks_train_length.txt), one example a line:
//     IN: jump twice after walk OUT: I_WALK I_JUMP I_JUMP
//   PCFG SET (i-machine-think/am-i-compositional), two files with one example per line:
//     train.src: append swap_first_last A1 B2 , C3      train.tgt: B2 A1 C3
// Length n: SCAN = number of actions, PCFG = number of functions; category = n. Errors name
// the file and line at fault.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tasks/task.h"

namespace lengen::tasks {

struct TextImportOptions {
  // Where the file's examples go: "train", "validation" or "test".
  std::string split = "train";
  // With split "train": this fraction (floored, chosen by `seed`) moves to validation, as the
  // reference builders do with 0.1.
  double validation_fraction = 0;
  uint64_t seed = 0;
  // Prepended to every source, e.g. "Solve: " for the mdlen_/md_ variants.
  std::string source_prefix;
  // SCAN: keep the raw action names (I_WALK ...) instead of Walk, Run, Jump, Look, Left, Right.
  bool raw_actions = false;
  // Recompute every target with the task's interpreter; a mismatch is an error.
  bool verify_targets = false;
};

// One example from the fields of the public formats, checked as the file readers check them;
// `where` / `target_where` ("file:line") prefix the errors. SCAN actions may be the raw names
// (I_WALK ...) or our action words (Walk ...).
Example scan_example(std::string_view command, std::string_view actions, const std::string& where,
                     const TextImportOptions& options = {});
Example pcfg_example(std::string_view program, std::string_view target, const std::string& where,
                     const std::string& target_where, const TextImportOptions& options = {});

// One file (or file pair) as a list of examples, in file order.
std::vector<Example> read_scan_file(const std::string& path, const TextImportOptions& options = {});
std::vector<Example> read_pcfg_pair(const std::string& src_path, const std::string& tgt_path,
                                    const TextImportOptions& options = {});

// The same as a Dataset: all examples in `options.split` (train minus the validation carve-out
// when validation_fraction > 0). Import the train and test files separately and move the test
// examples over: `d.test = import_scan_file(test, {.split = "test"}).test;`.
Dataset import_scan_file(const std::string& path, const TextImportOptions& options = {});
Dataset import_pcfg_pair(const std::string& src_path, const std::string& tgt_path,
                         const TextImportOptions& options = {});

}  // namespace lengen::tasks
