// Training hyper-parameters (one flat JSON object, unknown keys rejected).
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "train/optimizer.h"

namespace lengen {

struct TrainConfig {
  int64_t steps = 200;
  int batch_size = 32;
  int seq_len = 64;       // tokens per training window (LM training)
  uint64_t seed = 0;      // init, data order and dropout all derive from it
  OptimizerConfig optim;
  ScheduleConfig schedule;
  int log_every = 10;
  int checkpoint_every = 100;
  int eval_every = 0;     // 0: only at the end
  int eval_batches = 8;

  static TrainConfig from_json(const nlohmann::json& j, const std::string& where = "train");
  nlohmann::json to_json() const;
};

}  // namespace lengen
