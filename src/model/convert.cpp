#include "model/convert.h"

#include <cmath>
#include <cstring>
#include <filesystem>

#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "io/tensor_file.h"
#include "model/checkpoint.h"
#include "model/convert/reference_format.h"
#include "util/error.h"

namespace lengen {
namespace convert {

// ---------------------------------------------------------------------------------------------
// ConfigReader

ConfigReader::ConfigReader(const nlohmann::json& j, std::string where, std::string layout,
                           std::set<std::string> harmless)
    : j_(j), where_(std::move(where)), layout_(std::move(layout)), harmless_(std::move(harmless)) {
  if (!j_.is_object()) fail("{}: the config must be a JSON object", where_);
}

bool ConfigReader::has(const std::string& key) {
  read_.insert(key);
  return j_.contains(key) && !j_.at(key).is_null();
}

const nlohmann::json& ConfigReader::at(const std::string& key) {
  read_.insert(key);
  return j_.at(key);
}

void ConfigReader::error(const std::string& key, const std::string& message) const {
  fail("{}: config field '{}' {}", where_, key, message);
}

const nlohmann::json& ConfigReader::get(const std::string& key) {
  if (!has(key)) error(key, fmt::format("is missing (required by the {} layout)", layout_));
  return at(key);
}

int ConfigReader::get_int(const std::string& key) {
  const auto& v = get(key);
  if (!v.is_number_integer()) error(key, "must be an integer, got " + v.dump());
  return v.get<int>();
}

int ConfigReader::get_int(const std::string& key, int fallback) {
  read_.insert(key);
  return has(key) ? get_int(key) : fallback;
}

float ConfigReader::get_float(const std::string& key, float fallback) {
  read_.insert(key);
  if (!has(key)) return fallback;
  const auto& v = at(key);
  if (!v.is_number()) error(key, "must be a number, got " + v.dump());
  return v.get<float>();
}

bool ConfigReader::get_bool(const std::string& key, bool fallback) {
  read_.insert(key);
  if (!has(key)) return fallback;
  const auto& v = at(key);
  if (!v.is_boolean()) error(key, "must be true or false, got " + v.dump());
  return v.get<bool>();
}

std::string ConfigReader::get_string(const std::string& key, const std::string& fallback) {
  read_.insert(key);
  if (!has(key)) return fallback;
  const auto& v = at(key);
  if (!v.is_string()) error(key, "must be a string, got " + v.dump());
  return v.get<std::string>();
}

void ConfigReader::finish() const {
  for (auto it = j_.begin(); it != j_.end(); ++it)
    if (!read_.count(it.key()) && !harmless_.count(it.key()))
      fail("{}: unknown config field '{}' for the {} layout (neither a field the converter maps "
           "nor one it knows to be harmless)",
           where_, it.key(), layout_);
}

std::set<std::string> hf_harmless_fields(std::set<std::string> more) {
  for (const char* f :
       {"architectures", "transformers_version", "torch_dtype", "dtype", "_name_or_path",
        "use_cache", "bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id",
        "output_hidden_states", "output_attentions", "return_dict", "chunk_size_feed_forward",
        "id2label", "label2id", "problem_type", "task_specific_params", "gradient_checkpointing"})
    more.insert(f);
  return more;
}

double json_float(float v) { return std::stod(fmt::format("{}", v)); }

ExtraTensor sinusoid_buffer(const std::string& ref, int rows, int dim) {
  ExtraTensor e{ref, {rows, dim}, "", {}, {}};
  const int half = dim / 2;
  e.expected.resize(size_t(rows) * dim);
  e.tolerance.resize(e.expected.size());
  for (int t = 0; t < rows; ++t)
    for (int i = 0; i < half; ++i) {
      const double f = std::pow(10000.0, -2.0 * i / dim), angle = t * f;
      // The reference rounds f and t f to fp32 (a few ulps, 2^-24 each, of the angle); sin and
      // cos themselves are within an ulp.
      const float tol = float(8.0 * angle * std::ldexp(1.0, -24) + 1e-6);
      const size_t at = size_t(t) * dim + i;
      e.expected[at] = float(std::sin(angle)), e.expected[at + half] = float(std::cos(angle));
      e.tolerance[at] = e.tolerance[at + half] = tol;
    }
  return e;
}

ExtraTensor inverse_frequency_buffer(const std::string& ref, int dim) {
  ExtraTensor e{ref, {dim / 2}, "", {}, {}};
  for (int i = 0; i < dim / 2; ++i) {
    const float f = float(std::pow(10000.0, -2.0 * i / dim));
    e.expected.push_back(f);
    e.tolerance.push_back(4e-7f * f);  // the reference's fp32 pow and division: a few ulps
  }
  return e;
}

ExtraTensor alibi_buffer(const std::string& ref, const std::vector<double>& slopes, int cols,
                         std::vector<int64_t> shape) {
  ExtraTensor e{ref, std::move(shape), "", {}, {}};
  for (double slope : slopes)
    for (int j = 0; j < cols; ++j) {
      const float v = float(slope) * float(j);  // fp32 tensor product, as torch computes it
      e.expected.push_back(v);
      e.tolerance.push_back(1e-6f * std::abs(v) + 1e-6f);
    }
  return e;
}

// ---------------------------------------------------------------------------------------------
// The generic importer / exporter of a reference layout

namespace {

// Key of the exported config.json that carries the native model config: it restores what the
// reference config cannot say (family, init, ...), so native -> ref -> native is exact.
constexpr const char* kLengenKey = "lengen_config";

const TensorSpec& native_tensor(const Transformer& model, const std::string& name,
                                const ReferenceFormat& f) {
  const int i = model.layout().find(name);
  if (i < 0) fail("{} layout: internal error: no native tensor '{}'", f.name(), name);
  return model.layout()[i];
}

// Every native tensor must be named exactly once by the format.
void check_coverage(const ReferenceFormat& f, const Transformer& model,
                    const std::vector<TensorName>& names) {
  std::set<std::string> mapped;
  for (const auto& n : names) {
    native_tensor(model, n.native, f);
    mapped.insert(n.native);
  }
  for (const auto& t : model.layout().tensors())
    if (!mapped.count(t.name))
      fail("the {} layout has no place for tensor '{}' of this model", f.name(), t.name);
}

// Checks a tied copy or a recomputed buffer of the reference (ExtraTensor).
void check_extra_tensor(const ExtraTensor& e, const io::TensorFile& file) {
  const std::string weights_path = file.origin();
  int64_t numel = 1;
  for (int64_t d : e.shape) numel *= d;
  std::vector<float> values(static_cast<size_t>(numel));
  file.read_f32(e.ref, e.shape, values.data());
  if (!e.same_as.empty()) {
    std::vector<float> other(values.size());
    file.read_f32(e.same_as, e.shape, other.data());
    if (std::memcmp(values.data(), other.data(), values.size() * sizeof(float)) != 0)
      fail("{}: tensor '{}' differs from '{}'; the config ties them (tie_word_embeddings)",
           weights_path, e.ref, e.same_as);
  }
  if (e.expected.size() != values.size()) return;
  for (size_t i = 0; i < values.size(); ++i)
    if (!(std::abs(values[i] - e.expected[i]) <= e.tolerance[i]))
      fail("{}: buffer '{}' holds {} at flat index {} where the config gives {}: the reference "
           "code recomputes it from the config, so this checkpoint computes something else "
           "(an edited buffer or another code version); refusing to import it",
           weights_path, e.ref, values[i], i, e.expected[i]);
}

std::unique_ptr<Transformer> import_reference(const ReferenceFormat& f, const std::string& dir,
                                              Notes& notes) {
  const std::string config_path = (std::filesystem::path(dir) / "config.json").string();
  nlohmann::json j = read_json_file(config_path);
  if (!j.is_object()) fail("{}: the config must be a JSON object", config_path);
  nlohmann::json block;
  if (j.contains(kLengenKey)) {
    block = j[kLengenKey];
    j.erase(kLengenKey);
  }
  ModelConfig config = f.import_config(j, config_path, notes);
  // The native config left by our exporter, when it says the same as the reference fields and
  // the export lost nothing (a hand-edited reference config wins over a stale block, and a
  // lossy export imports as what the reference code computes).
  if (!block.is_null()) {
    const ModelConfig native =
        model_config_from_json(block, config_path + ": " + kLengenKey);
    bool same = false;
    try {
      Notes lossy, unused;
      same = f.export_config(native, lossy) == f.export_config(config, unused) && lossy.empty();
      if (!lossy.empty())
        notes.push_back(fmt::format("{}: the {} block describes a model this layout cannot "
                                    "carry exactly (an --allow-lossy export); imported as the "
                                    "reference code computes it", config_path, kLengenKey));
    } catch (const Error&) {
    }
    if (same) config = native;
  }

  // model.safetensors, pytorch_model.bin (torch.save, as the upstream code writes), or shards.
  const auto weights = io::open_checkpoint_weights(dir);
  const io::TensorFile& file = *weights;
  const std::string weights_path = file.origin();
  auto model = make_model_for_weights(config, file, config_path);
  const auto names = f.tensors(config);
  check_coverage(f, *model, names);
  std::set<std::string> known;
  std::vector<float> params(model->layout().total(), 0.0f);
  for (const auto& n : names) {
    const TensorSpec& t = native_tensor(*model, n.native, f);
    if (!file.has(n.ref))
      fail("{}: missing tensor '{}' (shape [{}]) required by the config", weights_path, n.ref,
           fmt::join(t.shape, ", "));
    file.read_f32(n.ref, t.shape, params.data() + t.offset);
    known.insert(n.ref);
  }
  for (const auto& e : f.extra_tensors(config, j)) {
    known.insert(e.ref);
    if (file.has(e.ref)) check_extra_tensor(e, file);
  }
  for (const auto& name : file.names())
    if (!known.count(name) && !f.ignored(name, config))
      fail("{}: unexpected tensor '{}' not used by this model config ({} layout)", weights_path,
           name, f.name());
  model->params_from_host(params);
  return model;
}

void export_reference(const ReferenceFormat& f, const Transformer& model, const std::string& dir,
                      bool allow_lossy, Notes& notes) {
  const ModelConfig& c = model.config();
  Notes lossy;
  nlohmann::json config = f.export_config(c, lossy);
  if (!lossy.empty() && !allow_lossy)
    fail("refusing to export to the {} layout: the reference code would compute a different "
         "model:\n  - {}\n(--allow-lossy exports anyway and prints these lines)",
         f.name(), fmt::join(lossy, "\n  - "));
  for (const auto& l : lossy) notes.push_back("lossy export: " + l);
  config[kLengenKey] = c.to_json();
  const auto names = f.tensors(c);
  check_coverage(f, model, names);
  const std::vector<float> params = model.params_to_host();
  std::vector<io::TensorToWrite> tensors;
  for (const auto& n : names) {
    const TensorSpec& t = native_tensor(model, n.native, f);
    tensors.push_back({n.ref, t.shape, params.data() + t.offset});
  }
  // Everything is checked: only I/O can fail from here on.
  write_directory_atomic(dir, [&](const std::string& tmp) {
    io::write_file_atomic(tmp + "/config.json", config.dump(2) + "\n");
    io::save_safetensors(tmp + "/model.safetensors", tensors,
                         {{"format", "pt"}, {"producer", "lengen"}});
  });
}

}  // namespace
}  // namespace convert

// ---------------------------------------------------------------------------------------------

CheckpointFormat parse_checkpoint_format(const std::string& name) {
  if (name == "native") return CheckpointFormat::Native;
  if (name == "t5") return CheckpointFormat::T5;
  if (name == "llama") return CheckpointFormat::Llama;
  fail("unknown checkpoint format '{}'; allowed: {}", name,
       fmt::join(checkpoint_format_names(), ", "));
}

std::string checkpoint_format_name(CheckpointFormat f) {
  switch (f) {
    case CheckpointFormat::Native: return "native";
    case CheckpointFormat::T5: return "t5";
    case CheckpointFormat::Llama: return "llama";
  }
  return "?";
}

std::vector<std::string> checkpoint_format_names() { return {"native", "t5", "llama"}; }

namespace {
const convert::ReferenceFormat& reference(CheckpointFormat f) {
  return f == CheckpointFormat::T5 ? convert::t5_format() : convert::llama_format();
}
}  // namespace

std::unique_ptr<Transformer> import_checkpoint(CheckpointFormat from, const std::string& dir,
                                               std::vector<std::string>* notes) {
  if (!std::filesystem::is_directory(dir)) fail("{}: no such checkpoint directory", dir);
  if (from == CheckpointFormat::Native) return load_model(dir);
  convert::Notes local;
  auto model = convert::import_reference(reference(from), dir, notes ? *notes : local);
  return model;
}

void export_checkpoint(CheckpointFormat to, const Transformer& model, const std::string& dir,
                       const ExportOptions& options, std::vector<std::string>* notes) {
  if (to == CheckpointFormat::Native) return save_model(dir, model);
  convert::Notes local;
  convert::export_reference(reference(to), model, dir, options.allow_lossy, notes ? *notes : local);
}

void convert_checkpoint(CheckpointFormat from, CheckpointFormat to, const std::string& in_dir,
                        const std::string& out_dir, const ExportOptions& options,
                        std::vector<std::string>* notes) {
  const auto model = import_checkpoint(from, in_dir, notes);
  export_checkpoint(to, *model, out_dir, options, notes);
}

}  // namespace lengen
