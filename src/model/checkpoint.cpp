#include "model/checkpoint.h"

#include <filesystem>

#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "io/tensor_file.h"
#include "util/error.h"
#include "util/json_parse.h"

namespace fs = std::filesystem;

namespace lengen {

void write_directory_atomic(const std::string& dir,
                            const std::function<void(const std::string&)>& write) {
  const std::string tmp = dir + ".tmp", old = dir + ".old";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  if (!fs::create_directories(tmp, ec) && ec) fail("cannot create {}: {}", tmp, ec.message());
  write(tmp);
  // A leftover "<dir>.old" means an earlier swap was interrupted after moving `dir` away.
  if (fs::exists(dir)) {
    fs::remove_all(old, ec);
    fs::rename(dir, old, ec);
    if (ec) fail("cannot move {} aside: {}", dir, ec.message());
  }
  fs::rename(tmp, dir, ec);
  if (ec) fail("cannot rename {} to {}: {}", tmp, dir, ec.message());
  fs::remove_all(old, ec);
}

std::string resolve_checkpoint_dir(const std::string& dir) {
  if (fs::exists(fs::path(dir) / "config.json")) return dir;
  if (fs::exists(fs::path(dir + ".old") / "config.json")) return dir + ".old";
  fail("{}: not a checkpoint directory (no config.json)", dir);
}

nlohmann::json read_json_file(const std::string& path) {
  return parse_json_text(io::read_file(path), path);
}

ModelConfig read_model_config(const std::string& path) {
  const nlohmann::json j = read_json_file(path);
  if (j.is_object() && j.contains("model")) {
    // A checkpoint's config.json: {"model": {...}, "format": "lengen-checkpoint-1", ...}.
    if (j.contains("format") && j["format"] != "lengen-checkpoint-1")
      fail("{}: key 'format' is {}, expected \"lengen-checkpoint-1\" (not a lengen checkpoint "
           "config)",
           path, json_excerpt(j["format"]));
    return model_config_from_json(j["model"], path + ": model");
  }
  return model_config_from_json(j, path);
}

void write_model_files(const std::string& tmpdir, const Transformer& model,
                       const nlohmann::json& extra_config) {
  nlohmann::json config = extra_config;
  config["model"] = model.config().to_json();
  config["format"] = "lengen-checkpoint-1";
  io::write_file_atomic(tmpdir + "/config.json", config.dump(2) + "\n");
  const std::vector<float> params = model.params_to_host();
  std::vector<io::TensorToWrite> tensors;
  for (const auto& t : model.layout().tensors())
    tensors.push_back({t.name, t.shape, params.data() + t.offset});
  io::save_safetensors(tmpdir + "/model.safetensors", tensors,
                       {{"format", "pt"}, {"producer", "lengen"}});
}

void save_model(const std::string& dir, const Transformer& model) {
  write_directory_atomic(dir, [&](const std::string& tmp) { write_model_files(tmp, model); });
}

void load_weights(Transformer& model, const std::string& path) {
  load_weights(model, *io::open_tensor_file(path));
}

void load_weights(Transformer& model, const io::TensorFile& file) {
  const std::string path = file.origin();
  std::vector<float> params(model.layout().total(), 0.0f);
  for (const auto& t : model.layout().tensors()) {
    if (!file.has(t.name))
      fail("{}: missing tensor '{}' (shape [{}]) required by the config", path, t.name,
           fmt::join(t.shape, ", "));
    file.read_f32(t.name, t.shape, params.data() + t.offset);
  }
  for (const auto& name : file.names())
    if (model.layout().find(name) < 0)
      fail("{}: unexpected tensor '{}' not used by this model config", path, name);
  model.params_from_host(params);
}

std::unique_ptr<Transformer> make_model_for_weights(const ModelConfig& config,
                                                    const io::TensorFile& file,
                                                    const std::string& config_path) {
  // The sizes most often at fault, named: the embedding table is [vocab_size, d_model].
  const std::string embed = "model.embed_tokens.weight";
  if (file.has(embed)) {
    const std::vector<int64_t> shape = file.info(embed).shape;
    if (shape.size() == 2 && (shape[0] != config.vocab_size || shape[1] != config.d_model))
      fail("{}: tensor '{}' has shape [{}], but {} asks for [{}, {}] (keys 'vocab_size' and "
           "'d_model')",
           file.origin(), embed, fmt::join(shape, ", "), config_path, config.vocab_size,
           config.d_model);
  }
  // Every other size: the layout may not outgrow the file (checked tensor by tensor while the
  // layout is built, before the parameter buffer is allocated). The slack (twice the file, plus
  // 2^20 elements) lets a merely missing or misshapen tensor reach load_weights, whose message
  // names it; a corrupt size (d_ff 1,000,000, 20,000 layers) is refused here.
  const ParameterBudget budget(2 * file.total_elements() + (uint64_t(1) << 20),
                               fmt::format("{} (weights {})", config_path, file.origin()));
  return std::make_unique<Transformer>(config);
}

std::unique_ptr<Transformer> load_model(const std::string& dir_in, bool without_dropout) {
  const std::string dir = resolve_checkpoint_dir(dir_in);
  ModelConfig config = read_model_config(dir + "/config.json");
  if (without_dropout) config.dropout = 0.0f;
  const auto file = io::open_tensor_file(dir + "/model.safetensors");
  auto model = make_model_for_weights(config, *file, dir + "/config.json");
  load_weights(*model, *file);
  return model;
}

}  // namespace lengen
