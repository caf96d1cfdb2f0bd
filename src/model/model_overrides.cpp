#include "model/model_overrides.h"

#include "io/safetensors.h"
#include "io/tensor_file.h"
#include "model/checkpoint.h"
#include "util/error.h"
#include "util/json_config.h"

namespace lengen {

ModelConfig model_config_with_overrides(const std::string& checkpoint_dir,
                                        const std::vector<std::string>& overrides) {
  const std::string dir = resolve_checkpoint_dir(checkpoint_dir);
  const std::string path = dir + "/config.json";
  nlohmann::json j = read_json_file(path);
  nlohmann::json model = j.is_object() && j.contains("model") ? j["model"] : j;
  if (model.contains("pe") && model["pe"].is_string()) model["pe"] = {{"type", model["pe"]}};
  for (std::string o : overrides) {
    if (o.rfind("model.", 0) == 0) o = o.substr(6);
    if (o.find('=') == std::string::npos)
      fail("model override '{}': expected key=value, e.g. pe.scaling=yarn", o);
    apply_override(model, o);
  }
  return model_config_from_json(model, path + " with overrides");
}

std::unique_ptr<Transformer> load_model_with_overrides(const std::string& checkpoint_dir,
                                                       const std::vector<std::string>& overrides) {
  const ModelConfig config = model_config_with_overrides(checkpoint_dir, overrides);
  const std::string dir = resolve_checkpoint_dir(checkpoint_dir);
  const auto file = io::open_tensor_file(dir + "/model.safetensors");
  auto model = make_model_for_weights(config, *file, dir + "/config.json");
  load_weights(*model, *file);
  return model;
}

}  // namespace lengen
