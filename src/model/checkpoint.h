// Checkpoint directories:
//   config.json          model config (ModelConfig::to_json) [+ whatever the caller adds]
//   model.safetensors    weights, Llama-style names (model.embed_tokens.weight, ...,
//                        model.pe.<encoding>.*, lm_head.weight)
//   optimizer.safetensors, trainer_state.json   (training checkpoints only: AdamW moments,
//                        step and the caller's state, for exact resumption)
// A directory is written whole under "<dir>.tmp" and renamed into place, so a kill at any
// moment leaves either the previous checkpoint or the new one.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "model/transformer.h"

namespace lengen {
namespace io { class TensorFile; }

// Writes the files into a fresh temporary directory via `write(tmpdir)`, then swaps it in.
void write_directory_atomic(const std::string& dir,
                            const std::function<void(const std::string& tmpdir)>& write);
// The directory to read: `dir`, or "<dir>.old" left by a swap interrupted half-way.
std::string resolve_checkpoint_dir(const std::string& dir);

// Model weights + config into `tmpdir` (no swap: called from write_directory_atomic).
void write_model_files(const std::string& tmpdir, const Transformer& model,
                       const nlohmann::json& extra_config = nlohmann::json::object());
void save_model(const std::string& dir, const Transformer& model);

// Reads config.json (only its "model" object if present, else the whole file) and the weights.
// Every tensor of the layout must be present with its shape; extra tensors are an error; so
// are NaN/Inf values. The weights file is parsed before the model is allocated, and the
// config's sizes are checked against it first (make_model_for_weights).
// without_dropout: the config's dropout set to 0 (scoring, decoding, the parity oracle's step).
std::unique_ptr<Transformer> load_model(const std::string& dir, bool without_dropout = false);
// A JSON file, parsed strictly (util/json_parse.h): errors name the file, line and column.
nlohmann::json read_json_file(const std::string& path);
ModelConfig read_model_config(const std::string& path);
void load_weights(Transformer& model, const std::string& safetensors_path);
void load_weights(Transformer& model, const io::TensorFile& file);
// A zeroed model for `config` that is to receive the weights of `file`: the embedding's shape
// is checked against the config's vocab_size and d_model (errors name `config_path` and the
// key), and the layout may not need more parameters than the file stores, so a corrupt size
// in a config (n_layers, d_ff, vocab_size, an encoding's table) is an error before anything
// large is allocated.
std::unique_ptr<Transformer> make_model_for_weights(const ModelConfig& config,
                                                    const io::TensorFile& file,
                                                    const std::string& config_path);

}  // namespace lengen
