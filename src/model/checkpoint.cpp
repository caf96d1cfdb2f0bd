#include "model/checkpoint.h"

#include <filesystem>

#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "util/error.h"

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
  const std::string text = io::read_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    fail("{}: invalid JSON at byte {}: {}", path, e.byte, e.what());
  }
}

ModelConfig read_model_config(const std::string& path) {
  const nlohmann::json j = read_json_file(path);
  if (j.is_object() && j.contains("model")) return model_config_from_json(j["model"], path + ": model");
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
  const auto file = io::SafetensorsFile::load(path);
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

std::unique_ptr<Transformer> load_model(const std::string& dir_in) {
  const std::string dir = resolve_checkpoint_dir(dir_in);
  auto model = std::make_unique<Transformer>(read_model_config(dir + "/config.json"));
  load_weights(*model, dir + "/model.safetensors");
  return model;
}

}  // namespace lengen
