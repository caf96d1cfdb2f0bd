// The task interface: one class per task (addition, scan, ...), registered by name in
// src/tasks/registry.cpp. A task generates length-split datasets deterministically from a seed
// and judges answers the way the paper does. Adding a task touches its own file and one line
// of the registry.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lengen::tasks {

// One example as stored in JSONL (SPEC section 3): the model sees
// source + <sep> + [scratchpad] + target + <eos>.
struct Example {
  std::string source;
  std::string target;                     // the final answer text (no scratchpad)
  int length = 0;                         // the task's length n (SPEC table, last column)
  std::string category;                   // upstream's bucket label: "12", "3-by-5", "[8, 5]"
  std::optional<std::string> scratchpad;  // "Thinking step by step: ... . Thus," when enabled
  // Optional per-token position ids supplied by the task (position-coupling schemes, later).
  std::optional<std::vector<int>> position_ids;
};

// The five scratchpad parts of SPEC 3.1 (i c o v r); all false = no scratchpad.
struct ScratchpadFlags {
  bool input = false, computation = false, output = false, variables = false, remaining = false;
  bool any() const { return input || computation || output || variables || remaining; }
  static ScratchpadFlags parse(const std::string& name);  // "i1_c1_o1_v1_r1"; throws lengen::Error
  std::string name() const;                              // inverse of parse
};

struct GenerateOptions {
  uint64_t seed = 0;
  ScratchpadFlags scratchpad;
  // Overrides of the split's default sizes (0 = SPEC default); tests use small sizes.
  int64_t train_size = 0;
  int64_t test_size = 0;
};

struct Dataset {
  std::vector<Example> train, validation, test;
};

// Fraction of correct scratchpad steps / parts for one prediction.
struct ScratchpadScore {
  double step_accuracy = 0;  // fraction of gold steps reproduced exactly
  double part_accuracy = 0;  // fraction of gold step parts reproduced exactly
  int gold_steps = 0;
};

class Task {
 public:
  virtual ~Task() = default;
  virtual std::string name() const = 0;                 // "addition"
  virtual std::vector<std::string> splits() const = 0;  // {"len_tr8_ts16"}
  // The split used when none is named: the task's only split, or "" when it has several.
  // Tasks whose extra splits are lengen variants of one upstream split name that one.
  virtual std::string default_split() const {
    const auto s = splits();
    return s.size() == 1 ? s.front() : std::string();
  }
  virtual bool supports_scratchpad() const { return false; }
  // Throws lengen::Error naming the valid splits when `split` is unknown.
  virtual Dataset generate(const std::string& split, const GenerateOptions& options) const = 0;
  // Exact match as the paper parses it (the number/word after "The answer is", the list, or
  // the whole string). `prediction` is the decoded text after the separator (scratchpad
  // included when one was generated).
  virtual bool is_correct(const Example& gold, const std::string& prediction) const = 0;
  virtual ScratchpadScore score_scratchpad(const Example& gold,
                                           const std::string& prediction) const {
    return {};
  }
  // One line about a split (length ranges, variant) for `lengen data list`.
  virtual std::string split_description(const std::string& split) const { return {}; }
  // The task's symbol words for `split` (digits, sort symbols, ...). They join the vocabulary
  // built at generation time, so that a symbol that happens to be absent from a small sample
  // is still known at evaluation.
  virtual std::vector<std::string> alphabet(const std::string& split) const { return {}; }
  // The word positions of the target that per-token accuracy scores; empty = all of them. A
  // task whose answer is mostly one symbol names the positions that carry it.
  virtual std::vector<size_t> scored_target_positions(const Example& gold) const { return {}; }
};

// Registry: every task by name; unknown names throw lengen::Error listing the valid ones.
std::unique_ptr<Task> make_task(const std::string& name);
std::vector<std::string> task_names();

}  // namespace lengen::tasks
