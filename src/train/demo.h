// The engine demo: train one small model per positional encoding on the built-in copy task
// (lengths 1..train_max), then greedy-decode lengths 1..test_max and report exact match per
// length. A preview of the study `lengen compare` runs on the full task suite.
#pragma once
#include <string>
#include <vector>

namespace lengen {

struct DemoOptions {
  std::vector<std::string> encodings = {"nope", "abs_sin", "t5_bias", "alibi", "rotary"};
  std::string preset = "tiny";
  int steps = 1500, batch_size = 32, train_max = 8, test_max = 16, eval_per_length = 32;
  float lr = 1e-3f;
  uint64_t seed = 0;
  std::string out = "runs/demo";
};

struct DemoResult {
  std::string encoding;
  double final_loss = 0, tokens_per_second = 0;
  std::vector<double> accuracy;  // index n-1: exact match at length n
};

std::vector<DemoResult> run_copy_demo(const DemoOptions& options);
std::string format_demo_table(const std::vector<DemoResult>& results, int train_max);

}  // namespace lengen
