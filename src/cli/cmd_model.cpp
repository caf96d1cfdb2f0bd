// lengen init | score: make a checkpoint from a config; score token sequences with one.
#include <omp.h>

#include <memory>

#include "cli/commands.h"
#include "data/token_file.h"
#include "model/checkpoint.h"
#include "model/decode.h"
#include "model/forward.h"
#include "util/error.h"
#include "util/json_config.h"

namespace lengen::cli {

void apply_thread_count(int threads) {
  if (threads < 0) fail("--threads must be >= 0");
  if (threads > 0) omp_set_num_threads(threads);
}

namespace {

struct InitOptions {
  std::string config, preset, out;
  std::vector<std::string> sets;
  uint64_t seed = 0;
};

struct ScoreOptions {
  std::string checkpoint, tokens, tokens_file;
  int threads = 0;
};

void run_init(const InitOptions& o) {
  nlohmann::json j = nlohmann::json::object();
  std::string where = "--preset " + o.preset;
  if (!o.config.empty()) {
    j = read_json_file(o.config);
    if (j.is_object() && j.contains("model")) j = j["model"];
    where = o.config;
  } else {
    j = model_preset_json(o.preset);
  }
  apply_overrides(j, o.sets);
  const ModelConfig config = model_config_from_json(j, where);
  Transformer model(config);
  model.init_weights(o.seed);
  save_model(o.out, model);
  fmt::print("wrote {} ({} parameters, pe {}, family {})\n", o.out, model.num_parameters(),
             config.pe_type(), config.family);
}

nlohmann::json score_row(const std::vector<int32_t>& tokens, const std::vector<float>& lp,
                         size_t offset) {
  nlohmann::json logprobs = nlohmann::json::array();
  double total = 0;
  for (size_t t = 0; t + 1 < tokens.size(); ++t) {
    logprobs.push_back(lp[offset + t]);
    total += lp[offset + t];
  }
  return {{"tokens", tokens}, {"logprobs", logprobs}, {"total_logprob", total}};
}

void run_score(const ScoreOptions& o) {
  apply_thread_count(o.threads);
  if (o.tokens.empty() == o.tokens_file.empty())
    fail("score: give exactly one of --tokens and --tokens-file");
  std::vector<std::vector<int32_t>> rows;
  if (!o.tokens.empty()) rows.push_back(parse_token_list(o.tokens, "--tokens"));
  else rows = read_token_lines(o.tokens_file);
  if (rows.empty()) fail("score: no tokens given");
  for (const auto& r : rows)
    if (r.size() < 2) fail("score: every sequence needs at least 2 tokens (the first is context)");
  auto model = load_model(o.checkpoint);
  const Batch batch = make_batch(rows, 0);
  Workspace ws(*model);
  const std::vector<float> lp = score(*model, batch, ws);
  nlohmann::json out = nlohmann::json::array();
  for (size_t r = 0; r < rows.size(); ++r) out.push_back(score_row(rows[r], lp, r * batch.T));
  fmt::print("{}\n", (o.tokens.empty() ? out : out[0]).dump());
}

}  // namespace

void register_model_commands(CLI::App& app) {
  auto init_opts = std::make_shared<InitOptions>();
  auto* init = app.add_subcommand("init", "Write a randomly initialised checkpoint from a config");
  auto* cfg = init->add_option("--config", init_opts->config,
                               "Model config JSON (keys of README 'Model config'; or {\"model\": {...}})");
  init->add_option("--preset", init_opts->preset, "Model shape preset instead of --config")
      ->check(CLI::IsMember({"tiny", "small", "paper"}))
      ->excludes(cfg);
  init->add_option("--set", init_opts->sets, "Override a key: key.path=value (repeatable)");
  init->add_option("--seed", init_opts->seed, "Initialisation seed")->capture_default_str();
  init->add_option("--out", init_opts->out, "Checkpoint directory to write")->required();
  init->callback([init_opts] {
    if (init_opts->config.empty() && init_opts->preset.empty()) init_opts->preset = "tiny";
    run_init(*init_opts);
  });

  auto score_opts = std::make_shared<ScoreOptions>();
  auto* score = app.add_subcommand(
      "score", "Per-token log-probabilities of token sequences (teacher forcing), as JSON");
  score->add_option("--checkpoint", score_opts->checkpoint, "Checkpoint directory")->required();
  score->add_option("--tokens", score_opts->tokens, "Token ids, e.g. 3,17,5");
  score->add_option("--tokens-file", score_opts->tokens_file,
                    "File with one sequence of token ids per line");
  score->add_option("--threads", score_opts->threads, "Threads (0: the default, see `lengen debug threads`)");
  score->callback([score_opts] { run_score(*score_opts); });
}

}  // namespace lengen::cli
