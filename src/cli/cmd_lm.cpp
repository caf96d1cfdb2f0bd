// lengen lm data | train | eval | compare: language modelling with bilevel positions (BiPE).
#include <memory>

#include "cli/commands.h"
#include "config/config_loader.h"
#include "lm/corpus.h"
#include "lm/lm_compare.h"
#include "lm/lm_eval.h"
#include "lm/lm_run.h"
#include "model/checkpoint.h"
#include "util/error.h"
#include "util/json_config.h"

namespace lengen::cli {
namespace {

// Config files (later override earlier) merged onto `defaults`, then --set overrides.
nlohmann::json layered_config(nlohmann::json defaults, const std::string& files,
                              const std::vector<std::string>& sets) {
  if (!files.empty()) deep_merge(defaults, load_config_files(split_config_list(files)));
  apply_overrides(defaults, sets);
  return defaults;
}

struct DataOptions {
  std::string out, config, tokenizer;
  std::vector<std::string> corpus, sets;
  int vocab_size = 0;
  int64_t max_tokens = 0;
};

struct TrainOptions {
  std::string data, out, config, pe;
  std::vector<std::string> sets;
  int threads = 0;
};

struct EvalOptions {
  std::vector<std::string> models, sets, rope_scaling;
  std::string data, tokens, out;
  std::vector<int> multiples = {1, 2, 3, 4, 5, 6};
  int train_length = 0, threads = 0;
  lm::PerplexityOptions eval;
};

struct CompareOptions {
  lm::LmCompareOptions compare;
  std::string config;
  std::vector<std::string> sets;
  int threads = 0;
};

void run_data(const DataOptions& o) {
  nlohmann::json j = layered_config({{"corpus", nlohmann::json::object()}}, o.config, o.sets);
  nlohmann::json& c = j["corpus"];
  if (!o.corpus.empty()) c["paths"] = o.corpus;
  if (!o.tokenizer.empty()) c["tokenizer"] = o.tokenizer;
  if (o.vocab_size > 0) c["vocab_size"] = o.vocab_size;
  if (o.max_tokens > 0) c["max_tokens"] = o.max_tokens;
  lm::prepare_lm_data(lm::CorpusConfig::from_json(c, o.config.empty() ? "lm data" : o.config), o.out);
  fmt::print("{}\n", read_json_file(o.out + "/data.json").dump(2));
}

void run_train(const TrainOptions& o) {
  apply_thread_count(o.threads);
  nlohmann::json j = layered_config(lm::default_lm_run_config(), o.config, o.sets);
  if (!o.data.empty()) j["data"]["dir"] = o.data;
  if (!o.pe.empty()) j["model"]["pe"] = {{"type", o.pe}};
  const TrainResult r = lm::train_lm({o.out, j, false, nullptr});
  fmt::print("trained: loss {:.4f}, {:.0f} tokens/s; best validation at step {}; run {}\n",
             r.final_loss, r.tokens_per_second, r.best_step, o.out);
}

void run_eval(const EvalOptions& o) {
  apply_thread_count(o.threads);
  if (o.data.empty() == o.tokens.empty()) fail("lm eval: give exactly one of --data and --tokens");
  const std::string token_path = o.data.empty() ? o.tokens : lm::LmData::open(o.data).valid_path();
  const lm::TokenFile tokens(token_path);
  lm::PerplexityOptions eo = o.eval;
  eo.multiples = o.multiples;
  std::vector<lm::EvaluatedModel> models;
  const std::vector<std::string> methods =
      o.rope_scaling.empty() ? std::vector<std::string>{"none"} : o.rope_scaling;
  for (const auto& path : o.models) {
    for (const auto& method : methods) {
      lm::EvaluatedModel m = lm::resolve_evaluated_model(path, o.train_length);
      if (!o.rope_scaling.empty()) m.label += " " + method;
      fmt::print(stderr, "{} ({}, trained at length {})\n", m.label, m.checkpoint, m.train_length);
      m.points = lm::evaluate_checkpoint(m.checkpoint, o.sets, method, tokens, m.train_length, eo);
      models.push_back(m);
    }
  }
  fmt::print("{}", lm::write_perplexity_report(models, o.out));
  fmt::print("written to {}/perplexity.{{md,csv,json}} and perplexity_vs_length.png/.svg\n", o.out);
}

void add_eval_options(CLI::App* c, lm::PerplexityOptions& e) {
  c->add_option("--max-tokens", e.max_tokens, "Validation tokens scored at every length")
      ->capture_default_str();
  c->add_option("--block", e.block, "Query block of the blockwise scoring")->capture_default_str();
  c->add_option("--rows", e.rows, "Chunks scored side by side")->capture_default_str();
  c->add_option("--stride", e.stride, "Sliding window: advance by this many tokens (0: chunks)")
      ->capture_default_str();
}

}  // namespace

void register_lm_commands(CLI::App& app) {
  auto* lm = app.add_subcommand("lm", "Language modelling with bilevel positions (BiPE)");
  lm->require_subcommand(1);

  auto d = std::make_shared<DataOptions>();
  auto* data = lm->add_subcommand("data", "Tokenize a corpus into a data directory");
  data->add_option("--out", d->out, "Data directory to write")->required();
  data->add_option("--corpus", d->corpus,
                   "Files, directories or globs (default: the Python standard library sources)");
  data->add_option("--tokenizer", d->tokenizer, "An existing SentencePiece tokenizer.model");
  data->add_option("--vocab-size", d->vocab_size, "Vocabulary of the BPE model trained otherwise");
  data->add_option("--max-tokens", d->max_tokens, "Cap on the corpus tokens (corpus.max_tokens)");
  data->add_option("--config", d->config, "Config files with a 'corpus' object");
  data->add_option("--set", d->sets, "Override: corpus.valid_fraction=0.1 (repeatable)");
  data->callback([d] { run_data(*d); });

  auto t = std::make_shared<TrainOptions>();
  auto* train = lm->add_subcommand("train", "Train a language model on a data directory");
  train->add_option("--data", t->data, "Data directory (lengen lm data)");
  train->add_option("--out", t->out, "Run directory (resumed if it holds a checkpoint)")->required();
  train->add_option("--config", t->config, "Config files (data, model, train), comma-separated");
  train->add_option("--pe", t->pe, "Encoding: rotary, alibi, nope, bipe_rope, bipe_alibi, ...");
  train->add_option("--set", t->sets, "Override a key: train.steps=2000 (repeatable)");
  train->add_option("--threads", t->threads, "Threads (0: the default, see `lengen debug threads`)");
  train->callback([t] { run_train(*t); });

  auto e = std::make_shared<EvalOptions>();
  auto* eval = lm->add_subcommand("eval", "Perplexity at 1x..6x the training length");
  eval->add_option("--model", e->models, "Run or checkpoint directories (repeatable)")
      ->required()->delimiter(',');
  eval->add_option("--data", e->data, "Data directory: its validation tokens");
  eval->add_option("--tokens", e->tokens, "A binary int32 token file instead");
  eval->add_option("--lengths", e->multiples, "Multiples of the training length")
      ->delimiter(',')->capture_default_str();
  eval->add_option("--train-length", e->train_length, "Training length (default: the run's)");
  eval->add_option("--out", e->out, "Report directory")->required();
  eval->add_option("--threads", e->threads, "Threads (0: the default, see `lengen debug threads`)");
  eval->add_option("--set", e->sets,
                   "Model override that adds or removes no parameter: pe.scaling=ntk (repeatable)");
  eval->add_option("--rope-scaling", e->rope_scaling,
                   "RoPE extension per length, one row each: none,linear,ntk,yarn (factor = "
                   "length / training length; YaRN original = training length)")
      ->delimiter(',');
  add_eval_options(eval, e->eval);
  eval->callback([e] { run_eval(*e); });

  auto c = std::make_shared<CompareOptions>();
  auto* compare = lm->add_subcommand(
      "compare", "Train RoPE, ALiBi, NoPE, BiPE-RoPE, BiPE-ALiBi LMs; perplexity vs length");
  compare->add_option("--pe", c->compare.encodings, "Encodings")->delimiter(',')->capture_default_str();
  compare->add_option("--out", c->compare.out, "Output directory")->capture_default_str();
  compare->add_option("--config", c->config, "Config files (corpus, data, model, train)");
  compare->add_option("--set", c->sets, "Override a key: train.steps=2000 (repeatable)");
  compare->add_option("--threads", c->threads, "Threads (0: the default, see `lengen debug threads`)");
  add_eval_options(compare, c->compare.eval);
  compare->callback([c] {
    apply_thread_count(c->threads);
    c->compare.config = layered_config(nlohmann::json::object(), c->config, c->sets);
    fmt::print("{}", lm::run_lm_compare(c->compare));
  });
}

}  // namespace lengen::cli
