// The log of a training run: `metrics.jsonl` (one JSON line per logging step and per
// evaluation) and the same figures as TensorBoard scalars in `<run>/tb/` (io/event_file.h), so
// `tensorboard --logdir runs/` shows every run's curves. The event file is a function of
// metrics.jsonl: a resumed run rebuilds it from the lines it keeps.
#pragma once
#include <cstdint>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "io/event_file.h"

namespace lengen {

class TrainingLog {
 public:
  static constexpr const char* kEventFile = "tb/events.out.tfevents.lengen";
  // Opens the log of `run_dir` for a run resuming after `step` (0: a new run): lines of later
  // steps are dropped (the run redoes them) and the event file is rebuilt from the rest.
  TrainingLog(const std::string& run_dir, int64_t step);
  // The training line (with "loss") kept for `step`, or null.
  const nlohmann::json& line_at_step() const { return at_step_; }
  void write(const nlohmann::json& line);

 private:
  std::string metrics_path_, events_path_;
  std::ofstream metrics_, events_;
  nlohmann::json at_step_;
};

// The scalars of one metrics line: training figures as train/<key> (loss, lr, grad_norm,
// tokens_per_s), evaluation metrics as eval/<key>, nested objects flattened with '/' (e.g.
// eval/validation_accuracy_by_length/12); strings and booleans are not scalars.
io::Scalars tensorboard_scalars(const nlohmann::json& line);

}  // namespace lengen
