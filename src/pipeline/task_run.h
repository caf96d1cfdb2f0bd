// One task run, end to end: data (generated into the run or read from a dataset directory),
// training with greedy validation and best-checkpoint selection, then evaluation of the best
// checkpoint on validation (ID) and test (OOD). Run directory layout (stable, read by the
// later tools):
//   config.json                  resolved run config
//   data/                        the generated dataset (absent with data.dir)
//   checkpoint/  best/           checkpoints (with vocab.json)
//   metrics.jsonl                training log (loss, lr, tokens/s; validation accuracy)
//   eval/<split>/predictions.jsonl, eval/<split>/results.json
//   results.json                 summary: encoding, task, ID and OOD accuracy, per length
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/run_config.h"

namespace lengen {

struct TaskRunOptions {
  bool quiet = false;
  bool evaluate = true;        // evaluate validation + test after training
  int64_t stop_at_step = 0;    // simulate an interruption (tests)
  // Training progress (see TrainingRun::on_progress), e.g. for compare's combined status.
  std::function<void(int64_t step, int64_t total, double loss, double tokens_per_s)> on_progress;
};

// Trains (resuming when the directory holds a checkpoint of the same config) and evaluates.
// Returns the summary written to <dir>/results.json (or {} without evaluation).
nlohmann::json run_task(const std::string& dir, const RunConfig& config,
                        const TaskRunOptions& options = {});

struct EvalRequest {
  std::string run_dir;
  std::vector<std::string> splits = {"validation", "test"};
  std::string checkpoint;   // "" = <run>/best (else <run>/checkpoint), or a checkpoint dir
  std::string data_dir;     // "" = the run's data
  int max_per_length = -1;  // -1 = the run's eval config
  // Model settings changed for this evaluation only (no parameter may change), e.g.
  // "pe.scaling=yarn": results go to eval/<split>@<overrides>/ and the run's results.json is
  // left as it is.
  std::vector<std::string> model_overrides;
  bool quiet = false;
};

// Evaluates a run's checkpoint; writes eval/<split>/ and results.json; returns the summary.
nlohmann::json evaluate_run(const EvalRequest& request);

}  // namespace lengen
