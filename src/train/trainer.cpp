#include "train/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "io/atomic_file.h"
#include "io/dir_lock.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "model/forward.h"
#include "train/optimizer.h"
#include "train/training_log.h"
#include "util/error.h"
#include "util/json_parse.h"
#include "util/rng.h"

namespace fs = std::filesystem;

namespace lengen {

uint64_t dropout_key(uint64_t seed, int64_t step) {
  return hash_combine(splitmix64(seed ^ 0xD509D509ull), uint64_t(step));
}

namespace {

nlohmann::json resolved_config(const TrainingRun& run) {
  nlohmann::json j = run.extra_config;
  j["model"] = run.model.to_json();
  j["train"] = run.train.to_json();
  return j;
}

struct BestSoFar {
  double score = -1;
  int64_t step = 0;
};

void save_training_checkpoint(const TrainingRun& run, const std::string& dir,
                              const Transformer& model, AdamW& opt, const nlohmann::json& config,
                              int64_t step, const BestSoFar& best) {
  write_directory_atomic(dir, [&](const std::string& tmp) {
    write_model_files(tmp, model, config);
    if (run.write_extra_files) run.write_extra_files(tmp);
    const std::vector<float> m = opt.moment_to_host(AdamW::Moment::First);
    const std::vector<float> v = opt.moment_to_host(AdamW::Moment::Second);
    std::vector<io::TensorToWrite> state;
    for (const auto& t : model.layout().tensors()) {
      state.push_back({"exp_avg." + t.name, t.shape, m.data() + t.offset});
      state.push_back({"exp_avg_sq." + t.name, t.shape, v.data() + t.offset});
    }
    io::save_safetensors(tmp + "/optimizer.safetensors", state);
    nlohmann::json s = {{"step", step},
                        {"optimizer_steps", opt.steps_taken()},
                        {"best_score", best.score},
                        {"best_step", best.step}};
    io::write_file_atomic(tmp + "/trainer_state.json", s.dump(2) + "\n");
  });
}

int64_t load_training_checkpoint(const std::string& dir_in, Transformer& model, AdamW& opt,
                                 BestSoFar& best) {
  const std::string dir = resolve_checkpoint_dir(dir_in);
  load_weights(model, dir + "/model.safetensors");
  const auto file = io::SafetensorsFile::load(dir + "/optimizer.safetensors");
  // The AdamW moments: finite (read_f32), the second moments >= 0 (a negative one would make
  // the update's square root NaN), and no tensor that this model has no place for.
  std::set<std::string> expected;
  std::vector<float> m(model.layout().total(), 0.0f), v(m.size(), 0.0f);
  for (const auto& t : model.layout().tensors()) {
    file.read_f32("exp_avg." + t.name, t.shape, m.data() + t.offset);
    float* sq = v.data() + t.offset;
    file.read_f32("exp_avg_sq." + t.name, t.shape, sq);
    for (size_t i = 0; i < t.numel; ++i)
      if (sq[i] < 0)
        fail("{}: tensor 'exp_avg_sq.{}' holds a negative second moment ({}) at index {}",
             file.origin(), t.name, sq[i], i);
    expected.insert("exp_avg." + t.name);
    expected.insert("exp_avg_sq." + t.name);
  }
  for (const auto& name : file.names())
    if (!expected.count(name))
      fail("{}: unexpected tensor '{}' not used by this model config", file.origin(), name);
  opt.moment_from_host(AdamW::Moment::First, m);
  opt.moment_from_host(AdamW::Moment::Second, v);
  const std::string state_path = dir + "/trainer_state.json";
  const nlohmann::json s = read_json_file(state_path);
  if (!s.is_object() || !s.contains("step"))
    fail("{}: missing integer 'step'", state_path);
  const int64_t step = json_value_as<int64_t>(s["step"], state_path, "step");
  if (step < 0) fail("{}: key 'step' must be >= 0, got {}", state_path, step);
  opt.set_steps_taken(json_get_or<int64_t>(s, "optimizer_steps", step, state_path));
  best.score = json_get_or<double>(s, "best_score", -1.0, state_path);
  best.step = json_get_or<int64_t>(s, "best_step", 0, state_path);
  return step;
}

std::string format_duration(double s) {
  if (!(s >= 0) || s > 1e7) return "?";
  const int t = int(s + 0.5);
  return t >= 3600 ? fmt::format("{}h{:02}m", t / 3600, t / 60 % 60)
                   : fmt::format("{}m{:02}s", t / 60, t % 60);
}

}  // namespace

TrainResult train(const TrainingRun& run, std::unique_ptr<Transformer>* model_out) {
  if (!run.next_batch) fail("train: no batch source");
  const io::DirectoryLock lock(run.dir);
  const nlohmann::json config = resolved_config(run);
  const std::string ckpt = run.dir + "/checkpoint";
  const std::string config_path = run.dir + "/config.json";
  if (fs::exists(config_path)) {
    const nlohmann::json old = read_json_file(config_path);
    if (old != config)
      fail("{}: the run directory holds a different config (a run with other settings); use a "
           "new output directory, or remove it to start over",
           config_path);
  } else {
    io::write_file_atomic(config_path, config.dump(2) + "\n");
  }

  auto model = std::make_unique<Transformer>(run.model);
  model->init_weights(run.train.seed);
  AdamW opt(*model, run.train.optim);
  Workspace workspace(*model);
  TrainResult result;
  BestSoFar best;
  int64_t step = 0;
  if (fs::exists(ckpt) || fs::exists(ckpt + ".old")) {
    step = load_training_checkpoint(ckpt, *model, opt, best);
    result.resumed_from = step;
    if (!run.quiet) fmt::print(stderr, "resuming {} from step {}\n", run.dir, step);
  }
  TrainingLog training_log(run.dir, step);
  const nlohmann::json& logged = training_log.line_at_step();
  if (step >= run.train.steps && logged.is_object()) {
    // A finished run, rerun: its training figures are those it logged at its last step.
    result.final_loss = logged.value("loss", 0.0);
    result.tokens_per_second = logged.value("tokens_per_s", 0.0);
  }

  const bool tty = ::isatty(2);
  const int64_t total = run.train.steps;
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  auto window_start = start;
  double window_loss = 0, window_tokens = 0, all_tokens = 0;
  int window_steps = 0;
  std::string last_eval = "-";

  auto run_eval = [&](int64_t at) {
    if (!run.evaluate) return;
    nlohmann::json m = run.evaluate(*model);
    result.last_eval = m;
    nlohmann::json line = {{"step", at}, {"eval", m}};
    if (m.contains("score") && m["score"].is_number() && m["score"].get<double>() > best.score) {
      best.score = m["score"].get<double>();
      best.step = at;
      write_directory_atomic(run.dir + "/best", [&](const std::string& tmp) {
        write_model_files(tmp, *model, config);
        if (run.write_extra_files) run.write_extra_files(tmp);
      });
      line["new_best"] = true;
    }
    training_log.write(line);
    if (m.contains("summary") && m["summary"].is_string()) last_eval = m["summary"];
  };

  while (step < total) {
    ++step;
    const Batch batch = run.next_batch(step);
    model->zero_grads();
    const double loss =
        forward_backward(*model, batch, workspace, dropout_key(run.train.seed, step));
    if (!std::isfinite(loss))
      fail("training diverged: the loss is {} at step {}. Nothing was overwritten: {} holds the "
           "last checkpoint{}. Try a lower lr or stronger clipping.",
           loss, step, run.dir, fs::exists(ckpt) ? "" : " (none yet)");
    const float lr = learning_rate(run.train.schedule, run.train.optim.lr, step, total);
    const double gnorm = opt.step(*model, lr);
    int64_t tokens = 0;
    for (int len : batch.lengths) tokens += len;
    window_loss += loss;
    window_tokens += double(tokens);
    all_tokens += double(tokens);
    ++window_steps;
    if (step % run.train.log_every == 0 || step == total) {
      const auto now = clock::now();
      const double dt = std::chrono::duration<double>(now - window_start).count();
      const double elapsed = std::chrono::duration<double>(now - start).count();
      const double tps = window_tokens / std::max(dt, 1e-9);
      const double eta = elapsed / double(step - result.resumed_from) * double(total - step);
      result.final_loss = window_loss / window_steps;
      result.tokens_per_second = tps;
      nlohmann::json line = {{"step", step},       {"loss", result.final_loss}, {"lr", lr},
                             {"grad_norm", gnorm}, {"tokens_per_s", tps},       {"elapsed_s", elapsed}};
      training_log.write(line);
      if (run.on_progress) run.on_progress(step, total, result.final_loss, tps);
      if (!run.quiet) {
        fmt::print(stderr, "{}step {}/{}  loss {:.4f}  lr {:.2e}  {:.0f} tok/s  ETA {}  eval {}{}",
                   tty ? "\r\033[K" : "", step, total, result.final_loss, lr, tps,
                   format_duration(eta), last_eval, tty ? "" : "\n");
      }
      window_loss = window_tokens = 0;
      window_steps = 0;
      window_start = now;
    }
    // An evaluation is followed by a checkpoint, so a resumed run never repeats one. The last
    // step's checkpoint is written after the final evaluation, below.
    const bool eval_now = run.train.eval_every > 0 && step % run.train.eval_every == 0 && step < total;
    if (eval_now) run_eval(step);
    const bool periodic = run.train.checkpoint_every > 0 && step % run.train.checkpoint_every == 0;
    const bool last = step == total;
    if ((periodic || eval_now || last) && !(last && run.evaluate))
      save_training_checkpoint(run, ckpt, *model, opt, config, step, best);
    if (run.stop_at_step > 0 && step >= run.stop_at_step && step < total) {
      save_training_checkpoint(run, ckpt, *model, opt, config, step, best);
      if (model_out) *model_out = std::move(model);
      return result;
    }
  }
  if (!run.quiet && tty) fmt::print(stderr, "\n");
  // The final evaluation, then the final checkpoint (a finished run resumed does neither).
  if (run.evaluate && result.resumed_from < total) {
    run_eval(step);
    save_training_checkpoint(run, ckpt, *model, opt, config, step, best);
  }
  result.best_score = best.score;
  result.best_step = best.step;
  if (result.tokens_per_second == 0) {
    const double elapsed = std::chrono::duration<double>(clock::now() - start).count();
    result.tokens_per_second = all_tokens / std::max(elapsed, 1e-9);
  }
  if (model_out) *model_out = std::move(model);
  return result;
}

}  // namespace lengen
