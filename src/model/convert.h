// Checkpoint conversion between lengen's native layout and the reference layouts of SPEC
// section 7:
//   native  lengen's checkpoint directory (config.json + model.safetensors, load_model/save_model)
//   t5      the length-generalization code's decoder-only T5 (HF T5 names, T5Config-style
//           config.json with position_encoding_type)
//   llama   HF Llama / BiPE (LlamaConfig config.json + rpe_type); rope models load in
//           transformers as LlamaForCausalLM
// Import validates everything (config fields, every tensor's presence, shape and dtype; F16,
// BF16 and F64 are converted to fp32) and names the field or tensor at fault. Export refuses a
// model the target layout cannot express, saying why, and writes the output directory
// atomically: nothing is written on failure. native -> ref -> native is bit-identical (the
// exported config.json carries the native model config under "lengen_config").
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "model/transformer.h"

namespace lengen {

enum class CheckpointFormat { Native, T5, Llama };

CheckpointFormat parse_checkpoint_format(const std::string& name);  // native, t5, llama
std::string checkpoint_format_name(CheckpointFormat f);
std::vector<std::string> checkpoint_format_names();

// Import computes what the reference code computes: config fields it ignores are overridden
// as it does, each with a line in `notes` (when given).
std::unique_ptr<Transformer> import_checkpoint(CheckpointFormat from, const std::string& dir,
                                               std::vector<std::string>* notes = nullptr);
struct ExportOptions {
  // Export a model whose settings the reference code would ignore or cannot build (instead of
  // refusing it); `notes` then says what the reference code computes differently.
  bool allow_lossy = false;
};
void export_checkpoint(CheckpointFormat to, const Transformer& model, const std::string& dir,
                       const ExportOptions& options = {},
                       std::vector<std::string>* notes = nullptr);
// import_checkpoint + export_checkpoint.
void convert_checkpoint(CheckpointFormat from, CheckpointFormat to, const std::string& in_dir,
                        const std::string& out_dir, const ExportOptions& options = {},
                        std::vector<std::string>* notes = nullptr);

}  // namespace lengen
