// lengen debug step: one training step on a given batch with everything an external numerical
// oracle needs (loss, per-token log-probs, logits, every gradient, the weights after one AdamW
// step); lengen debug tensors: what a weights file (any format io/tensor_file.h reads) holds;
// and lengen generate: greedy decoding with the KV cache.
#include <filesystem>
#include <memory>

#include "backend/cpu/thread_budget.h"
#include "cli/commands.h"
#include "data/token_file.h"
#include "io/atomic_file.h"
#include "io/dtype.h"
#include "io/safetensors.h"
#include "io/tensor_file.h"
#include "model/checkpoint.h"
#include "model/decode.h"
#include "model/forward.h"
#include "train/optimizer.h"
#include "util/error.h"

namespace fs = std::filesystem;

namespace lengen::cli {

namespace {

struct StepOptions {
  std::string checkpoint, batch, out;
  int threads = 0;
};

struct GenerateOptions {
  std::string checkpoint, prompts;
  int max_new = 0, eos = -1, threads = 0;
};

std::vector<int32_t> json_token_row(const nlohmann::json& row, const std::string& where, int V) {
  if (!row.is_array()) fail("{}: must be an array of token ids, got {}", where, row.dump());
  std::vector<int32_t> out;
  for (size_t i = 0; i < row.size(); ++i) {
    if (!row[i].is_number_integer())
      fail("{}[{}]: token ids must be integers, got {}", where, i, row[i].dump());
    const int64_t id = row[i].get<int64_t>();
    if (id < 0 || id >= V) fail("{}[{}]: token id {} is outside the vocabulary of {}", where, i, id, V);
    out.push_back(int32_t(id));
  }
  return out;
}

float json_float(const nlohmann::json& obj, const char* key, float fallback, const std::string& where) {
  if (!obj.contains(key)) return fallback;
  if (!obj[key].is_number()) fail("{}: key 'adamw.{}' must be a number, got {}", where, key, obj[key].dump());
  return obj[key].get<float>();
}

std::vector<io::TensorToWrite> tensors_of(const Transformer& model, const std::vector<float>& buf) {
  std::vector<io::TensorToWrite> out;
  for (const auto& t : model.layout().tensors()) out.push_back({t.name, t.shape, buf.data() + t.offset});
  return out;
}

// Optional per-token streams of the batch file ("pos", "place": one array per row, as long as
// the row): supplied position ids (randomized, coupled) and digit places (abacus). The
// encoding derives its other streams (bilevel segments) from the tokens.
void read_position_streams(const nlohmann::json& j, const std::string& where,
                           const std::vector<std::vector<int32_t>>& rows, Batch& batch) {
  auto read = [&](const char* key, std::vector<int32_t>& out) {
    if (!j.contains(key)) return;
    const auto& a = j[key];
    if (!a.is_array() || a.size() != rows.size())
      fail("{}: key '{}' must be an array with one row of ids per row ({})", where, key, rows.size());
    out.assign(size_t(batch.B) * batch.T, 0);
    for (size_t r = 0; r < rows.size(); ++r) {
      if (!a[r].is_array() || a[r].size() != rows[r].size())
        fail("{}: {}[{}] must have one id per token ({})", where, key, r, rows[r].size());
      for (size_t t = 0; t < rows[r].size(); ++t) {
        if (!a[r][t].is_number_integer() || a[r][t].get<int64_t>() < 0 ||
            a[r][t].get<int64_t>() > (int64_t(1) << 30))
          fail("{}: {}[{}][{}] must be a non-negative integer, got {}", where, key, r, t,
               a[r][t].dump());
        out[r * size_t(batch.T) + t] = a[r][t].get<int32_t>();
      }
    }
  };
  read("pos", batch.pos);
  read("place", batch.place);
}

void run_step(const StepOptions& o) {
  apply_thread_count(o.threads);
  auto model = load_model(o.checkpoint, /*without_dropout=*/true);
  const int V = model->config().vocab_size;
  const nlohmann::json j = read_json_file(o.batch);
  if (!j.is_object() || !j.contains("rows"))
    fail("{}: expected an object {{\"rows\": [[ids...], ...], \"loss_from\": [...], \"adamw\": {{...}}}}", o.batch);
  const auto& jrows = j["rows"];
  if (!jrows.is_array() || jrows.empty()) fail("{}: key 'rows' must be a non-empty array of rows", o.batch);
  std::vector<std::vector<int32_t>> rows;
  for (size_t r = 0; r < jrows.size(); ++r) {
    rows.push_back(json_token_row(jrows[r], fmt::format("{}: rows[{}]", o.batch, r), V));
    if (rows.back().size() < 2) fail("{}: rows[{}] needs at least 2 tokens (one target)", o.batch, r);
  }
  std::vector<int> loss_from;
  if (j.contains("loss_from")) {
    const auto& lf = j["loss_from"];
    if (!lf.is_array() || lf.size() != rows.size())
      fail("{}: key 'loss_from' must be an array with one integer per row ({})", o.batch, rows.size());
    for (size_t r = 0; r < lf.size(); ++r) {
      if (!lf[r].is_number_integer() || lf[r].get<int>() < 0)
        fail("{}: loss_from[{}] must be a non-negative integer, got {}", o.batch, r, lf[r].dump());
      loss_from.push_back(lf[r].get<int>());
    }
  }
  OptimizerConfig oc;
  oc.weight_decay = 0.0f;
  if (j.contains("adamw")) {
    const auto& a = j["adamw"];
    const std::string where = o.batch;
    if (!a.is_object()) fail("{}: key 'adamw' must be an object", where);
    for (auto it = a.begin(); it != a.end(); ++it)
      if (it.key() != "lr" && it.key() != "beta1" && it.key() != "beta2" && it.key() != "eps" &&
          it.key() != "weight_decay" && it.key() != "grad_clip")
        fail("{}: unknown key 'adamw.{}'; allowed keys: lr, beta1, beta2, eps, weight_decay, grad_clip",
             where, it.key());
    oc.lr = json_float(a, "lr", oc.lr, where);
    oc.beta1 = json_float(a, "beta1", oc.beta1, where);
    oc.beta2 = json_float(a, "beta2", oc.beta2, where);
    oc.eps = json_float(a, "eps", oc.eps, where);
    oc.weight_decay = json_float(a, "weight_decay", oc.weight_decay, where);
    oc.grad_clip = json_float(a, "grad_clip", oc.grad_clip, where);
  }

  Batch batch = make_batch(rows, 0, loss_from);
  read_position_streams(j, o.batch, rows, batch);
  const int T = batch.T;
  Workspace ws(*model);
  // Teacher-forced log-probs and logits first (no dropout, no gradients).
  const std::vector<float> lp = score(*model, batch, ws);
  std::vector<int32_t> valid;
  for (int b = 0; b < batch.B; ++b)
    for (int t = 0; t < batch.lengths[b]; ++t) valid.push_back(b * T + t);
  std::vector<float> logits;
  lengen::logits(*model, batch, valid, logits, ws);

  model->zero_grads();
  const double loss = forward_backward(*model, batch, ws, 0);
  const std::vector<float> grads = model->grads_to_host();

  AdamW opt(*model, oc);
  const double norm = opt.step(*model, oc.lr);

  nlohmann::json jlp = nlohmann::json::array(), jlogits = nlohmann::json::array();
  size_t m = 0;
  for (int b = 0; b < batch.B; ++b) {
    nlohmann::json row = nlohmann::json::array(), lrow = nlohmann::json::array();
    for (int t = 0; t + 1 < batch.lengths[b]; ++t) row.push_back(lp[size_t(b) * T + t]);
    for (int t = 0; t < batch.lengths[b]; ++t, ++m)
      lrow.push_back(std::vector<float>(logits.begin() + m * V, logits.begin() + (m + 1) * V));
    jlp.push_back(row);
    jlogits.push_back(lrow);
  }
  std::error_code ec;
  fs::create_directories(o.out, ec);
  if (ec) fail("cannot create {}: {}", o.out, ec.message());
  const nlohmann::json result = {{"loss", loss},
                                 {"grad_norm", norm},
                                 {"logprobs", jlp},
                                 {"logits", jlogits},
                                 {"adamw",
                                  {{"lr", oc.lr},
                                   {"beta1", oc.beta1},
                                   {"beta2", oc.beta2},
                                   {"eps", oc.eps},
                                   {"weight_decay", oc.weight_decay},
                                   {"grad_clip", oc.grad_clip}}}};
  io::write_file_atomic(o.out + "/result.json", result.dump() + "\n");
  io::save_safetensors(o.out + "/grads.safetensors", tensors_of(*model, grads),
                       {{"format", "pt"}, {"producer", "lengen debug step"}});
  const std::vector<float> updated = model->params_to_host();
  io::save_safetensors(o.out + "/updated.safetensors", tensors_of(*model, updated),
                       {{"format", "pt"}, {"producer", "lengen debug step"}});
  fmt::print("loss {:.9g}, grad norm {:.9g}; wrote {}/result.json, grads.safetensors, "
             "updated.safetensors\n", loss, norm, o.out);
}

// Prompts: a JSON array of rows, {"prompts": [...]}, or token lines (one prompt per line).
std::vector<std::vector<int32_t>> read_prompts(const std::string& path, int V) {
  const std::string text = io::read_file(path);
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) fail("{}: no prompts", path);
  std::vector<std::vector<int32_t>> prompts;
  if (text[first] == '[' || text[first] == '{') {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      fail("{}: invalid JSON at byte {}: {}", path, e.byte, e.what());
    }
    if (j.is_object()) {
      if (!j.contains("prompts")) fail("{}: expected {{\"prompts\": [[ids...], ...]}}", path);
      j = j["prompts"];
    }
    if (!j.is_array()) fail("{}: prompts must be an array of token-id arrays", path);
    for (size_t i = 0; i < j.size(); ++i)
      prompts.push_back(json_token_row(j[i], fmt::format("{}: prompts[{}]", path, i), V));
  } else {
    prompts = read_token_lines(path);
    for (size_t i = 0; i < prompts.size(); ++i)
      for (int32_t id : prompts[i])
        if (id < 0 || id >= V)
          fail("{}: prompt {}: token id {} is outside the vocabulary of {}", path, i + 1, id, V);
  }
  if (prompts.empty()) fail("{}: no prompts", path);
  for (size_t i = 0; i < prompts.size(); ++i)
    if (prompts[i].empty()) fail("{}: prompt {} is empty", path, i);
  return prompts;
}

void run_generate(const GenerateOptions& o) {
  apply_thread_count(o.threads);
  if (o.max_new < 1) fail("generate: --max-new must be at least 1, got {}", o.max_new);
  auto model = load_model(o.checkpoint, /*without_dropout=*/true);
  const int V = model->config().vocab_size;
  if (o.eos >= V) fail("generate: --eos {} is outside the vocabulary of {}", o.eos, V);
  const auto prompts = read_prompts(o.prompts, V);
  const auto outputs = greedy_decode(*model, prompts, o.max_new, o.eos);
  fmt::print("{}\n", nlohmann::json{{"outputs", outputs}}.dump());
}

struct TensorsOptions {
  std::string path;
  bool json = false;
};

// Each tensor's name, dtype, shape and checksums (sum and sum of squares in fp64 of its values,
// row-major) of a weights file or a checkpoint directory.
void run_tensors(const TensorsOptions& o) {
  const auto file = fs::is_directory(o.path) ? io::open_checkpoint_weights(o.path)
                                             : io::open_tensor_file(o.path);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& name : file->names()) {
    const io::TensorInfo info = file->info(name);
    const std::string raw = file->read_raw(name);
    double sum = 0, sum_sq = 0;
    for (int64_t i = 0; i < info.numel(); ++i) {
      const double v = io::element_to_f64(info.dtype, raw.data(), i);
      sum += v;
      sum_sq += v * v;
    }
    if (o.json)
      out.push_back({{"name", name}, {"dtype", info.dtype}, {"shape", info.shape}, {"sum", sum},
                     {"sum_sq", sum_sq}});
    else
      fmt::print("{}  {}  [{}]  sum={:.17g}  sum_sq={:.17g}\n", name, info.dtype,
                 fmt::join(info.shape, ", "), sum, sum_sq);
  }
  if (o.json)
    fmt::print("{}\n", nlohmann::json{{"origin", file->origin()}, {"tensors", out}}.dump());
  else
    fmt::print("# {}: {} tensors, {} elements\n", file->origin(), file->names().size(),
               file->total_elements());
}

}  // namespace

void register_debug_commands(CLI::App& app) {
  auto* debug = app.add_subcommand("debug", "Internals for numerical checks (the PyTorch parity suite)");
  debug->require_subcommand(1);
  auto step_opts = std::make_shared<StepOptions>();
  auto* step = debug->add_subcommand(
      "step", "One training step (dropout off) on a JSON batch: loss, log-probs, logits, every "
              "gradient and the weights after one AdamW step");
  step->add_option("--checkpoint", step_opts->checkpoint, "Checkpoint directory")->required();
  step->add_option("--batch", step_opts->batch,
                   "JSON {\"rows\": [[ids...], ...], \"loss_from\": [k, ...], \"adamw\": "
                   "{\"lr\", \"beta1\", \"beta2\", \"eps\", \"weight_decay\", \"grad_clip\"}}")
      ->required();
  step->add_option("--out", step_opts->out,
                   "Output directory: result.json, grads.safetensors, updated.safetensors")
      ->required();
  step->add_option("--threads", step_opts->threads, "Threads (0: the default, see `lengen debug threads`)");
  step->callback([step_opts] { run_step(*step_opts); });

  auto tensors_opts = std::make_shared<TensorsOptions>();
  auto* tensors = debug->add_subcommand(
      "tensors", "Each tensor of a weights file (safetensors, torch.save .bin, *.index.json) or "
                 "a checkpoint directory: name, dtype, shape, sum and sum of squares (fp64)");
  tensors->add_option("path", tensors_opts->path, "File or checkpoint directory")->required();
  tensors->add_flag("--json", tensors_opts->json,
                    "Print one JSON object {\"origin\", \"tensors\": [{name, dtype, shape, "
                    "sum, sum_sq}, ...]}");
  tensors->callback([tensors_opts] { run_tensors(*tensors_opts); });

  auto* threads = debug->add_subcommand(
      "threads", "The thread count commands use without --threads, and why (affinity mask, "
                 "cgroup CPU quota, SLURM_CPUS_PER_TASK, or your OMP_NUM_THREADS)");
  threads->callback([] {
    const ThreadBudget b = apply_default_thread_budget();
    fmt::print("{} thread{} ({})\n", b.threads, b.threads == 1 ? "" : "s", b.reason);
  });

  auto gen_opts = std::make_shared<GenerateOptions>();
  auto* gen = app.add_subcommand("generate", "Greedy decoding with the KV cache; prints JSON {\"outputs\": [[ids...], ...]}");
  gen->add_option("--checkpoint", gen_opts->checkpoint, "Checkpoint directory")->required();
  gen->add_option("--prompts", gen_opts->prompts,
                  "Prompts: a JSON array of id arrays (or {\"prompts\": ...}), or one prompt of "
                  "ids per line")
      ->required();
  gen->add_option("--max-new", gen_opts->max_new, "Maximum new tokens per prompt")->required();
  gen->add_option("--eos", gen_opts->eos, "Stop a row after this token id (-1: never)")
      ->capture_default_str();
  gen->add_option("--threads", gen_opts->threads, "Threads (0: the default, see `lengen debug threads`)");
  gen->callback([gen_opts] { run_generate(*gen_opts); });
}

}  // namespace lengen::cli
