// Length curricula of the Chomsky-hierarchy training loop (google-deepmind/
// neural_networks_chomsky_hierarchy, experiments/curriculum.py): every step draws one length,
// and the step's batch is B training examples of that length, drawn with replacement from the
// training set. Config `data.curriculum` (absent: lengen's length-sorted epochs, LengthBatcher):
//   {kind: 'uniform'}                          each training length equally likely
//   {kind: 'fixed', length: n}                 always n
//   {kind: 'reverse_exponential', tau: t}      P(n) proportional to t^n
//   {kind: 'regular_increase', start: s, every: k, increase: i, sample_all: true}
//       s + i * (step / k), or with sample_all a uniform draw of s + i * {0 .. step / k}
// A drawn length without training examples (the curriculum ran past the data, or a gap) takes
// the nearest length that has some, the shorter on a tie. The draw and the batch are keyed by
// (seed, step), so runs resume exactly.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/task_data.h"

namespace lengen {

struct CurriculumConfig {
  std::string kind;  // "" = none
  int length = 0;
  double tau = 0.5;
  int start = 1, every = 1, increase = 1;
  bool sample_all = true;
  bool active() const { return !kind.empty(); }
  static CurriculumConfig from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

// The length the curriculum draws at `step` (1-based) from the lengths `available` (sorted,
// distinct, non-empty), before mapping to one that has examples.
int curriculum_draw(const CurriculumConfig& c, const std::vector<int>& available, int64_t step,
                    uint64_t seed);

class CurriculumBatcher {
 public:
  CurriculumBatcher(const std::vector<EncodedExample>& examples, int batch_size, uint64_t seed,
                    CurriculumConfig curriculum, PositionScheme positions = {},
                    int32_t pad_id = data::Vocabulary::kPad);
  Batch batch(int64_t step);  // 1-based step
  // The length whose examples make up the batch of `step`.
  int length_at(int64_t step) const;

 private:
  const std::vector<EncodedExample>& examples_;
  int B_;
  uint64_t seed_;
  CurriculumConfig curriculum_;
  PositionScheme positions_;
  int32_t pad_id_;
  std::map<int, std::vector<uint32_t>> by_length_;
  std::vector<int> lengths_;
};

}  // namespace lengen
