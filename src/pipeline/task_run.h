// One task run, end to end: data (generated into the run or read from a dataset directory),
// training with greedy validation and best-checkpoint selection, then evaluation of the best
// checkpoint on validation (ID) and test (OOD). Run directory layout (stable, read by the
// later tools):
//   config.json                  resolved run config
//   data/                        the generated dataset (absent with data.dir)
//   checkpoint/  best/           checkpoints (with vocab.json)
//   metrics.jsonl                training log (loss, lr, tokens/s; validation accuracy)
//   eval/<split>/predictions.jsonl, eval/<split>/results.json   the run's own evaluation
//   eval/<split>@<what differs>/  evaluations on other data, checkpoints, caps or model
//                                settings (`lengen eval --data/--checkpoint/--set ...`)
//   results.json                 summary: encoding, task, ID and OOD accuracy, per length,
//                                training figures; written only by the run's own evaluation
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
// Returns the summary written to <dir>/results.json (or {} without evaluation). Everything the
// run needs is checked before training: the model keys, non-empty validation and test data,
// and that every training, validation and test sequence fits the encoding. A finished run
// rerun changes nothing and returns its results.json.
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

// Evaluates a run's checkpoint and returns the summary. The run's own evaluation (its default
// checkpoint, data, eval.max_per_length and model settings) writes eval/<split>/ and updates
// results.json (the splits not evaluated and the training figures stay); any other evaluation
// writes eval/<split>@<differences>/ (e.g. eval/test@data=other, eval/test@checkpoint=checkpoint,
// eval/test@max_per_length=5, eval/test@pe.scaling=yarn) and leaves results.json alone. A
// dataset without examples in any requested split is an error and writes nothing.
nlohmann::json evaluate_run(const EvalRequest& request);

// <run_dir>/results.json of a finished run (with its training figures), or {}.
nlohmann::json read_finished_results(const std::string& run_dir);

}  // namespace lengen
