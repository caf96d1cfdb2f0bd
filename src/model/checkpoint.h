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
// Every tensor of the layout must be present with its shape; extra tensors are an error.
std::unique_ptr<Transformer> load_model(const std::string& dir);
nlohmann::json read_json_file(const std::string& path);
ModelConfig read_model_config(const std::string& path);
void load_weights(Transformer& model, const std::string& safetensors_path);

}  // namespace lengen
