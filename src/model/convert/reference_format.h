// What one reference checkpoint layout must say for the generic importer / exporter
// (convert.cpp): its config.json in both directions and the name of every tensor. One file per
// layout (t5.cpp, llama.cpp); the reading, checking and writing of files is shared.
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arch/model_config.h"

namespace lengen::convert {

// One tensor of the model: its name in the reference layout and in the native layout (the
// shape is the native one; both layouts store linear weights [out, in]).
struct TensorName {
  std::string ref, native;
};

// A tensor a reference checkpoint may hold that the native model has no use for: accepted on
// import when its shape matches, then dropped. With `same_as` (a reference name), the values
// must equal that tensor's (tied copies). A buffer the reference recomputes from its config
// (an ALiBi or sinusoid table) has `expected` values instead: each value must lie within
// `tolerance` of them (the fp32 rounding of the reference's own computation), else the
// checkpoint computes something this import would not, and it is refused.
struct ExtraTensor {
  std::string ref;
  std::vector<int64_t> shape;
  std::string same_as;
  std::vector<float> expected, tolerance;
};

// Lines for the user: what an import read differently from the file (fields the reference code
// ignores), or what an export loses (settings the reference code ignores or cannot build).
using Notes = std::vector<std::string>;

class ReferenceFormat {
 public:
  virtual ~ReferenceFormat() = default;
  virtual std::string name() const = 0;
  // The reference config.json for `c`, holding only fields the reference code reads; fails
  // naming the setting the layout cannot express at all. Settings the reference code would
  // ignore or cannot build go to `lossy`, one line each saying what it computes instead.
  virtual nlohmann::json export_config(const ModelConfig& c, Notes& lossy) const = 0;
  // The model config of a reference config.json, computing what the reference code computes
  // (`where` names the file in errors). Unknown fields are errors naming the field; fields the
  // reference code ignores are overridden as it does, with a line in `notes`.
  virtual ModelConfig import_config(const nlohmann::json& j, const std::string& where,
                                    Notes& notes) const = 0;
  // Every tensor of the native model for config `c`, in the reference naming.
  virtual std::vector<TensorName> tensors(const ModelConfig& c) const = 0;
  // `ref_config` is the reference config.json the model was imported from (buffer sizes).
  virtual std::vector<ExtraTensor> extra_tensors(const ModelConfig& c,
                                                 const nlohmann::json& ref_config) const {
    return {};
  }
  // Tensors of the reference model that play no role at all here (any shape): skipped.
  virtual bool ignored(const std::string& ref_name, const ModelConfig& c) const { return false; }
};

const ReferenceFormat& t5_format();
const ReferenceFormat& llama_format();

// Reads the fields of a reference config.json and rejects the ones nobody read: construct,
// read with the getters, then call finish(). `harmless` fields are accepted and ignored.
class ConfigReader {
 public:
  ConfigReader(const nlohmann::json& j, std::string where, std::string layout,
               std::set<std::string> harmless);
  bool has(const std::string& key);  // present and not null (the field counts as known)
  int get_int(const std::string& key);     // required
  int get_int(const std::string& key, int fallback);
  float get_float(const std::string& key, float fallback);
  bool get_bool(const std::string& key, bool fallback);
  std::string get_string(const std::string& key, const std::string& fallback);
  const nlohmann::json& get(const std::string& key);  // required, any type
  [[noreturn]] void error(const std::string& key, const std::string& message) const;
  void finish() const;

 private:
  const nlohmann::json& at(const std::string& key);
  const nlohmann::json& j_;
  std::string where_, layout_;
  std::set<std::string> harmless_, read_;
};

// Fields every HF config may carry that do not change the model's function (bookkeeping,
// generation and fine-tuning settings): accepted and ignored by both layouts.
std::set<std::string> hf_harmless_fields(std::set<std::string> more);

// A float written to JSON by its shortest decimal form (1e-06, not 9.99999997e-07).
double json_float(float v);

// Recomputed reference buffers (ExtraTensor::expected):
// [rows, dim] = cat(sin(t f), cos(t f)) with f_i = base^(-2i/dim), as the reference's
// sinusoid and fixed-rotary tables; the tolerance covers fp32 rounding of the angle t f.
ExtraTensor sinusoid_buffer(const std::string& ref, int rows, int dim);
// 10000^(-2i/dim), i < dim/2: the frequencies of a sinusoid table (Transformer-XL's inv_freq).
ExtraTensor inverse_frequency_buffer(const std::string& ref, int dim);
// [H, cols] (reshaped to `shape`) = float(slopes[h]) * j, the ALiBi buffers.
ExtraTensor alibi_buffer(const std::string& ref, const std::vector<double>& slopes, int cols,
                         std::vector<int64_t> shape);

}  // namespace lengen::convert
