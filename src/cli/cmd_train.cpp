// lengen train-lm | demo: language-model training on a token file; the engine demo.
#include <memory>

#include "cli/commands.h"
#include "data/token_file.h"
#include "model/checkpoint.h"
#include "model/forward.h"
#include "train/demo.h"
#include "train/lm_data.h"
#include "train/trainer.h"
#include "util/error.h"
#include "util/json_config.h"

namespace lengen::cli {
namespace {

struct TrainLmOptions {
  std::string config, tokens, out;
  std::vector<std::string> sets;
  int threads = 0;
  double valid_fraction = 0.1;
};

void run_train_lm(const TrainLmOptions& o) {
  apply_thread_count(o.threads);
  nlohmann::json j = read_json_file(o.config);
  apply_overrides(j, o.sets);
  if (!j.is_object()) fail("{}: expected an object with 'model' and 'train'", o.config);
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "model" && it.key() != "train")
      fail("{}: unknown top-level key '{}'; allowed keys: model, train", o.config, it.key());
  TrainingRun run;
  run.dir = o.out;
  run.model = model_config_from_json(j.value("model", nlohmann::json::object()), o.config + ": model");
  run.train = TrainConfig::from_json(j.value("train", nlohmann::json::object()), o.config + ": train");

  std::vector<int32_t> stream;
  for (const auto& line : read_token_lines(o.tokens)) stream.insert(stream.end(), line.begin(), line.end());
  for (size_t i = 0; i < stream.size(); ++i)
    if (stream[i] >= run.model.vocab_size)
      fail("{}: token id {} (token #{}) is outside the model's vocab_size {}", o.tokens, stream[i],
           i, run.model.vocab_size);
  if (!(o.valid_fraction >= 0 && o.valid_fraction < 1)) fail("--valid-fraction must be in [0, 1)");
  const size_t n_valid = size_t(double(stream.size()) * o.valid_fraction);
  std::vector<int32_t> valid(stream.end() - long(n_valid), stream.end());
  stream.resize(stream.size() - n_valid);
  auto train_data = std::make_shared<TokenStream>(std::move(stream), run.train.seq_len);
  run.extra_config = {{"tokens", o.tokens}, {"valid_fraction", o.valid_fraction}};
  const uint64_t seed = run.train.seed;
  const int B = run.train.batch_size;
  run.next_batch = [train_data, seed, B](int64_t step) {
    return train_data->training_batch(seed, step, B);
  };
  if (valid.size() > size_t(run.train.seq_len)) {
    auto valid_data = std::make_shared<TokenStream>(std::move(valid), run.train.seq_len);
    const int batches = run.train.eval_batches;
    run.evaluate = [valid_data, batches, B](Transformer& m) {
      Workspace ws(m);
      double total = 0;
      int count = 0;
      for (int i = 0; i < batches && i * B < valid_data->num_windows(); ++i, ++count)
        total += loss(m, valid_data->window_batch(int64_t(i) * B, B), ws);
      const double mean = total / std::max(1, count);
      return nlohmann::json{{"valid_loss", mean}, {"summary", fmt::format("val {:.4f}", mean)}};
    };
  }
  const TrainResult r = train(run);
  fmt::print("trained {} steps: loss {:.4f}, {:.0f} tokens/s; checkpoint {}/checkpoint\n",
             run.train.steps, r.final_loss, r.tokens_per_second, run.dir);
  if (!r.last_eval.is_null()) fmt::print("validation: {}\n", r.last_eval.dump());
}

}  // namespace

void register_train_commands(CLI::App& app) {
  auto lm = std::make_shared<TrainLmOptions>();
  auto* train_lm = app.add_subcommand("train-lm", "Train a language model on a token file");
  train_lm->add_option("--config", lm->config, "JSON with 'model' and 'train' objects")->required();
  train_lm->add_option("--tokens", lm->tokens, "Token file (ids separated by spaces/commas/newlines)")
      ->required();
  train_lm->add_option("--out", lm->out, "Run directory (resumed if it holds a checkpoint)")->required();
  train_lm->add_option("--set", lm->sets, "Override a config key: model.pe.type=rotary (repeatable)");
  train_lm->add_option("--valid-fraction", lm->valid_fraction, "Tail of the stream held out")
      ->capture_default_str();
  train_lm->add_option("--threads", lm->threads, "Threads (0: the default, see `lengen debug threads`)");
  train_lm->callback([lm] { run_train_lm(*lm); });

  auto demo = std::make_shared<DemoOptions>();
  auto threads = std::make_shared<int>(0);
  auto* d = app.add_subcommand(
      "demo", "Engine demo: train each encoding on a copy task, greedy-decode longer lengths");
  d->add_option("--pe", demo->encodings, "Encodings to compare")->delimiter(',')->capture_default_str();
  d->add_option("--preset", demo->preset, "Model shape")->check(CLI::IsMember({"tiny", "small"}))
      ->capture_default_str();
  d->add_option("--steps", demo->steps, "Training steps per encoding")->capture_default_str();
  d->add_option("--batch-size", demo->batch_size, "Sequences per step")->capture_default_str();
  d->add_option("--lr", demo->lr, "Peak learning rate")->capture_default_str();
  d->add_option("--train-max", demo->train_max, "Longest training length")->capture_default_str();
  d->add_option("--test-max", demo->test_max, "Longest evaluated length")->capture_default_str();
  d->add_option("--seed", demo->seed, "Seed")->capture_default_str();
  d->add_option("--out", demo->out, "Directory for the runs")->capture_default_str();
  d->add_option("--threads", *threads, "Threads (0: the default, see `lengen debug threads`)");
  d->callback([demo, threads] {
    apply_thread_count(*threads);
    const auto results = run_copy_demo(*demo);
    fmt::print("\n{}", format_demo_table(results, demo->train_max));
  });
}

}  // namespace lengen::cli
