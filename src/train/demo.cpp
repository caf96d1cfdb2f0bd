#include "train/demo.h"

#include <filesystem>

#include <fmt/format.h>

#include "data/synthetic.h"
#include "arch/model_config.h"
#include "model/decode.h"
#include "train/trainer.h"
#include "util/error.h"
#include "util/rng.h"

namespace lengen {
namespace {

// Exact-match accuracy of greedy decoding at each length 1..test_max.
std::vector<double> copy_accuracy(Transformer& model, const CopyTaskTokens& task, uint64_t seed,
                                  int test_max, int per_length) {
  std::vector<double> acc;
  for (int n = 1; n <= test_max; ++n) {
    std::vector<std::vector<int32_t>> prompts(per_length), answers(per_length);
    for (int i = 0; i < per_length; ++i)
      task.example(seed, uint64_t(n) * 1000003 + i, n, prompts[i], answers[i]);
    const auto outputs = greedy_decode(model, prompts, n + 1, CopyTaskTokens::eos);
    int correct = 0;
    for (int i = 0; i < per_length; ++i) correct += outputs[i] == answers[i];
    acc.push_back(double(correct) / per_length);
  }
  return acc;
}

}  // namespace

std::vector<DemoResult> run_copy_demo(const DemoOptions& o) {
  CopyTaskTokens task;
  std::vector<DemoResult> results;
  for (const auto& pe : o.encodings) {
    TrainingRun run;
    run.dir = o.out + "/" + pe;
    run.model = model_preset(o.preset);
    run.model.vocab_size = task.vocab_size();
    run.model.pe = {{"type", pe}};
    validate_model_config(run.model, "--pe " + pe);
    run.train.steps = o.steps;
    run.train.batch_size = o.batch_size;
    run.train.seed = o.seed;
    run.train.optim.lr = o.lr;
    run.train.schedule.warmup_fraction = 0.1;
    run.train.log_every = std::max(1, o.steps / 20);
    run.train.checkpoint_every = std::max(1, o.steps / 4);
    run.extra_config = {{"task", "builtin-copy"}, {"train_max", o.train_max}};
    run.next_batch = [&task, &o](int64_t step) {
      std::vector<std::vector<int32_t>> rows;
      std::vector<int> loss_from;
      for (int b = 0; b < o.batch_size; ++b) {
        const uint64_t index = uint64_t(step) * o.batch_size + b;
        const int n = 1 + int(hash_combine(o.seed ^ 0x1e9, index) % uint64_t(o.train_max));
        std::vector<int32_t> prompt, answer;
        task.example(o.seed, index, n, prompt, answer);
        loss_from.push_back(int(prompt.size()) - 1);  // loss on the answer tokens only
        prompt.insert(prompt.end(), answer.begin(), answer.end());
        rows.push_back(std::move(prompt));
      }
      return make_batch(rows, CopyTaskTokens::pad, loss_from);
    };
    fmt::print(stderr, "== {}: training {} steps ==\n", pe, o.steps);
    std::unique_ptr<Transformer> model;
    const TrainResult r = train(run, &model);
    DemoResult d;
    d.encoding = pe;
    d.final_loss = r.final_loss;
    d.tokens_per_second = r.tokens_per_second;
    // Evaluation examples come from another seed than training's.
    d.accuracy = copy_accuracy(*model, task, o.seed + 7919, o.test_max, o.eval_per_length);
    results.push_back(std::move(d));
  }
  return results;
}

std::string format_demo_table(const std::vector<DemoResult>& results, int train_max) {
  if (results.empty()) return "";
  std::string s = fmt::format("{:<14} {:>9} {:>8} {:>8}", "encoding", "loss", "ID acc", "OOD acc");
  const int test_max = int(results[0].accuracy.size());
  for (int n = 1; n <= test_max; ++n) s += fmt::format(" {:>4}", n);
  s += "\n";
  for (const auto& r : results) {
    double id = 0, ood = 0;
    for (int n = 1; n <= test_max; ++n) (n <= train_max ? id : ood) += r.accuracy[n - 1];
    id /= train_max;
    ood /= std::max(1, test_max - train_max);
    s += fmt::format("{:<14} {:>9.4f} {:>8.3f} {:>8.3f}", r.encoding, r.final_loss, id, ood);
    for (double a : r.accuracy) s += fmt::format(" {:>4.0f}", 100 * a);
    s += "\n";
  }
  s += fmt::format("(accuracy per length in %; lengths 1..{} are in-distribution)\n", train_max);
  return s;
}

}  // namespace lengen
