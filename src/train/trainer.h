// The training loop (nanoGPT-style, plain): batches come from a deterministic function of the
// step number, dropout masks from (seed, step), so a run resumed from its last checkpoint
// continues bit-identically to an uninterrupted one. Run directory:
//   config.json            the resolved model + train config (and the caller's extras)
//   checkpoint/            latest training checkpoint (model + optimizer + trainer_state.json)
//   best/                  the model with the best evaluation "score" so far (when evaluating)
//   metrics.jsonl          one JSON object per logged step / evaluation
#pragma once
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "model/batch.h"
#include "model/transformer.h"
#include "train/train_config.h"

namespace lengen {

struct TrainingRun {
  std::string dir;
  ModelConfig model;
  TrainConfig train;
  nlohmann::json extra_config = nlohmann::json::object();  // saved into config.json
  std::function<Batch(int64_t step)> next_batch;           // 1-based step
  // Optional evaluation: returns metrics (merged into metrics.jsonl); called every eval_every
  // steps and at the end. A numeric "score" (higher is better) selects the best/ checkpoint;
  // a string "summary" is shown on the progress line.
  std::function<nlohmann::json(Transformer&)> evaluate;
  // Optional: writes extra files (e.g. the vocabulary) into every checkpoint directory.
  std::function<void(const std::string& dir)> write_extra_files;
  bool quiet = false;
  // Called at every logged step (from the training thread): step, total steps, mean loss of
  // the logging window, tokens/s. Lets a caller running several trainings show one status.
  std::function<void(int64_t step, int64_t total, double loss, double tokens_per_s)> on_progress;
  // Stop (after checkpointing) once this step is reached, as if interrupted; 0 = run to the end.
  int64_t stop_at_step = 0;
};

struct TrainResult {
  int64_t resumed_from = 0;  // step of the checkpoint resumed from (0: fresh)
  double final_loss = 0;     // mean loss over the last logging window
  double tokens_per_second = 0;
  nlohmann::json last_eval;
  double best_score = -1;  // best evaluation score (-1: none)
  int64_t best_step = 0;
};

// Trains, resuming from <dir>/checkpoint when it exists and matches the config (a different
// config is an error: use a new directory). Returns the model through `model_out` if given.
TrainResult train(const TrainingRun& run, std::unique_ptr<Transformer>* model_out = nullptr);

// Dropout key of a step, derived from the seed.
uint64_t dropout_key(uint64_t seed, int64_t step);

}  // namespace lengen
