#include "lm/lm_compare.h"

#include <chrono>
#include <filesystem>

#include "config/config_loader.h"
#include "lm/lm_run.h"
#include "model/checkpoint.h"
#include "util/error.h"

namespace fs = std::filesystem;

namespace lengen::lm {

nlohmann::json default_lm_compare_config() {
  nlohmann::json j = default_lm_run_config();
  j["corpus"] = CorpusConfig().to_json();
  j["corpus"]["max_tokens"] = 2'000'000;
  j["corpus"]["vocab_size"] = 2048;
  j["train"]["steps"] = 1200;
  j["train"]["eval_every"] = 400;
  return j;
}

std::string run_lm_compare(const LmCompareOptions& o) {
  if (o.encodings.empty()) fail("lm compare: no encodings given");
  nlohmann::json base = default_lm_compare_config();
  deep_merge(base, o.config);
  const CorpusConfig corpus = CorpusConfig::from_json(base["corpus"], "lm compare config");
  base.erase("corpus");
  const std::string data_dir = o.out + "/data";
  const auto start = std::chrono::steady_clock::now();
  if (!fs::exists(data_dir + "/data.json")) {
    fmt::print(stderr, "preparing the corpus into {}\n", data_dir);
    prepare_lm_data(corpus, data_dir);
  } else {
    fmt::print(stderr, "using the prepared corpus in {}\n", data_dir);
  }
  base["data"]["dir"] = data_dir;
  const LmData data = LmData::open(data_dir);
  const TokenFile valid(data.valid_path());
  std::vector<EvaluatedModel> models;
  for (const auto& pe : o.encodings) {
    nlohmann::json cfg = base;
    cfg["model"]["pe"] = {{"type", pe}};
    const std::string run_dir = o.out + "/runs/" + pe;
    fmt::print(stderr, "== {}: training into {}\n", pe, run_dir);
    const TrainResult r = train_lm({run_dir, cfg, false, nullptr});
    EvaluatedModel m = resolve_evaluated_model(run_dir, 0);
    m.label = pe;
    fmt::print(stderr, "== {}: best validation step {}; perplexity at {} lengths\n", pe, r.best_step,
               o.eval.multiples.size());
    auto model = load_model(resolve_checkpoint_dir(m.checkpoint));
    valid.check_vocabulary(model->config().vocab_size);
    m.points = evaluate_perplexity(*model, valid, m.train_length, o.eval);
    models.push_back(m);
  }
  const std::string md = write_perplexity_report(models, o.out + "/report");
  const double minutes =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60;
  fmt::print(stderr, "lm compare: {:.1f} minutes; report in {}/report\n", minutes, o.out);
  return md;
}

}  // namespace lengen::lm
